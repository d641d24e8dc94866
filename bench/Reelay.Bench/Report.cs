using System.Globalization;
using System.Runtime;
using System.Runtime.InteropServices;
using System.Text;

namespace Reelay.Bench;

/// <summary>
/// Writes RESULTS.md: where and how the run happened, the ratios against the aims, the throughput
/// measurements (wrk and the .NET generator), file links, allocations and the API beside running
/// renders, then the upstream polls spent per completed task, then what a queue of local renders
/// costs the database.
/// </summary>
internal static partial class Report
{
    /// <summary>Query of a finished task as a share of the bare GET (wrk): served from memory, it should cost little more than the framework.</summary>
    private const double QueryAim = 0.60;

    /// <summary>Create as a share of the bare POST (wrk): each create is a durable SQLite commit.</summary>
    private const double CreateAim = 0.35;

    /// <summary>Create as a share of the bare POST while local renders run beside it (wrk).</summary>
    private const double CreateRenderingAim = 0.25;

    /// <summary>The API's share (against the bare endpoint) while renders run, as a share of its share with no renders: renders must not starve the API.</summary>
    private const double RenderingShareAim = 0.70;

    /// <summary>A file through a signed link as a share of ASP.NET Core's static file serving (bytes/s).</summary>
    private const double FileShareAim = 0.80;

    public static string Write(BenchOptions options, RunFigures figures, IReadOnlyList<PollingFigures> polling, QueueFigures queue)
    {
        var text = new StringBuilder();
        void Line(FormattableString line) => text.Append(FormattableString.Invariant(line)).Append('\n');

        Line($"# Reelay benchmark");
        Line($"");
        Line($"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC by `bench/run`{(options.Revision is null ? "" : $" at revision `{options.Revision}`")}.");
        text.Append(ThroughputSections(options, figures));
        Polling(text, options.Polling, polling);
        text.Append(QueueSection(options.Queue, queue));
        return text.ToString();
    }

    /// <summary>Machine, settings, the aims, wrk's and the .NET generator's figures, files, allocations and renders.</summary>
    public static string ThroughputSections(BenchOptions options, RunFigures figures)
    {
        var load = options.Load;
        var wrk = options.Wrk;
        var text = new StringBuilder();
        void Line(FormattableString line) => text.Append(FormattableString.Invariant(line)).Append('\n');
        static string Load((string? Before, string? After) phase) => phase.Before is null ? "–" : $"{phase.Before} → {phase.After}";

        Line($"");
        Line($"## Machine");
        Line($"- CPU: {CpuModel()}, {Environment.ProcessorCount} logical cores");
        Line($"- OS: {RuntimeInformation.OSDescription} ({RuntimeInformation.OSArchitecture})");
        Line($"- .NET: {RuntimeInformation.FrameworkDescription}; server GC in both servers, {(GCSettings.IsServerGC ? "server" : "workstation")} GC in the .NET load generator");
        Line($"- The load generators and the servers under test run on this one machine and share its {Environment.ProcessorCount} cores, so the figures are for comparison within the run (hence the ratios), not a server's capacity.");
        if (figures.LoadAverageBefore is not null)
        {
            Line($"- 1-minute load average: {figures.LoadAverageBefore} before the run, {figures.LoadAverageAfter} after the throughput part; per phase below. A load well above what the run itself makes (about 2–3 here) means other processes shared the cores too.");
        }

        Line($"");
        Line($"## Settings");
        Line($"- **wrk** (Debian's `wrk`, as users' load tests run it): `-t{wrk.Threads} -c{wrk.Connections}`, HTTP/1.1 keep-alive on 127.0.0.1, a {wrk.Warmup.TotalSeconds:0} s warm-up run per measurement (discarded), then {wrk.Rounds} rounds of one {wrk.Window.TotalSeconds:0} s run each, rounds interleaving the measurements of a phase so background load hits them all alike. A Lua script formats every request once and rotates them; it stops a thread at {wrk.MaxRequestsPerThread:N0} requests (a bound, not reached in these runs unless flagged). Requests/s is the median round's; p50/p99 are that round's, from wrk's latency histogram. A figure against the aims is the median of the rounds' ratios: each round's measurement against the baseline run next to it in that round, under the same background load. The ratio of the two median rounds, which may be rounds apart, is shown beside it.");
        Line($"- **.NET load generator** (the bench's own closed loop, HttpClient): {load.Connections} connections, {load.Warmup.TotalSeconds:0} s warm-up, {load.Rounds} rounds of a {load.Window.TotalSeconds:0} s window capped at {load.MaxRequests:N0} requests. It is heavier than wrk on the shared cores, which pulls every ratio toward 1; both are reported.");
        Line($"- Baseline: a bare ASP.NET Core minimal API (`WebApplication.CreateSlimBuilder`, no middleware) in its own process, answering fixed JSON shaped like Reelay's: GET serializes an object with the query answer's fields, POST binds a JSON body (the same bytes as the create body) and answers `{{id, status, status_update_time}}`; `UseStaticFiles` serves the same video file Reelay serves.");
        Line($"- Reelay: the Release build run as `dotnet Reelay.Server.dll` with a fresh data directory (SQLite in WAL mode), `Engine:Enabled=false` (API only: no workers, no renders) and admission off (`Limits:MaxInFlightPerTestKey=0`, `Limits:LocalAdmission=false`: the unrendered creates would otherwise be refused as a backlog), shipped appsettings.json otherwise; every request authenticated with a test-mode key.");
        Line($"- Query, completed: {figures.CompletedTasks} tasks rendered for real just before (by the same data directory with its engine on), read in turn. Query, pending: {options.QueryTasks} tasks created just before, read in turn. Create sends `{{\"model\":\"reelay-preview\",\"prompt\":\"小猫在吃鱼 --mode=custom\",\"aspect_ratio\":\"3:2\",\"size\":\"720P\",\"images\":[]}}`, each one a committed insert.");
        Line($"- Files: a {figures.VideoBytes / 1e6:0.0} MB H.264 MP4 in Reelay's blob directory, fetched through a signed `/files/videos/…?exp=…&sig=…` link and from the baseline's `UseStaticFiles` (the same file); whole (8 connections: 64 × 50 MB in flight would not finish an answer within a window), and as `Range: {RangeDescription}` (64 connections). Compared by bytes/s.");
        Line($"- Renders running: a second Reelay with its engine on and the shipped render settings (`LocalRenderer:MaxConcurrentRenders` half the cores, ffmpeg at `Media:Niceness` 10), {options.RenderBacklog} test-mode renders (720P, 15 s) queued before the rounds; every measured create queues one more. Renders were {(figures.StillRenderingAtEnd ? "still running when the rounds ended" : "NOT all running to the end (the backlog ran out)")}.");
        Line($"");
        Line($"## Against the aims");
        Line($"| figure | wrk, median of the rounds' ratios | wrk, ratio of the median rounds | wrk, each round | .NET generator | aim | met |");
        Line($"|---|--:|--:|--:|--:|--:|:-:|");
        var names = Benchmark.Names.BaselineGet;
        Aim(text, "query, completed task / baseline GET", figures.Api, Benchmark.Names.QueryCompleted, names, figures.Dotnet, QueryAim);
        Aim(text, "create / baseline POST (engine off)", figures.Api, Benchmark.Names.Create, Benchmark.Names.BaselinePost, figures.Dotnet, CreateAim);
        Aim(text, "query, pending task / baseline GET", figures.Api, Benchmark.Names.QueryPending, names, figures.Dotnet, null);
        Aim(text, "/healthz / baseline GET", figures.Api, Benchmark.Names.Health, names, null, null);
        Aim(text, "create / baseline POST, renders running", figures.Renders, Benchmark.Names.CreateRendering, Benchmark.Names.BaselinePost, null, CreateRenderingAim);
        Share(text, "create with renders running / create API only (each against its baseline POST)", figures, Benchmark.Names.CreateRendering, Benchmark.Names.BaselinePost, Benchmark.Names.Create);
        Share(text, "query with renders running / query API only, pending tasks (each against its baseline GET)", figures, Benchmark.Names.QueryRendering, Benchmark.Names.BaselineGet, Benchmark.Names.QueryPending);
        FileRatio(text, "signed link / static file, whole 50 MB", figures.Files, Benchmark.Names.SignedFull, Benchmark.Names.StaticFull);
        FileRatio(text, "signed link / static file, Range 1 MiB", figures.Files, Benchmark.Names.SignedRange, Benchmark.Names.StaticRange);
        Line($"");
        Line($"## wrk");
        Line($"| phase | 1-min load before → after | measurement | answers (all rounds) | failed | requests/s | MB/s | p50 ms | p99 ms |");
        Line($"|---|---|---|--:|--:|--:|--:|--:|--:|");
        foreach (var (phase, results, phaseLoad) in new[] { ("API only", figures.Api, figures.ApiLoad), ("files", figures.Files, figures.FilesLoad), ("renders running", figures.Renders, figures.RendersLoad) })
        {
            foreach (var (name, runs) in results)
            {
                var median = WrkLoad.Median(runs);
                Line($"| {phase} | {Load(phaseLoad)} | {name} | {runs.Sum(r => r.Requests):N0} | {runs.Sum(r => r.Failed):N0} | {median.RequestsPerSecond:N0} | {median.BytesPerSecond / 1e6:N0} | {median.P50Ms:0.00} | {median.P99Ms:0.00} |");
            }
        }

        foreach (var run in new[] { figures.Api, figures.Files, figures.Renders }.SelectMany(r => r.Values).SelectMany(r => r).Where(r => r.Failure is not null || r.Capped).DistinctBy(r => r.Name))
        {
            Line($"");
            Line($"{run.Name}: {(run.Capped ? "reached the request cap; " : "")}{run.Failure}");
        }

        Line($"");
        Line($"## .NET load generator");
        Line($"| measurement | requests (all rounds) | failed | requests/s | p50 ms | p99 ms |");
        Line($"|---|--:|--:|--:|--:|--:|");
        foreach (var (name, windows) in figures.Dotnet)
        {
            var r = LoadResult.Combine(windows);
            Line($"| {name} | {r.SortedLatencies.Length:N0} | {r.Failed:N0} | {r.RequestsPerSecond:N0} | {r.P50Ms:0.00} | {r.P99Ms:0.00} |");
        }

        foreach (var r in figures.Dotnet.Values.Select(LoadResult.Combine).Where(r => r.FirstFailure is not null))
        {
            Line($"");
            Line($"First failure of {r.Name}: `{r.FirstFailure}`");
        }

        Line($"");
        Allocations(text, figures.Allocations);
        return text.ToString();
    }

    /// <summary>The allocations-per-request section (also all that <c>--only allocations</c> prints).</summary>
    public static void Allocations(StringBuilder text, IReadOnlyList<AllocationFigure> allocations)
    {
        void Line(FormattableString line) => text.Append(FormattableString.Invariant(line)).Append('\n');
        Line($"## Allocations per request");
        Line($"- Reelay hosted in the bench's own process (`ReelayApp`, real Kestrel socket) over the data directory above, engine off; a client that allocates nothing per request (one blocking socket, the request formatted once) sends them one at a time; `GC.GetTotalAllocatedBytes(precise: true)` before and after, over {(allocations.Count > 0 ? allocations[0].Requests : 0):N0} requests after a warm-up. What remains is the server's: Kestrel, middleware, authentication, the handler, the store.");
        Line($"- The largest types: a second pass of as many requests, sampled by the runtime's `GCAllocationTick` event (one per ~100 KB allocated, naming the type that crossed the mark), summed per type; namespaces and generic arities left out.");
        Line($"");
        Line($"| request | bytes allocated per request | largest types (share of the sampled bytes) |");
        Line($"|---|--:|---|");
        foreach (var a in allocations)
        {
            var types = string.Join("; ", a.LargestTypes.Take(3).Select(t => FormattableString.Invariant($"`{ShortTypeName(t.Type)}` {t.Share:P0}")));
            Line($"| {a.Name} | {a.BytesPerRequest:N0} | {types} |");
        }
    }

    /// <summary>A runtime type name without namespaces or generic arities (which would end a Markdown code span): <c>List`1[System.String]</c> → <c>List[String]</c>.</summary>
    private static string ShortTypeName(string type) => NamespacePrefix().Replace(type, "");

    [System.Text.RegularExpressions.GeneratedRegex(@"\b(?:[A-Za-z_][A-Za-z0-9_]*\.)+(?=[A-Za-z_<])|`[0-9]+")]
    private static partial System.Text.RegularExpressions.Regex NamespacePrefix();

    private const string RangeDescription = "bytes=25000000-26048575";

    private static double Median(IReadOnlyList<WrkResult> runs) => WrkLoad.Median(runs).RequestsPerSecond;

    private static void Aim(
        StringBuilder text, string label, Dictionary<string, List<WrkResult>> wrk, string measured, string baseline,
        Dictionary<string, List<LoadResult>>? dotnet, double? aim)
    {
        var rounds = RoundRatios.Of(wrk[measured], wrk[baseline], r => r.RequestsPerSecond);
        var ratio = RoundRatios.Median(rounds);
        var ofMedians = Median(wrk[measured]) / Median(wrk[baseline]);
        var failed = wrk[measured].Sum(r => r.Failed) > 0;
        var other = dotnet is not null && dotnet.TryGetValue(measured, out var m) && dotnet.TryGetValue(baseline, out var b)
            ? (LoadResult.Combine(m).RequestsPerSecond / LoadResult.Combine(b).RequestsPerSecond).ToString("P0", CultureInfo.InvariantCulture)
            : "–";
        var met = aim is null ? "–" : !failed && ratio >= aim ? "yes" : "no";
        var aimText = aim is null ? "–" : "≥ " + aim.Value.ToString("P0", CultureInfo.InvariantCulture);
        text.Append(FormattableString.Invariant($"| {label} | {ratio:P0} | {ofMedians:P0} | {RoundRatios.Each(rounds)} | {other} | {aimText} | {met} |")).Append('\n');
    }

    private static void Share(StringBuilder text, string label, RunFigures figures, string rendering, string baseline, string apiOnly)
    {
        var withRenders = Median(figures.Renders[rendering]) / Median(figures.Renders[baseline]);
        var without = Median(figures.Api[apiOnly]) / Median(figures.Api[baseline]);
        var share = withRenders / without;
        var met = figures.Renders[rendering].Sum(r => r.Failed) == 0 && share >= RenderingShareAim ? "yes" : "no";
        text.Append(FormattableString.Invariant(
            $"| {label} | {share:P0} | – | {withRenders:P0} vs {without:P0} | – | ≥ {RenderingShareAim:P0} | {met} |")).Append('\n');
    }

    private static void FileRatio(StringBuilder text, string label, Dictionary<string, List<WrkResult>> files, string signed, string plain)
    {
        static double Bytes(IReadOnlyList<WrkResult> runs) => runs.OrderBy(r => r.BytesPerSecond).ElementAt(runs.Count / 2).BytesPerSecond;
        var rounds = RoundRatios.Of(files[signed], files[plain], r => r.BytesPerSecond);
        var ratio = RoundRatios.Median(rounds);
        var ofMedians = Bytes(files[signed]) / Bytes(files[plain]);
        var met = files[signed].Sum(r => r.Failed) == 0 && ratio >= FileShareAim ? "yes" : "no";
        text.Append(FormattableString.Invariant(
            $"| {label} | {ratio:P0} | {ofMedians:P0} | {RoundRatios.Each(rounds)} | – | ≥ {FileShareAim:P0} | {met} |")).Append('\n');
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

    public static void Polling(StringBuilder text, PollingSettings settings, IReadOnlyList<PollingFigures> variants)
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

    /// <summary>
    /// Prints a section measured by an <c>--only</c> run and, with <c>--out</c>, puts it in place of its
    /// namesake on that page: the other figures stay those of the runs that measured them.
    /// </summary>
    public static async Task WriteSectionAsync(BenchOptions options, string section)
    {
        Console.WriteLine(section);
        if (options.OutputPath is { } path)
        {
            await File.WriteAllTextAsync(path, ReplaceSection(File.Exists(path) ? await File.ReadAllTextAsync(path) : "", section));
            Console.WriteLine($"Section written to {Path.GetFullPath(path)}");
        }
    }

    /// <summary><paramref name="page"/> followed by every <c>## </c> section of <paramref name="previous"/> whose heading it lacks.</summary>
    public static string KeepOtherSections(string page, string previous)
    {
        foreach (var section in Sections(previous))
        {
            var heading = section.TrimStart('\n').Split('\n')[0];
            if (!page.Contains("\n" + heading + "\n", StringComparison.Ordinal))
            {
                page = ReplaceSection(page, section);
            }
        }

        return page;
    }

    /// <summary>The <c>## </c> sections of a page, each starting with a blank line and its heading, as <see cref="ReplaceSection"/> takes them.</summary>
    private static IEnumerable<string> Sections(string page)
    {
        var start = page.IndexOf("\n## ", StringComparison.Ordinal);
        while (start >= 0)
        {
            var end = page.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
            var body = end < 0 ? page[(start + 1)..] : page[(start + 1)..end];
            yield return "\n" + body.TrimEnd('\n') + "\n";
            start = end;
        }
    }

    /// <summary>The page with <paramref name="section"/> (which starts with a blank line and its <c>## </c> heading) in place of the section of that heading, or added at its end.</summary>
    public static string ReplaceSection(string page, string section)
    {
        var heading = section.TrimStart('\n').Split('\n')[0];
        var start = page.IndexOf("\n" + heading + "\n", StringComparison.Ordinal);
        if (start < 0)
        {
            return page.TrimEnd('\n') + "\n" + section;
        }

        var end = page.IndexOf("\n## ", start + heading.Length + 1, StringComparison.Ordinal);
        var before = page[..start].TrimEnd('\n') + "\n";
        return end < 0 ? before + section : before + section + page[end..];
    }
}
