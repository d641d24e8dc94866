using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Reelay.Testing;

namespace Reelay.Bench;

/// <summary>One store's create and query throughput.</summary>
internal sealed record StoreFigures(string Store, LoadResult Create, LoadResult Query);

/// <summary>
/// Create and query throughput on PostgreSQL against the embedded SQLite file: two Reelay processes (API only),
/// one per store, the PostgreSQL server started by the test kit on this box (<see cref="PostgresServer"/>, fsync off
/// as in the tests: this compares the stores' code paths, not disks). Rounds interleave the two so a change in
/// background load hits both alike; figures are ratios of PostgreSQL to SQLite measured in the same run.
/// </summary>
internal static class PostgresBenchmark
{
    private const string CreateBody = """
        {"model":"reelay-preview","prompt":"小猫在吃鱼 --mode=custom","aspect_ratio":"3:2","size":"720P","images":[]}
        """;

    public static async Task<IReadOnlyList<StoreFigures>> RunAsync(BenchOptions options)
    {
        var load = options.Load;
        var body = Encoding.UTF8.GetBytes(CreateBody);
        await using var postgres = await PostgresServer.StartAsync(CancellationToken.None);
        var database = await postgres.CreateDatabaseAsync();
        var stores = new (string Name, Dictionary<string, string> Settings)[]
        {
            ("SQLite", new Dictionary<string, string>()),
            ("PostgreSQL", new Dictionary<string, string> { ["REELAY_Storage__Provider"] = "postgres", ["REELAY_Storage__Postgres__ConnectionString"] = database }),
        };

        var dataDirs = new List<string>();
        var servers = new List<IAsyncDisposable>();
        try
        {
            var measurements = new List<(string Name, HttpClient Client, Func<long, HttpRequestMessage> Request)>();
            foreach (var (name, settings) in stores)
            {
                var dataDir = Benchmark.NewDataDirectory();
                dataDirs.Add(dataDir);
                var adminKey = "sk-admin-bench-" + Guid.NewGuid().ToString("N");
                var url = Benchmark.LoopbackUrl();
                var environment = new Dictionary<string, string>(settings)
                {
                    ["REELAY_URLS"] = url.ToString(),
                    ["REELAY_DATA_DIR"] = dataDir,
                    ["REELAY_ADMIN_KEY"] = adminKey,
                    ["REELAY_Engine__Enabled"] = "false",
                    ["REELAY_Limits__MaxInFlightPerTestKey"] = "0",
                    ["REELAY_Limits__LocalAdmission"] = "false",
                };
                servers.Add(await Benchmark.StartServerAsync(url, [options.ServerDll], environment, dataDir));
                using var setup = new HttpClient { BaseAddress = url };
                var key = await ClientKeys.CreateAsync(setup, adminKey, "test", "bench");
                var client = LoadGenerator.CreateClient(url, load.Connections);
                client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key.Key);
                var ids = new List<string>();
                for (var i = 0; i < options.QueryTasks; i++)
                {
                    using var created = await client.SendAsync(Post(body));
                    using var json = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
                    ids.Add(json.RootElement.GetProperty("id").GetString()!);
                }

                measurements.Add(($"{name} create", client, _ => Post(body)));
                measurements.Add(($"{name} query", client, n => new HttpRequestMessage(HttpMethod.Get, new Uri("/v1/video/query?id=" + Uri.EscapeDataString(ids[(int)(n % ids.Count)]), UriKind.Relative))));
            }

            Console.WriteLine($"Stores: SQLite and PostgreSQL (127.0.0.1:{postgres.Port}), Reelay API only; {load.Connections} connections.");
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
                    Console.WriteLine(FormattableString.Invariant($"  {name,-22} {result.RequestsPerSecond,9:0} req/s  p50 {result.P50Ms,7:0.00} ms  p99 {result.P99Ms,7:0.00} ms  ({result.Failed} failed)"));
                }
            }

            foreach (var (_, client, _) in measurements.DistinctBy(m => m.Client))
            {
                client.Dispose();
            }

            return [.. stores.Select(s => new StoreFigures(s.Name, LoadResult.Combine(windows[$"{s.Name} create"]), LoadResult.Combine(windows[$"{s.Name} query"])))];
        }
        finally
        {
            foreach (var server in servers)
            {
                await server.DisposeAsync();
            }

            foreach (var dataDir in dataDirs)
            {
                Benchmark.DeleteDataDirectory(dataDir);
            }
        }
    }

    /// <summary>The section of RESULTS.md.</summary>
    public static string Section(BenchOptions options, IReadOnlyList<StoreFigures> figures)
    {
        var text = new StringBuilder();
        void Line(FormattableString line) => text.Append(FormattableString.Invariant(line)).Append('\n');
        var (sqlite, postgres) = (figures[0], figures[1]);
        Line($"");
        Line($"## PostgreSQL against SQLite");
        Line($"- Reelay (API only) on each store, test-key creates and queries of {options.QueryTasks} stored tasks, {options.Load.Rounds} interleaved rounds of {options.Load.Window.TotalSeconds:0} s, {options.Load.Connections} connections; PostgreSQL on this box with fsync off (the test kit's server).");
        Line($"");
        Line($"| measurement | requests/s | p50 ms | p99 ms | failed |");
        Line($"|---|--:|--:|--:|--:|");
        foreach (var store in figures)
        {
            foreach (var r in (LoadResult[])[store.Create, store.Query])
            {
                Line($"| {r.Name} | {r.RequestsPerSecond:N0} | {r.P50Ms:0.00} | {r.P99Ms:0.00} | {r.Failed:N0} |");
            }
        }

        Line($"");
        Line($"| ratio PostgreSQL / SQLite | requests/s |");
        Line($"|---|--:|");
        Line($"| create | {postgres.Create.RequestsPerSecond / sqlite.Create.RequestsPerSecond * 100:0} % |");
        Line($"| query | {postgres.Query.RequestsPerSecond / sqlite.Query.RequestsPerSecond * 100:0} % |");
        return text.ToString();
    }

    private static HttpRequestMessage Post(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return new HttpRequestMessage(HttpMethod.Post, new Uri("/v1/video/create", UriKind.Relative)) { Content = content };
    }
}
