using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Reelay.Testing;

namespace Reelay.Bench;

/// <summary>What the billing run measured: the bare POST, a create that holds nothing (test key) and a create that holds and writes a ledger row.</summary>
internal sealed record BillingFigures(LoadResult BaselinePost, LoadResult FreeCreate, LoadResult HeldCreate, IReadOnlyList<double> HeldRatios, IReadOnlyList<double> FreeRatios);

/// <summary>
/// Creates that hold credits: Reelay (API only) with a price on the preview model and a live key of a
/// funded account, so every create also updates its account's holds (a conditional update), the key's
/// daily spend and appends a ledger row, in the insert's transaction. Measured in interleaved rounds
/// against the bare endpoint's POST and against creates of a test key, which hold nothing.
/// </summary>
internal static class BillingBenchmark
{
    /// <summary>Create-with-holds throughput as a share of the bare endpoint's POST.</summary>
    public const double Aim = 0.25;

    private const string CreateBody = """
        {"model":"reelay-preview","prompt":"小猫在吃鱼 --mode=custom","aspect_ratio":"3:2","size":"720P","images":[]}
        """;

    public static async Task<BillingFigures> RunAsync(BenchOptions options)
    {
        var load = options.Load;
        var body = Encoding.UTF8.GetBytes(CreateBody);
        var baselineUrl = Benchmark.LoopbackUrl();
        await using var baseline = await Benchmark.StartServerAsync(
            baselineUrl, [Path.Combine(AppContext.BaseDirectory, "Reelay.Bench.dll"), "baseline", baselineUrl.ToString()],
            new Dictionary<string, string>(), AppContext.BaseDirectory);
        using var baselineClient = LoadGenerator.CreateClient(baselineUrl, load.Connections);

        var dataDir = Benchmark.NewDataDirectory();
        try
        {
            var adminKey = "sk-admin-bench-" + Guid.NewGuid().ToString("N");
            var reelayUrl = Benchmark.LoopbackUrl();
            await using var reelay = await Benchmark.StartServerAsync(reelayUrl, [options.ServerDll], new Dictionary<string, string>
            {
                ["REELAY_URLS"] = reelayUrl.ToString(),
                ["REELAY_DATA_DIR"] = dataDir,
                ["REELAY_ADMIN_KEY"] = adminKey,
                ["REELAY_Engine__Enabled"] = "false",
                ["REELAY_Limits__MaxInFlightPerTestKey"] = "0",
                ["REELAY_Limits__LocalAdmission"] = "false",
                // 6 s (the preview's default) × 0.000001 credits: a hold on every create, and a balance no run spends.
                ["REELAY_Billing__Prices__reelay-preview__PerSecond"] = "0.000001",
            }, dataDir);
            using var setup = new HttpClient { BaseAddress = reelayUrl };
            var account = await AccountKit.CreateAccountAsync(setup, adminKey, 1_000_000, name: "bench");
            var live = await AccountKit.CreateKeyAsync(setup, adminKey, account, "live");
            var test = await ClientKeys.CreateAsync(setup, adminKey, "test", "bench");
            using var heldClient = LoadGenerator.CreateClient(reelayUrl, load.Connections);
            heldClient.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", live.Key);
            using var freeClient = LoadGenerator.CreateClient(reelayUrl, load.Connections);
            freeClient.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", test.Key);

            var baselinePath = new Uri(BaselineServer.Path, UriKind.Relative);
            var createPath = new Uri("/v1/video/create", UriKind.Relative);
            (string Name, HttpClient Client, Func<long, HttpRequestMessage> Request)[] measurements =
            [
                ("baseline POST", baselineClient, _ => Benchmark.Post(baselinePath, body)),
                ("create, test key (no hold)", freeClient, _ => Benchmark.Post(createPath, body)),
                ("create with hold + ledger", heldClient, _ => Benchmark.Post(createPath, body)),
            ];

            Console.WriteLine($"Billing: baseline at {baselineUrl}, Reelay (API only, priced) at {reelayUrl}; {load.Connections} connections.");
            foreach (var (name, client, request) in measurements)
            {
                await LoadGenerator.WarmUpAsync(name, client, request, HttpStatusCode.OK, load);
            }

            var windows = measurements.ToDictionary(m => m.Name, _ => new List<LoadResult>());
            for (var round = 1; round <= load.Rounds; round++)
            {
                foreach (var (name, client, request) in measurements)
                {
                    var result = await LoadGenerator.MeasureAsync(name, client, request, HttpStatusCode.OK, load);
                    windows[name].Add(result);
                    Console.WriteLine(FormattableString.Invariant($"  {name,-30} {result.RequestsPerSecond,9:0} req/s  p50 {result.P50Ms,7:0.00} ms  p99 {result.P99Ms,7:0.00} ms  ({result.Failed} failed)"));
                }
            }

            var (post, free, held) = (windows[measurements[0].Name], windows[measurements[1].Name], windows[measurements[2].Name]);
            return new BillingFigures(
                LoadResult.Combine(post), LoadResult.Combine(free), LoadResult.Combine(held),
                RoundRatios.Of(held, post, r => r.RequestsPerSecond),
                RoundRatios.Of(free, post, r => r.RequestsPerSecond));
        }
        finally
        {
            Benchmark.DeleteDataDirectory(dataDir);
        }
    }

    /// <summary>The section of RESULTS.md.</summary>
    public static string Section(BenchOptions options, BillingFigures figures)
    {
        var text = new StringBuilder();
        void Line(FormattableString line) => text.Append(FormattableString.Invariant(line)).Append('\n');
        static string Percent(double ratio) => FormattableString.Invariant($"{ratio * 100:0} %");
        var held = RoundRatios.Median(figures.HeldRatios);

        Line($"");
        Line($"## Creates that hold credits");
        Line($"- Reelay as above (API only) with `reelay-preview` priced per second and an account funded through the admin API; a live key of that account creates, so each create runs the conditional hold on the account row, the key's daily-spend update and the ledger row in the insert's transaction (the group commit). Interleaved with the bare POST and with creates of a test key (which hold nothing), {options.Load.Rounds} rounds of {options.Load.Window.TotalSeconds:0} s, {options.Load.Connections} connections, same body as above.");
        Line($"");
        Line($"| measurement | requests (all rounds) | failed | requests/s | p50 ms | p99 ms |");
        Line($"|---|--:|--:|--:|--:|--:|");
        foreach (var r in (LoadResult[])[figures.BaselinePost, figures.FreeCreate, figures.HeldCreate])
        {
            Line($"| {r.Name} | {r.SortedLatencies.Length:N0} | {r.Failed:N0} | {r.RequestsPerSecond:N0} | {r.P50Ms:0.00} | {r.P99Ms:0.00} |");
        }

        Line($"");
        Line($"| ratio of requests/s | median of the rounds' ratios | ratio of the median rounds | each round | aim | met |");
        Line($"|---|--:|--:|--:|--:|:-:|");
        Line($"| create with hold / baseline POST | {Percent(held)} | {Percent(figures.HeldCreate.RequestsPerSecond / figures.BaselinePost.RequestsPerSecond)} | {RoundRatios.Each(figures.HeldRatios)} | ≥ {Percent(Aim)} | {(held >= Aim ? "yes" : "NO")} |");
        Line($"| create, test key / baseline POST | {Percent(RoundRatios.Median(figures.FreeRatios))} | {Percent(figures.FreeCreate.RequestsPerSecond / figures.BaselinePost.RequestsPerSecond)} | {RoundRatios.Each(figures.FreeRatios)} | | |");
        return text.ToString();
    }
}
