using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Data.Sqlite;
using Reelay.Testing;

namespace Reelay.Bench;

/// <summary>The queued-renders part of a run.</summary>
/// <param name="Tasks">Test-mode local renders created back to back, all behind one render slot.</param>
/// <param name="Window">How long the queue is watched once every task has been submitted and polled once.</param>
internal sealed record QueueSettings(int Tasks, TimeSpan Window);

/// <summary>What the queued-renders measurement saw.</summary>
/// <param name="Filling">From the first create until every task was submitted to the renderer and polled once.</param>
/// <param name="LargestWalFilling">The WAL file's largest size meanwhile (sampled every 20 ms).</param>
/// <param name="LargestWalWaiting">Its largest size during the window.</param>
/// <param name="Waiting">Tasks still running (waiting for the slot or rendering) at the end of the window.</param>
/// <param name="Polls">Polls recorded in the window (the tasks' <c>polls</c> column), each a claim and a schedule write of the task row.</param>
/// <param name="WaitingPolled">Tasks polled in the window and still running at its end.</param>
internal sealed record QueueFigures(
    int Tasks, TimeSpan Filling, long LargestWalFilling, long LargestWalWaiting, int Waiting, long Polls, int WaitingPolled, TimeSpan Window, long DatabaseBytes)
{
    public double PollsPerSecond => Polls / Window.TotalSeconds;
}

/// <summary>
/// What thousands of queued test-mode renders cost the database. A test key is free, so anyone
/// holding one can queue renders faster than one render slot works them off; the measurement
/// creates that queue and watches the WAL file and the task rows while it waits.
/// </summary>
internal static class QueueBenchmark
{
    private const string CreateBody = """
        {"model":"reelay-preview","prompt":"A lighthouse at night, waves breaking","aspect_ratio":"16:9","size":"480P","duration":15,"images":[]}
        """;

    private static readonly TimeSpan FillLimit = TimeSpan.FromMinutes(5);

    public static async Task<QueueFigures> RunAsync(BenchOptions options)
    {
        var settings = options.Queue;
        Console.WriteLine($"Queue: {settings.Tasks} test-mode local renders behind one render slot, watched for {settings.Window.TotalSeconds:0} s…");
        var dataDir = Benchmark.NewDataDirectory();
        try
        {
            var adminKey = "sk-admin-bench-" + Guid.NewGuid().ToString("N");
            var url = Benchmark.LoopbackUrl();
            var environment = new Dictionary<string, string>
            {
                ["REELAY_URLS"] = url.ToString(),
                ["REELAY_DATA_DIR"] = dataDir,
                ["REELAY_ADMIN_KEY"] = adminKey,
                ["REELAY_LocalRenderer__MaxConcurrentRenders"] = "1",
                // The queue is what is measured: admission would refuse most of it, as it should in service.
                ["REELAY_Limits__MaxInFlightPerTestKey"] = "0",
                ["REELAY_Limits__LocalAdmission"] = "false",
            };
            await using var reelay = await Benchmark.StartServerAsync(url, [options.ServerDll], environment, dataDir);
            using var client = LoadGenerator.CreateClient(url, 8);
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await ClientKeys.CreateAsync(client, adminKey, "test", "bench")).Key);
            var database = Path.Combine(dataDir, "reelay.db");
            await using var wal = new WalWatch(database + "-wal");

            var started = Stopwatch.GetTimestamp();
            await Parallel.ForAsync(0, settings.Tasks, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (_, token) =>
            {
                using var content = new StringContent(CreateBody, Encoding.UTF8, "application/json");
                using var response = await client.PostAsync(new Uri("/v1/video/create", UriKind.Relative), content, token);
                if (!response.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"POST /v1/video/create answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(token)}");
                }
            });
            while (await ScalarAsync(database, "SELECT COUNT(*) FROM tasks WHERE stage IN ('pending', 'submitting') OR (stage = 'running' AND polls = 0)") > 0)
            {
                if (Stopwatch.GetElapsedTime(started) > FillLimit)
                {
                    throw new TimeoutException($"The {settings.Tasks} tasks were not all submitted and polled within {FillLimit.TotalMinutes:0} minutes.");
                }

                await Task.Delay(200);
            }

            var filling = Stopwatch.GetElapsedTime(started);
            var largestFilling = wal.TakeLargest();
            Console.WriteLine(FormattableString.Invariant($"  queued in {filling.TotalSeconds:0.0} s, WAL at most {largestFilling / 1048576.0:0.0} MiB meanwhile"));

            var before = await PollsAsync(database);
            var watching = Stopwatch.GetTimestamp();
            await Task.Delay(settings.Window);
            var window = Stopwatch.GetElapsedTime(watching);
            var after = await PollsAsync(database);
            var largestWaiting = wal.TakeLargest();

            var polls = after.Sum(t => t.Value.Polls - before.GetValueOrDefault(t.Key).Polls);
            var waiting = after.Count(t => t.Value.Stage == "running");
            var waitingPolled = after.Count(t => t.Value.Stage == "running" && t.Value.Polls != before.GetValueOrDefault(t.Key).Polls);
            var figures = new QueueFigures(settings.Tasks, filling, largestFilling, largestWaiting, waiting, polls, waitingPolled, window, new FileInfo(database).Length);
            Console.WriteLine(FormattableString.Invariant(
                $"  {waiting} waiting; {figures.PollsPerSecond:0.0} polls/s, {waitingPolled} waiting tasks polled in {window.TotalSeconds:0.0} s; WAL at most {largestWaiting / 1048576.0:0.0} MiB"));
            return figures;
        }
        finally
        {
            Benchmark.DeleteDataDirectory(dataDir);
        }
    }

    /// <summary>
    /// Reads the server's database from this process: read-only and closed at once, so it neither
    /// checkpoints the file nor holds a snapshot that would keep the server's checkpoints from completing.
    /// </summary>
    private static async Task<long> ScalarAsync(string database, string sql)
    {
        await using var connection = Open(database);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<Dictionary<string, (string Stage, long Polls)>> PollsAsync(string database)
    {
        await using var connection = Open(database);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, stage, polls FROM tasks";
        await using var reader = await command.ExecuteReaderAsync();
        var polls = new Dictionary<string, (string, long)>(StringComparer.Ordinal);
        while (await reader.ReadAsync())
        {
            polls[reader.GetString(0)] = (reader.GetString(1), reader.GetInt64(2));
        }

        return polls;
    }

    /// <summary>A read-only connection to a server's database: the bench watches its rows, it never writes them.</summary>
    public static SqliteConnection Open(string database)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    /// <summary>Samples a file's size every 20 ms and keeps the largest since it was last taken.</summary>
    private sealed class WalWatch : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private long _largest;

        public WalWatch(string path) => _loop = WatchAsync(path);

        public long TakeLargest() => Interlocked.Exchange(ref _largest, 0);

        private async Task WatchAsync(string path)
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
            try
            {
                while (await timer.WaitForNextTickAsync(_stop.Token))
                {
                    var size = File.Exists(path) ? new FileInfo(path).Length : 0;
                    long seen;
                    while (size > (seen = Interlocked.Read(ref _largest)) && Interlocked.CompareExchange(ref _largest, size, seen) != seen)
                    {
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            _stop.Dispose();
        }
    }
}
