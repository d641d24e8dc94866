using System.Net.Http.Headers;
using System.Text;
using Reelay.Testing;

namespace Reelay.Bench;

/// <summary>One store's create and query throughput.</summary>
internal sealed record StoreFigures(string Store, LoadResult Create, LoadResult Query);

/// <summary>Both stores' figures, and the machine's 1-minute load average before and after the rounds.</summary>
internal sealed record StoreRun(IReadOnlyList<StoreFigures> Stores, string? LoadBefore, string? LoadAfter);

/// <summary>
/// Create and query throughput on PostgreSQL against the embedded SQLite file: two Reelay processes (API only),
/// one per store, the PostgreSQL server started by the test kit on this box (<see cref="PostgresServer"/>, fsync off
/// as in the tests: this compares the stores' code paths, not disks). Rounds interleave the two so a change in
/// background load hits both alike; figures are ratios of PostgreSQL to SQLite measured in the same run.
/// </summary>
internal static class PostgresBenchmark
{
    public static async Task<StoreRun> RunAsync(BenchOptions options)
    {
        var load = options.Load;
        var body = Encoding.UTF8.GetBytes(Benchmark.CreateBody);
        var createPath = new Uri("/v1/video/create", UriKind.Relative);
        await using var postgres = await PostgresServer.StartAsync(CancellationToken.None);
        var database = Pooled(await postgres.CreateDatabaseAsync());
        var stores = new (string Name, Dictionary<string, string> Settings)[]
        {
            ("SQLite", new Dictionary<string, string>()),
            ("PostgreSQL", new Dictionary<string, string> { ["REELAY_Storage__Provider"] = "postgres", ["REELAY_Storage__Postgres__ConnectionString"] = database }),
        };

        await using var group = new ServerGroup();
        var measurements = new List<(string Name, HttpClient Client, Func<long, HttpRequestMessage> Request)>();
        foreach (var (name, settings) in stores)
        {
            var dataDir = group.NewDataDirectory();
            var adminKey = "sk-admin-bench-" + Guid.NewGuid().ToString("N");
            var url = Benchmark.LoopbackUrl();
            await group.StartAsync(url, [options.ServerDll], Benchmark.ApiOnlyEnvironment(url, dataDir, adminKey, settings), dataDir);
            var client = group.Client(url, load.Connections);
            var key = await ClientKeys.CreateAsync(client, adminKey, "test", "bench");
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key.Key);
            var queries = (await Benchmark.CreateTasksAsync(client, Benchmark.CreateBody, options.QueryTasks)).Select(q => new Uri(q, UriKind.Relative)).ToArray();
            measurements.Add(($"{name} create", client, _ => Benchmark.Post(createPath, body)));
            measurements.Add(($"{name} query", client, n => new HttpRequestMessage(HttpMethod.Get, queries[n % queries.Length])));
        }

        Console.WriteLine($"Stores: SQLite and PostgreSQL (127.0.0.1:{postgres.Port}), Reelay API only; {load.Connections} connections.");
        var loadBefore = Benchmark.LoadAverage();
        var windows = await LoadGenerator.RunRoundsAsync(measurements, load);
        return new StoreRun(
            [.. stores.Select(s => new StoreFigures(s.Name, LoadResult.Combine(windows[$"{s.Name} create"]), LoadResult.Combine(windows[$"{s.Name} query"])))],
            loadBefore, Benchmark.LoadAverage());
    }

    /// <summary>
    /// The kit's connection string with pooling on, as an operator's is: the kit turns it off for the tests'
    /// own connections, and Reelay keeps what the string says, so without this every request would start a
    /// PostgreSQL backend of its own.
    /// </summary>
    public static string Pooled(string connectionString) =>
        new Npgsql.NpgsqlConnectionStringBuilder(connectionString) { Pooling = true }.ConnectionString;

    /// <summary>The section of RESULTS.md.</summary>
    public static string Section(BenchOptions options, StoreRun run)
    {
        var text = new StringBuilder();
        void Line(FormattableString line) => text.Append(FormattableString.Invariant(line)).Append('\n');
        var (sqlite, postgres) = (run.Stores[0], run.Stores[1]);
        Line($"");
        Line($"## PostgreSQL against SQLite");
        Line($"- Reelay (API only, as above) on each store, test-key creates (the body above, each a committed insert) and queries of {options.QueryTasks} stored pending tasks, by the .NET load generator: {options.Load.Connections} connections, {options.Load.Warmup.TotalSeconds:0} s warm-up, {options.Load.Rounds} interleaved rounds of {options.Load.Window.TotalSeconds:0} s. PostgreSQL 15 runs on this box, started by the test kit with a throwaway data directory and fsync off (as in the tests), so this compares the stores' code paths and round trips, not disks; SQLite commits to its WAL file on local disk.");
        Line($"- The load generator, both Reelay processes and PostgreSQL share this 2-core machine: 1-minute load average {run.LoadBefore ?? "–"} before the rounds, {run.LoadAfter ?? "–"} after (a load far above what the run itself makes, about 3–4 here, means other processes shared the cores too).");
        Line($"");
        Line($"| measurement | requests/s | p50 ms | p99 ms | failed |");
        Line($"|---|--:|--:|--:|--:|");
        foreach (var store in run.Stores)
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
}
