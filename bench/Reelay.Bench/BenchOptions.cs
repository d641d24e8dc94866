using System.Globalization;

namespace Reelay.Bench;

/// <summary>Command line of a benchmark run.</summary>
internal sealed record BenchOptions(
    string ServerDll, string? OutputPath, LoadSettings Load, WrkSettings Wrk, int QueryTasks, int CompletedTasks, int RenderBacklog,
    PollingSettings Polling, QueueSettings Queue, string? Revision, string? Only)
{
    /// <summary>The waiting run's counts (<c>--only waiting</c>).</summary>
    public WaitingSettings Waiting { get; init; } = new(2000, 2000, 200, 10);

    /// <summary>The tasks-in-flight run's counts (<c>--only inflight</c>).</summary>
    public InflightSettings Inflight { get; init; } = InflightSettings.Default;

    public const string Usage = """
        usage: Reelay.Bench --server <Reelay.Server.dll> [--out RESULTS.md] [--connections 32]
                            [--warmup-seconds 2] [--window-seconds 3] [--rounds 3] [--max-requests 300000]
                            [--wrk-threads 2] [--wrk-connections 64] [--wrk-warmup-seconds 2] [--wrk-window-seconds 5]
                            [--wrk-rounds 3] [--wrk-max-requests 2000000] [--completed-tasks 4] [--render-backlog 24]
                            [--query-tasks 500] [--polling-tasks 40] [--job-seconds 3] [--poll-interval-ms 250]
                            [--polls-per-minute 60] [--queue-tasks 3000] [--queue-window-seconds 10]
                            [--waiting-streams 2000] [--waiting-polls 2000] [--waiting-tasks 200] [--waiting-cancels-at-once 1]
                            [--inflight-tasks 10000] [--inflight-wait-seconds 360]
                            [--revision <git revision>] [--only queue|throughput|allocations|polling|callbacks|billing|waiting|postgres|instances|inflight]
        --only queue measures the queued local renders alone and prints that section (no file written);
        --only throughput measures throughput, files, allocations and renders alone and prints them (no file written);
        --only allocations measures the bytes allocated per request alone and prints them (no file written);
        --only polling measures the polls per completed task alone and prints that section (no file written);
        --only callbacks measures polls per task and detection delay with and without upstream
        callbacks, and writes that section alone to --out (bench/CALLBACKS.md);
        --only billing measures creates that hold credits alone and prints that section (no file written);
        --only waiting holds event streams and long-polls open while their tasks end;
        --only postgres measures create and query throughput on PostgreSQL against SQLite;
        --only instances measures create and query throughput of one and of two instances sharing PostgreSQL and Redis;
        --only inflight keeps thousands of upstream jobs of 30–120 s in flight and measures polls, detection and cost;
        these four replace their own section of --out (bench/RESULTS.md) with what they measured.
        """;

    public static BenchOptions? Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                return null;
            }

            values[args[i][2..]] = args[i + 1];
        }

        if (!values.TryGetValue("server", out var server) || !File.Exists(server))
        {
            return null;
        }

        int Int(string name, int fallback) =>
            values.TryGetValue(name, out var text) ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;

        var load = new LoadSettings(
            Connections: Int("connections", 32),
            Warmup: TimeSpan.FromSeconds(Int("warmup-seconds", 2)),
            Window: TimeSpan.FromSeconds(Int("window-seconds", 3)),
            MaxRequests: Int("max-requests", 300_000),
            Rounds: Int("rounds", 3));
        var polling = new PollingSettings(
            Tasks: Int("polling-tasks", 40),
            JobDuration: TimeSpan.FromSeconds(Int("job-seconds", 3)),
            PollInterval: TimeSpan.FromMilliseconds(Int("poll-interval-ms", 250)),
            PollsPerMinute: Int("polls-per-minute", 60));
        var queue = new QueueSettings(Tasks: Int("queue-tasks", 3000), Window: TimeSpan.FromSeconds(Int("queue-window-seconds", 10)));
        var wrk = new WrkSettings(
            Threads: Int("wrk-threads", 2),
            Connections: Int("wrk-connections", 64),
            Warmup: TimeSpan.FromSeconds(Int("wrk-warmup-seconds", 2)),
            Window: TimeSpan.FromSeconds(Int("wrk-window-seconds", 5)),
            Rounds: Int("wrk-rounds", 5),
            MaxRequestsPerThread: Int("wrk-max-requests", 2_000_000));
        var only = values.GetValueOrDefault("only");
        if (only is not (null or "queue" or "throughput" or "allocations" or "polling" or "callbacks" or "billing" or "waiting" or "postgres" or "instances" or "inflight"))
        {
            return null;
        }

        return new BenchOptions(
            Path.GetFullPath(server), values.GetValueOrDefault("out"), load, wrk, Int("query-tasks", 500), Int("completed-tasks", 4), Int("render-backlog", 24),
            polling, queue, values.GetValueOrDefault("revision"), only)
        {
            Waiting = new WaitingSettings(Int("waiting-streams", 2000), Int("waiting-polls", 2000), Int("waiting-tasks", 200), Int("waiting-cancels-at-once", 1)),
            Inflight = InflightSettings.Default with
            {
                Tasks = Int("inflight-tasks", InflightSettings.Default.Tasks),
                WaitLimit = TimeSpan.FromSeconds(Int("inflight-wait-seconds", (int)InflightSettings.Default.WaitLimit.TotalSeconds)),
            },
        };
    }
}
