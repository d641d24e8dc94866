using System.Globalization;
using System.Runtime;
using System.Runtime.InteropServices;
using System.Text;

namespace Reelay.Bench;

/// <summary>
/// Writes RESULTS.md: where and how the run happened, the four throughput measurements and the ratios
/// against the aims, then the upstream polls spent per completed task, then what a queue of local
/// renders costs the database.
/// </summary>
internal static class Report
{
    /// <summary>Query throughput as a share of the bare endpoint's GET: a read should cost little more than the framework.</summary>
    private const double QueryAim = 0.50;

    /// <summary>Create throughput as a share of the bare endpoint's POST: each create is a durable SQLite commit.</summary>
    private const double CreateAim = 0.25;

    public static string Write(BenchOptions options, RunFigures figures, IReadOnlyList<PollingFigures> polling, QueueFigures queue)
    {
        var load = options.Load;
        LoadResult[] results = [figures.BaselineGet, figures.BaselinePost, figures.Query, figures.Create];
        var text = new StringBuilder();
        void Line(FormattableString line) => text.Append(FormattableString.Invariant(line)).Append('\n');

        Line($"# Reelay benchmark");
        Line($"");
        Line($"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC by `bench/run`{(options.Revision is null ? "" : $" at revision `{options.Revision}`")}.");
        Line($"");
        Line($"## Machine");
        Line($"- CPU: {CpuModel()}, {Environment.ProcessorCount} logical cores");
        Line($"- OS: {RuntimeInformation.OSDescription} ({RuntimeInformation.OSArchitecture})");
        Line($"- .NET: {RuntimeInformation.FrameworkDescription}; server GC in both servers, {(GCSettings.IsServerGC ? "server" : "workstation")} GC in the load generator");
        Line($"- The load generator and the server under test run on this one machine and share its {Environment.ProcessorCount} cores, so the figures are for comparison within the run (hence the ratios), not a server's capacity.");
        if (figures.LoadAverageBefore is not null)
        {
            Line($"- 1-minute load average: {figures.LoadAverageBefore} before the run, {figures.LoadAverageAfter} after. Anything above the run's own load means other processes shared the cores too.");
        }
        Line($"");
        Line($"## Settings");
        Line($"- Closed loop over HTTP/1.1 keep-alive on 127.0.0.1: {load.Connections} connections, each sends its next request when the last answer is fully read.");
        Line($"- Each measurement: {load.Warmup.TotalSeconds:0} s warmup (discarded), then {load.Rounds} rounds of a {load.Window.TotalSeconds:0} s window capped at {load.MaxRequests:N0} requests; rounds interleave the four measurements (baseline GET, query, baseline POST, create) so background load hits all alike. Requests/s is the median round's; latency is from send to the last byte of the answer, p50/p99 by nearest rank over every round's requests.");
        Line($"- Baseline: a bare ASP.NET Core minimal API (`WebApplication.CreateSlimBuilder`, no middleware) in its own process, answering fixed JSON shaped like Reelay's: GET serializes an object with the query answer's fields, POST binds a JSON body (the same bytes as the create body) and answers `{{id, status, status_update_time}}`.");
        Line($"- Reelay: the Release build run as `dotnet Reelay.Server.dll` with a fresh data directory (SQLite in WAL mode), `Engine:Enabled=false` (API only: no workers, no renders) and admission off (`Limits:MaxInFlightPerTestKey=0`, `Limits:LocalAdmission=false`: the unrendered creates would otherwise be refused as a backlog), shipped appsettings.json otherwise; every request authenticated with a test-mode key.");
        Line($"- Query reads {options.QueryTasks} tasks created just before, in turn; create sends `{{\"model\":\"reelay-preview\",\"prompt\":\"小猫在吃鱼 --mode=custom\",\"aspect_ratio\":\"3:2\",\"size\":\"720P\",\"images\":[]}}`, each one a committed insert.");
        Line($"");
        Line($"## Results");
        Line($"| measurement | requests (all rounds) | failed | requests/s | p50 ms | p99 ms |");
        Line($"|---|--:|--:|--:|--:|--:|");
        foreach (var r in results)
        {
            Line($"| {r.Name} | {r.SortedLatencies.Length:N0} | {r.Failed:N0} | {r.RequestsPerSecond:N0} | {r.P50Ms:0.00} | {r.P99Ms:0.00} |");
        }

        foreach (var r in results.Where(r => r.FirstFailure is not null))
        {
            Line($"");
            Line($"First failure of {r.Name}: `{r.FirstFailure}`");
        }

        Line($"");
        Line($"## Against the aims");
        Line($"| ratio of requests/s | median rounds | each round | aim | met |");
        Line($"|---|--:|--:|--:|:-:|");
        Ratio(text, "query / baseline GET", figures.Query, figures.BaselineGet, figures.QueryRatios, QueryAim);
        Ratio(text, "create / baseline POST", figures.Create, figures.BaselinePost, figures.CreateRatios, CreateAim);
        Polling(text, options.Polling, polling);
        text.Append(QueueSection(options.Queue, queue));
        return text.ToString();
    }

    public static string QueueSection(QueueSettings settings, QueueFigures q)
    {
        var text = new StringBuilder();
        void Line(FormattableString line) => text.Append(FormattableString.Invariant(line)).Append('\n');
        static string Mib(long bytes) => FormattableString.Invariant($"{bytes / 1048576.0:0.0} MiB");

        Line($"");
        Line($"## WAL size and task-row writes with queued local renders");
        Line($"- Reelay as above with its engine on and `LocalRenderer:MaxConcurrentRenders=1`. A test-mode key creates {settings.Tasks:N0} `reelay-preview` renders (480P, 15 s) over 8 connections, back to back: one render slot works them off one at a time, so nearly all wait in the renderer's queue, as they do when anyone with a free test key queues more than the machine renders.");
        Line($"- The WAL file (`reelay.db-wal`) is sampled every 20 ms. Polls are read from the tasks' `polls` column through a read-only connection from the load generator; each poll writes the task row twice (its claim and its schedule). The window opens once every task has been submitted to the renderer and polled once, and lasts {settings.Window.TotalSeconds:0} s.");
        Line($"");
        Line($"| queued renders | until all submitted and polled once | WAL largest meanwhile | tasks waiting | polls/s while waiting | task-row writes/s | waiting tasks polled in the window | WAL largest while waiting | database file |");
        Line($"|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        Line($"| {q.Tasks:N0} | {q.Filling.TotalSeconds:0.0} s | {Mib(q.LargestWalFilling)} | {q.Waiting:N0} | {q.PollsPerSecond:0.0} | {2 * q.PollsPerSecond:0.0} | {q.WaitingPolled:N0} | {Mib(q.LargestWalWaiting)} | {Mib(q.DatabaseBytes)} |");
        Line($"");
        Line($"What it means: a task waiting for the render slot is not polled (the renderer reports when a job starts and ends, and the engine polls only then and while it renders), so the writes left are those of the task rendering and of each finished one. While the queue is submitted (the busiest write phase) the checkpointer empties the WAL each time it passes 16 MiB, so it peaks a little above that; once writes thin out, the next restart of the log cuts the file to 4 MiB (`journal_size_limit`). The database file itself is the size shown.");
        return text.ToString();
    }

    private static void Ratio(StringBuilder text, string name, LoadResult measured, LoadResult baseline, IReadOnlyList<double> rounds, double aim)
    {
        var ratio = measured.RequestsPerSecond / baseline.RequestsPerSecond;
        var met = measured.Failed == 0 && ratio >= aim ? "yes" : "no";
        var each = string.Join(", ", rounds.Select(r => r.ToString("P0", CultureInfo.InvariantCulture)));
        text.Append(FormattableString.Invariant($"| {name} | {ratio:P0} | {each} | ≥ {aim:P0} | {met} |")).Append('\n');
    }

    private static void Polling(StringBuilder text, PollingSettings settings, IReadOnlyList<PollingFigures> variants)
    {
        void Line(FormattableString line) => text.Append(FormattableString.Invariant(line)).Append('\n');
        static string Budget(PollingFigures v) => v.PollsPerMinute == 0 ? "none" : FormattableString.Invariant($"{v.PollsPerMinute}/min");

        var job = settings.JobDuration.TotalSeconds;
        var schedule = UnjitteredSchedule(settings.PollInterval, settings.JobDuration);
        Line($"");
        Line($"## Polls per completed task");
        Line($"- Reelay as above but with its engine on (dispatcher, poller, finisher) and one channel, provider `unified`, `PollInterval` {settings.PollInterval.TotalMilliseconds:0} ms, pointing at a fake relay in the load generator's process on 127.0.0.1 that speaks the unified format (`POST /v1/video/create`, `GET /v1/video/query?id=`, and a CDN route serving a real 1 s 320×240 H.264 MP4). Each fake job completes {job:0.#} s after its submission however often it is asked, as a real upstream's does, so the polls it receives measure the poller alone.");
        Line($"- A live-mode key creates {settings.Tasks} `grok-video-3` tasks back to back; the client asks `GET /v1/video/query` about each unfinished one every 0.5 s until all have ended (at most 90 s). Times come from Reelay's `created_at`/`completed_at` and the fake's clock (same machine, Unix ms), tied together by the upstream id in `GET /admin/tasks/{{id}}`.");
        Line($"- The fake reports progress growing with time. Reelay's first poll comes after `PollInterval`; from then on it aims each poll at the finish time the reported progress predicts (elapsed × remaining ÷ done, at least `PollInterval`). Without progress it would back off ×1.5 with ±20 % jitter: {string.Join(", ", schedule.Select(t => t.ToString("0.00", CultureInfo.InvariantCulture)))} s after submission, {schedule.Count} polls for a {job:0.#} s job.");
        Line($"");
        Line($"| poll budget | tasks completed | upstream polls | polls per completed task | ideal | polls answered \"processing\" | create → completed, mean | p95 |");
        Line($"|---|--:|--:|--:|--:|--:|--:|--:|");
        foreach (var v in variants)
        {
            var total = v.Timings.Select(t => t.CompletedAt - t.CreatedAt).ToList();
            Line($"| {Budget(v)} | {v.Completed} of {v.Tasks} | {v.Polls} | {(double)v.Polls / Math.Max(1, v.Completed):0.00} | 1 | {v.Timings.Sum(t => t.PollsBeforeFinish)} | {Mean(total) / 1000:0.00} s | {P95(total) / 1000:0.00} s |");
        }

        Line($"");
        Line($"Where the time from create to completed goes, mean / p95 over completed tasks:");
        Line($"");
        Line($"| poll budget | created → submitted upstream | upstream job | job finished → the poll that saw it | that poll → completed (download, ffprobe, thumbnail) |");
        Line($"|---|--:|--:|--:|--:|");
        foreach (var v in variants)
        {
            Line($"| {Budget(v)} | {Stage(v, t => t.SubmittedAt - t.CreatedAt)} | {Stage(v, t => t.FinishesAt - t.SubmittedAt)} | {Stage(v, t => t.SeenAt - t.FinishesAt)} | {Stage(v, t => t.CompletedAt - t.SeenAt)} |");
        }

        foreach (var v in variants.Where(v => v.FirstFailure is not null))
        {
            Line($"");
            Line($"Budget {Budget(v)}: {v.Failures} task(s) did not complete; first: `{v.FirstFailure}`");
        }

        foreach (var v in variants.Where(v => v.PollsPerMinute > 0))
        {
            var minutes = v.PollSpan.TotalMinutes;
            // Reelay's budgets burst to ten seconds' worth (ChannelState.NewBudget).
            var burst = Math.Max(1, (v.PollsPerMinute + 5) / 6);
            var allowed = (v.PollsPerMinute * minutes) + burst;
            var excess = v.WorstExcessOverRefill;
            Line($"");
            Line($"Budget {Budget(v)} (a token bucket: {burst} at once, then one every {60.0 / v.PollsPerMinute:0.##} s): the fake received {v.Polls} polls from the first to the last, {v.PollSpan.TotalSeconds:0.0} s apart; the budget allows {v.PollsPerMinute} × {minutes:0.00} min + {burst} burst = {allowed:0.0} — {(v.Polls <= allowed ? "within" : "OVER")} budget. Over every stretch between two polls, the most polls beyond the stretch's refill was {excess:0.0} (the burst allows {burst} + the token in hand): {(excess <= burst + 1 ? "within" : "OVER")}.");
        }

        var free = variants.FirstOrDefault(v => v.PollsPerMinute == 0 && v.Completed > 0);
        var capped = variants.FirstOrDefault(v => v.PollsPerMinute > 0 && v.Completed > 0);
        if (free is not null)
        {
            var lag = Mean([.. free.Timings.Select(t => t.SeenAt - t.FinishesAt)]);
            var finishing = Mean([.. free.Timings.Select(t => t.CompletedAt - t.SeenAt)]);
            Line($"");
            Line($"What it means: the ideal, a single poll exactly when each job finishes, costs 1 poll per task and adds no delay. Without a budget Reelay spent {(double)free.Polls / free.Completed:0.00} polls per task ({free.Timings.Sum(t => t.PollsBeforeFinish)} of its {free.Polls} polls found the job still running) and saw a finished job {lag / 1000:0.00} s after it finished on average; after that, Reelay's own finishing (download, ffprobe, thumbnail, with the videos queued for the finisher) took {finishing / 1000:0.00} s on average.");
            if (capped is not null)
            {
                var cappedLag = Mean([.. capped.Timings.Select(t => t.SeenAt - t.FinishesAt)]);
                Line($"With a binding budget of {capped.PollsPerMinute}/min the channel's upstream traffic stayed capped ({(double)capped.Polls / capped.Completed:0.00} polls per task) and the cost moved to latency: a finished job waited {cappedLag / 1000:0.00} s on average for its turn to be polled.");
            }
        }
    }

    /// <summary>Poll offsets (s after submission) of the poller's schedule without jitter, through the first poll at or after the job's end.</summary>
    private static List<double> UnjitteredSchedule(TimeSpan pollInterval, TimeSpan job)
    {
        var offsets = new List<double>();
        var at = 0.0;
        var wait = pollInterval.TotalSeconds;
        while (offsets.Count < 100 && (offsets.Count == 0 || offsets[^1] < job.TotalSeconds))
        {
            at += wait;
            offsets.Add(at);
            wait *= 1.5;
        }

        return offsets;
    }

    private static string Stage(PollingFigures v, Func<TaskTiming, long> milliseconds)
    {
        var values = v.Timings.Select(milliseconds).ToList();
        return FormattableString.Invariant($"{Mean(values) / 1000:0.00} / {P95(values) / 1000:0.00} s");
    }

    private static double Mean(List<long> values) => values.Count == 0 ? double.NaN : values.Average();

    /// <summary>Nearest-rank 95th percentile.</summary>
    private static double P95(List<long> values)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(0.95 * sorted.Count) - 1, 0, sorted.Count - 1)];
    }

    private static string CpuModel()
    {
        const string CpuInfo = "/proc/cpuinfo";
        if (File.Exists(CpuInfo))
        {
            foreach (var line in File.ReadLines(CpuInfo))
            {
                if (line.StartsWith("model name", StringComparison.Ordinal) && line.IndexOf(':', StringComparison.Ordinal) is var colon and > 0)
                {
                    return line[(colon + 1)..].Trim();
                }
            }
        }

        return RuntimeInformation.ProcessArchitecture.ToString();
    }
}
