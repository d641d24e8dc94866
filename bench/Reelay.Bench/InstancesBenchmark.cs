using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Reelay.Testing;

namespace Reelay.Bench;

/// <summary>What the instances run measured, per measurement name (median window, percentiles over all), and the machine's load around it.</summary>
internal sealed record InstancesRun(IReadOnlyDictionary<string, LoadResult> Results, IReadOnlyDictionary<string, List<LoadResult>> Rounds, string? LoadBefore, string? LoadAfter);

/// <summary>
/// Create and query throughput of one Reelay instance against two sharing one PostgreSQL and one Redis
/// (the kit's <see cref="PostgresServer"/> and <see cref="RedisServer"/>), both API only, with the bare
/// Kestrel baseline measured in the same interleaved rounds. Both instances run throughout; the one-instance
/// measurements send every request to the first, the two-instance ones alternate requests between them,
/// with the same number of connections in all.
/// </summary>
internal static class InstancesBenchmark
{
    public static class Names
    {
        public const string BaselinePost = "baseline POST";
        public const string BaselineGet = "baseline GET";
        public const string CreateOne = "create, 1 instance";
        public const string CreateTwo = "create, 2 instances";
        public const string QueryOne = "query, 1 instance";
        public const string QueryTwo = "query, 2 instances";
    }

    public static async Task<InstancesRun> RunAsync(BenchOptions options)
    {
        var load = options.Load;
        var body = Encoding.UTF8.GetBytes(Benchmark.CreateBody);
        await using var postgres = await PostgresServer.StartAsync(CancellationToken.None);
        await using var redis = await RedisServer.StartAsync(CancellationToken.None);
        var shared = new Dictionary<string, string>
        {
            ["REELAY_Storage__Provider"] = "postgres",
            ["REELAY_Storage__Postgres__ConnectionString"] = PostgresBenchmark.Pooled(await postgres.CreateDatabaseAsync()),
            ["REELAY_Redis__Configuration"] = redis.Configuration,
            // Instances behind one load balancer sign file links alike.
            ["REELAY_SIGNING_KEY"] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)),
        };

        var adminKey = "sk-admin-bench-" + Guid.NewGuid().ToString("N");
        await using var group = new ServerGroup();
        var urls = new List<Uri>();
        for (var i = 0; i < 2; i++)
        {
            var dataDir = group.NewDataDirectory();
            var url = Benchmark.LoopbackUrl();
            urls.Add(url);
            await group.StartAsync(url, [options.ServerDll], Benchmark.ApiOnlyEnvironment(url, dataDir, adminKey, shared), dataDir);
        }

        var baselineUrl = Benchmark.LoopbackUrl();
        await group.StartAsync(
            baselineUrl, [Path.Combine(AppContext.BaseDirectory, "Reelay.Bench.dll"), "baseline", baselineUrl.ToString()],
            new Dictionary<string, string>(), AppContext.BaseDirectory);

        var baseline = group.Client(baselineUrl, load.Connections);
        // One client for the Reelay measurements: its pool keeps up to the same number of connections
        // per instance, and absolute URIs pick the instance request by request.
        var reelay = group.Client(urls[0], load.Connections);
        var key = await ClientKeys.CreateAsync(reelay, adminKey, "test", "bench");
        reelay.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key.Key);
        var queries = await Benchmark.CreateTasksAsync(reelay, Benchmark.CreateBody, options.QueryTasks);

        // Every stored task is readable from either instance: the store is shared.
        Uri On(int instance, string pathAndQuery) => new(urls[instance], pathAndQuery);
        var baselinePath = new Uri(BaselineServer.Path, UriKind.Relative);
        var queryUris = queries.Select(q => (First: On(0, q), Second: On(1, q))).ToArray();
        (string, HttpClient, Func<long, HttpRequestMessage>)[] measurements =
        [
            (Names.BaselinePost, baseline, _ => Benchmark.Post(baselinePath, body)),
            (Names.CreateOne, reelay, _ => Benchmark.Post(On(0, "/v1/video/create"), body)),
            (Names.CreateTwo, reelay, n => Benchmark.Post(On((int)(n % 2), "/v1/video/create"), body)),
            (Names.BaselineGet, baseline, _ => new HttpRequestMessage(HttpMethod.Get, baselinePath)),
            (Names.QueryOne, reelay, n => new HttpRequestMessage(HttpMethod.Get, queryUris[n % queryUris.Length].First)),
            (Names.QueryTwo, reelay, n => new HttpRequestMessage(HttpMethod.Get, n % 2 == 0 ? queryUris[n / 2 % queryUris.Length].First : queryUris[n / 2 % queryUris.Length].Second)),
        ];

        Console.WriteLine($"Instances: {urls[0]} and {urls[1]} on PostgreSQL 127.0.0.1:{postgres.Port} and Redis {redis.Configuration}; baseline at {baselineUrl}; {load.Connections} connections.");
        var loadBefore = Benchmark.LoadAverage();
        var windows = await LoadGenerator.RunRoundsAsync(measurements, load);
        return new InstancesRun(windows.ToDictionary(w => w.Key, w => LoadResult.Combine(w.Value)), windows, loadBefore, Benchmark.LoadAverage());
    }

    /// <summary>The section of RESULTS.md.</summary>
    public static string Section(BenchOptions options, InstancesRun run)
    {
        var load = options.Load;
        var text = new StringBuilder();
        void Line(FormattableString line) => text.Append(FormattableString.Invariant(line)).Append('\n');
        var r = run.Results;

        Line($"");
        Line($"## One instance against two");
        Line($"- Two Reelay processes (API only, as above) sharing one PostgreSQL 15 (the test kit's, on this box, fsync off) and one `redis-server`, both on 127.0.0.1, each with its own data directory; the bare baseline in its own process. Both instances run throughout: \"1 instance\" sends every request to the first, \"2 instances\" alternates requests between them, as a round-robin balancer does. Test-key creates (the body above) and queries of {options.QueryTasks} pending tasks stored through the first instance. .NET load generator: {load.Connections} connections in all, {load.Warmup.TotalSeconds:0} s warm-up, {load.Rounds} interleaved rounds of {load.Window.TotalSeconds:0} s.");
        Line($"- On this 2-core box the two instances, PostgreSQL, Redis and the load generator compete for the same two cores, so a second instance cannot add capacity here: what this shows is that requests spread over instances sharing the stores are all answered (any task readable through either), and what a second process costs when it shares the cores, not how far it scales on separate machines. 1-minute load average {run.LoadBefore ?? "–"} before the rounds, {run.LoadAfter ?? "–"} after (a load far above what the run itself makes, about 3–4 here, means other processes shared the cores too).");
        Line($"");
        Line($"| measurement | requests (all rounds) | failed | requests/s | p50 ms | p99 ms |");
        Line($"|---|--:|--:|--:|--:|--:|");
        foreach (var (name, result) in r)
        {
            Line($"| {name} | {run.Rounds[name].Sum(w => w.Succeeded):N0} | {result.Failed:N0} | {result.RequestsPerSecond:N0} | {result.P50Ms:0.00} | {result.P99Ms:0.00} |");
        }

        Line($"");
        Line($"| ratio of requests/s | median of the rounds' ratios | ratio of the median rounds | each round |");
        Line($"|---|--:|--:|--:|");
        Ratio(Names.CreateOne + " / baseline POST", Names.CreateOne, Names.BaselinePost);
        Ratio(Names.CreateTwo + " / baseline POST", Names.CreateTwo, Names.BaselinePost);
        Ratio(Names.QueryOne + " / baseline GET", Names.QueryOne, Names.BaselineGet);
        Ratio(Names.QueryTwo + " / baseline GET", Names.QueryTwo, Names.BaselineGet);
        Ratio("create, 2 instances / 1 instance", Names.CreateTwo, Names.CreateOne);
        Ratio("query, 2 instances / 1 instance", Names.QueryTwo, Names.QueryOne);
        if (r.Values.FirstOrDefault(x => x.FirstFailure is not null) is { } failing)
        {
            Line($"");
            Line($"First failure ({failing.Name}): `{failing.FirstFailure}`");
        }

        return text.ToString();

        void Ratio(string label, string measured, string baseline)
        {
            var rounds = RoundRatios.Of(run.Rounds[measured], run.Rounds[baseline], w => w.RequestsPerSecond);
            Line($"| {label} | {RoundRatios.Median(rounds):P0} | {r[measured].RequestsPerSecond / r[baseline].RequestsPerSecond:P0} | {RoundRatios.Each(rounds)} |");
        }
    }
}
