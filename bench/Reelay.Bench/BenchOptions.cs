using System.Globalization;

namespace Reelay.Bench;

/// <summary>Command line of a benchmark run.</summary>
internal sealed record BenchOptions(string ServerDll, string? OutputPath, LoadSettings Load, int QueryTasks, PollingSettings Polling, QueueSettings Queue, string? Revision, string? Only)
{
    public const string Usage = """
        usage: Reelay.Bench --server <Reelay.Server.dll> [--out RESULTS.md] [--connections 32]
                            [--warmup-seconds 2] [--window-seconds 3] [--rounds 3] [--max-requests 300000]
                            [--query-tasks 500] [--polling-tasks 40] [--job-seconds 3] [--poll-interval-ms 250]
                            [--polls-per-minute 60] [--queue-tasks 3000] [--queue-window-seconds 10]
                            [--revision <git revision>] [--only queue|billing]
        --only queue measures the queued local renders alone and prints that section (no file written);
        --only billing does the same for creates that hold credits.
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
        var only = values.GetValueOrDefault("only");
        if (only is not (null or "queue" or "billing"))
        {
            return null;
        }

        return new BenchOptions(
            Path.GetFullPath(server), values.GetValueOrDefault("out"), load, Int("query-tasks", 500), polling, queue, values.GetValueOrDefault("revision"), only);
    }
}
