using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Reelay.Testing;

namespace Reelay.Bench;

/// <summary>
/// The throughput part of a run: the bare Kestrel baseline and Reelay (API only), each in its own
/// process, measured with the same load in interleaved rounds.
/// </summary>
internal static class Benchmark
{
    /// <summary>The seed's create body with no reference images, on the local preview model.</summary>
    private const string CreateBody = """
        {"model":"reelay-preview","prompt":"小猫在吃鱼 --mode=custom","aspect_ratio":"3:2","size":"720P","images":[]}
        """;

    private static readonly MediaTypeHeaderValue Json = new("application/json");

    /// <summary>A named load: what to send and what answer counts as success.</summary>
    private sealed record Measurement(string Name, HttpClient Client, Func<long, HttpRequestMessage> Request);

    public static async Task<RunFigures> RunAsync(BenchOptions options)
    {
        var load = options.Load;
        var body = Encoding.UTF8.GetBytes(CreateBody);
        var loadBefore = LoadAverage();

        var baselineUrl = LoopbackUrl();
        await using var baseline = await StartServerAsync(
            baselineUrl,
            [Path.Combine(AppContext.BaseDirectory, "Reelay.Bench.dll"), "baseline", baselineUrl.ToString()],
            new Dictionary<string, string>(),
            AppContext.BaseDirectory);
        using var baselineClient = LoadGenerator.CreateClient(baselineUrl, load.Connections);

        var dataDir = NewDataDirectory();
        try
        {
            var adminKey = "sk-admin-bench-" + Guid.NewGuid().ToString("N");
            var reelayUrl = LoopbackUrl();
            await using var reelay = await StartServerAsync(
                reelayUrl,
                [options.ServerDll],
                new Dictionary<string, string>
                {
                    ["REELAY_URLS"] = reelayUrl.ToString(),
                    ["REELAY_DATA_DIR"] = dataDir,
                    ["REELAY_ADMIN_KEY"] = adminKey,
                    // API only: no workers, so renders do not take CPU from the API under test.
                    ["REELAY_Engine__Enabled"] = "false",
                    // Hundreds of thousands of creates pile up unrendered here: admission would refuse
                    // them as a backlog, which is right for a server but not what this measures.
                    ["REELAY_Limits__MaxInFlightPerTestKey"] = "0",
                    ["REELAY_Limits__LocalAdmission"] = "false",
                },
                dataDir);
            using var reelayClient = LoadGenerator.CreateClient(reelayUrl, load.Connections);
            var key = await ClientKeys.CreateAsync(reelayClient, adminKey, "test", "bench");
            reelayClient.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key.Key);

            var baselinePath = new Uri(BaselineServer.Path, UriKind.Relative);
            var createPath = new Uri("/v1/video/create", UriKind.Relative);
            var queries = await CreateTasksAsync(reelayClient, createPath, body, options.QueryTasks);
            Measurement[] measurements =
            [
                new("baseline GET", baselineClient, _ => new HttpRequestMessage(HttpMethod.Get, baselinePath)),
                new("Reelay GET /v1/video/query", reelayClient, n => new HttpRequestMessage(HttpMethod.Get, queries[n % queries.Length])),
                new("baseline POST", baselineClient, _ => Post(baselinePath, body)),
                new("Reelay POST /v1/video/create", reelayClient, _ => Post(createPath, body)),
            ];

            Console.WriteLine($"Baseline at {baselineUrl}, Reelay (API only) at {reelayUrl}; {load.Connections} connections.");
            Console.WriteLine($"Warmup: {load.Warmup.TotalSeconds:0} s each…");
            foreach (var m in measurements)
            {
                await LoadGenerator.WarmUpAsync(m.Name, m.Client, m.Request, HttpStatusCode.OK, load);
            }

            var windows = measurements.ToDictionary(m => m.Name, _ => new List<LoadResult>());
            for (var round = 1; round <= load.Rounds; round++)
            {
                Console.WriteLine($"Round {round} of {load.Rounds}: {load.Window.TotalSeconds:0} s each");
                foreach (var m in measurements)
                {
                    var result = await LoadGenerator.MeasureAsync(m.Name, m.Client, m.Request, HttpStatusCode.OK, load);
                    windows[m.Name].Add(result);
                    Console.WriteLine(Line(result));
                }
            }

            Console.WriteLine();
            var (get, query, post, create) = (windows[measurements[0].Name], windows[measurements[1].Name], windows[measurements[2].Name], windows[measurements[3].Name]);
            return new RunFigures(
                LoadResult.Combine(get),
                LoadResult.Combine(post),
                LoadResult.Combine(query),
                LoadResult.Combine(create),
                [.. query.Zip(get, (q, g) => q.RequestsPerSecond / g.RequestsPerSecond)],
                [.. create.Zip(post, (c, p) => c.RequestsPerSecond / p.RequestsPerSecond)],
                loadBefore,
                LoadAverage());
        }
        finally
        {
            DeleteDataDirectory(dataDir);
        }
    }

    /// <summary>A fresh, empty data directory for one Reelay process.</summary>
    public static string NewDataDirectory()
    {
        var path = Path.Combine(Path.GetTempPath(), "reelay-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    public static void DeleteDataDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by the stopped server: the temp dir is cleaned by the OS later.
        }
    }

    private static HttpRequestMessage Post(Uri path, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = Json;
        return new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
    }

    /// <summary>A loopback URL on a port that was free a moment ago.</summary>
    public static Uri LoopbackUrl() => new($"http://127.0.0.1:{ChildProcess.FreeLoopbackPort()}");

    /// <summary>Runs <c>dotnet &lt;arguments&gt;</c> and waits until <c>GET /healthz</c> answers 200; killed with its children on dispose.</summary>
    public static async Task<ChildProcess> StartServerAsync(
        Uri baseAddress, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment, string workingDirectory)
    {
        var server = ChildProcess.Start("dotnet", arguments, environment, workingDirectory);
        try
        {
            await server.WaitHealthyAsync(baseAddress, TimeSpan.FromSeconds(60), CancellationToken.None);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary>Creates the tasks the query benchmark reads, and returns their query URLs.</summary>
    private static async Task<Uri[]> CreateTasksAsync(HttpClient client, Uri createPath, byte[] body, int count)
    {
        var queries = new Uri[count];
        for (var i = 0; i < count; i++)
        {
            using var request = Post(createPath, body);
            using var response = await client.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"POST /v1/video/create answered {(int)response.StatusCode}: {text}");
            }

            using var document = JsonDocument.Parse(text);
            var id = document.RootElement.GetProperty("id").GetString()!;
            queries[i] = new Uri("/v1/video/query?id=" + Uri.EscapeDataString(id), UriKind.Relative);
        }

        return queries;
    }

    /// <summary>The 1-minute load average, to show how busy the machine was besides this run (Linux only).</summary>
    private static string? LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : null;

    private static string Line(LoadResult r) =>
        FormattableString.Invariant($"  {r.Name,-30} {r.RequestsPerSecond,9:0} req/s  p50 {r.P50Ms,7:0.00} ms  p99 {r.P99Ms,7:0.00} ms  ({r.Succeeded} ok, {r.Failed} failed{(r.FirstFailure is null ? "" : "; first: " + r.FirstFailure)})");
}

/// <summary>Everything one run measured: each measurement over all rounds, and each round's ratios.</summary>
internal sealed record RunFigures(
    LoadResult BaselineGet,
    LoadResult BaselinePost,
    LoadResult Query,
    LoadResult Create,
    IReadOnlyList<double> QueryRatios,
    IReadOnlyList<double> CreateRatios,
    string? LoadAverageBefore,
    string? LoadAverageAfter);
