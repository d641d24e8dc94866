using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Reelay.Testing;
using Reelay.Testing.Fakes;

namespace Reelay.Bench;

/// <summary>The tasks-in-flight run (<c>--only inflight</c>).</summary>
/// <param name="Tasks">Tasks created through the API.</param>
/// <param name="ShortestJob">The shortest upstream job: each finishes this long or up to <paramref name="LongestJob"/> after its submission.</param>
/// <param name="ShareWithoutProgress">Share of the jobs that report no progress while they run.</param>
/// <param name="CreateConcurrency">Creates in flight at once.</param>
/// <param name="WaitLimit">From the first create, how long the run waits for every task to end before it reports what did.</param>
internal sealed record InflightSettings(int Tasks, TimeSpan ShortestJob, TimeSpan LongestJob, double ShareWithoutProgress, int CreateConcurrency, TimeSpan WaitLimit)
{
    public static readonly InflightSettings Default = new(10_000, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(120), 0.5, 16, TimeSpan.FromMinutes(6));
}

/// <summary>One task's life on both clocks (Unix ms): Reelay's (created, completed) and the fake upstream's (submitted, finished, seen).</summary>
/// <param name="SeenAt">The first poll after the job finished; null when no poll came after it.</param>
/// <param name="CompletedAt">When Reelay marked it completed; null when it had not by the end of the run.</param>
/// <param name="Polls">Polls the fake received for this job.</param>
/// <param name="PollsBeforeFinish">Of those, the ones answered "processing".</param>
internal sealed record InflightJob(long CreatedAt, long SubmittedAt, long FinishesAt, long? SeenAt, long? CompletedAt, int Polls, int PollsBeforeFinish, bool ReportsProgress);

/// <summary>Reelay's process at one moment: CPU seconds used so far by it and by the children it has reaped (ffprobe, ffmpeg), and its resident memory.</summary>
internal sealed record ProcessSample(long At, double CpuSeconds, double ChildCpuSeconds, long ResidentBytes);

/// <summary>What the tasks-in-flight run measured.</summary>
/// <param name="Creating">From the first create sent to the last answered.</param>
/// <param name="Waited">From the first create to the end of the wait (all tasks ended, or the limit).</param>
/// <param name="Refused">Creates answered with anything but 200, with the first answer.</param>
/// <param name="Stages">Tasks per stage at the end of the wait.</param>
/// <param name="Jobs">One per task that reached the upstream.</param>
/// <param name="PollTimes">Every poll the fake received (Unix ms), in order.</param>
internal sealed record InflightFigures(
    InflightSettings Settings,
    long StartedAt,
    TimeSpan Creating,
    TimeSpan Waited,
    int Refused,
    string? FirstRefusal,
    IReadOnlyDictionary<string, int> Stages,
    int Submissions,
    IReadOnlyList<InflightJob> Jobs,
    IReadOnlyList<long> PollTimes,
    IReadOnlyList<ProcessSample> Samples,
    long PeakResidentBytes,
    string? LoadBefore,
    string? LoadAfter);

/// <summary>
/// Ten thousand upstream jobs in flight at once: Reelay (SQLite, engine on, shipped poll settings) with
/// one unified-relay channel to the kit's <see cref="FakeUnifiedRelayServer"/>, whose jobs finish 30–120 s
/// after submission by its own clock however often they are asked, half of them reporting progress.
/// A live key creates the tasks through the API; the run waits until every task has ended (or the wait
/// limit) and then ties Reelay's rows to the fake's jobs by upstream id. Reelay's CPU time and memory
/// come from <c>/proc</c>, sampled every second.
/// </summary>
internal static class InflightBenchmark
{
    private const string CreateBody = """
        {"model":"grok-video-3","prompt":"A red fox trotting through fresh snow at dusk","aspect_ratio":"3:2","size":"720P","images":[]}
        """;

    /// <summary>Linux reports process times in clock ticks of 1/100 s (USER_HZ, fixed by the kernel's ABI).</summary>
    private const double TicksPerSecond = 100;

    /// <summary>Buckets of the timeline table.</summary>
    private static readonly TimeSpan Bucket = TimeSpan.FromSeconds(30);

    public static async Task<InflightFigures> RunAsync(BenchOptions options)
    {
        var settings = options.Inflight;
        await using var relay = await FakeUnifiedRelayServer.StartNewAsync(CancellationToken.None);
        relay.JobDurations = (settings.ShortestJob, settings.LongestJob);
        relay.ShareWithoutProgress = settings.ShareWithoutProgress;
        var dataDir = Benchmark.NewDataDirectory();
        try
        {
            var adminKey = "sk-admin-bench-" + Guid.NewGuid().ToString("N");
            var url = Benchmark.LoopbackUrl();
            var environment = Benchmark.ServerEnvironment(url, dataDir, adminKey, new Dictionary<string, string>
            {
                ["REELAY_Channels__0__Name"] = "relay",
                ["REELAY_Channels__0__Provider"] = "unified",
                ["REELAY_Channels__0__BaseUrl"] = relay.BaseUrl.ToString(),
                ["REELAY_Channels__0__ApiKey"] = "sk-relay-bench",
            });
            var loadBefore = Benchmark.LoadAverage();
            await using var reelay = await Benchmark.StartServerAsync(url, [options.ServerDll], environment, dataDir);
            using var client = LoadGenerator.CreateClient(url, settings.CreateConcurrency);
            var key = await ClientKeys.CreateAsync(client, adminKey, "live", "bench");
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key.Key);

            using var stopSampling = new CancellationTokenSource();
            var samples = new List<ProcessSample>();
            var sampling = SampleAsync(reelay.Id, samples, stopSampling.Token);

            Console.WriteLine($"In flight: creating {settings.Tasks:N0} tasks ({settings.CreateConcurrency} at once), jobs of {settings.ShortestJob.TotalSeconds:0}–{settings.LongestJob.TotalSeconds:0} s…");
            var startedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var started = Stopwatch.GetTimestamp();
            var (refused, firstRefusal) = await CreateAllAsync(client, settings);
            var creating = Stopwatch.GetElapsedTime(started);
            Console.WriteLine(FormattableString.Invariant($"  {settings.Tasks - refused:N0} created in {creating.TotalSeconds:0.0} s ({refused} refused{(firstRefusal is null ? "" : ": " + firstRefusal)})"));

            var database = Path.Combine(dataDir, "reelay.db");
            var created = settings.Tasks - refused;
            Dictionary<string, int> stages;
            var lastReport = TimeSpan.Zero;
            while (true)
            {
                stages = await StagesAsync(database);
                var ended = stages.GetValueOrDefault("completed") + stages.GetValueOrDefault("failed") + stages.GetValueOrDefault("cancelled");
                var elapsed = Stopwatch.GetElapsedTime(started);
                if (reelay.HasExited)
                {
                    throw new InvalidOperationException($"Reelay exited during the run. Its last output:\n{reelay.Output}");
                }

                if (elapsed - lastReport >= TimeSpan.FromSeconds(15))
                {
                    lastReport = elapsed;
                    Console.WriteLine(FormattableString.Invariant($"  {elapsed.TotalSeconds,4:0} s: {string.Join(", ", stages.Select(s => $"{s.Key} {s.Value:N0}"))}; {relay.Polls:N0} polls so far"));
                }

                if (ended >= created || elapsed >= settings.WaitLimit)
                {
                    break;
                }

                await Task.Delay(TimeSpan.FromSeconds(2));
            }

            var waited = Stopwatch.GetElapsedTime(started);
            await stopSampling.CancelAsync();
            await sampling;
            var peak = PeakResidentBytes(reelay.Id);
            var jobs = new List<InflightJob>();
            foreach (var row in await RowsAsync(database))
            {
                if (row.UpstreamId is null || relay.FindJob(row.UpstreamId) is not { FinishesAt: { } finishesAt } job)
                {
                    continue;
                }

                var polls = job.PollTimes;
                jobs.Add(new InflightJob(
                    row.CreatedAt, job.SubmittedAt, finishesAt, job.SeenAt, row.Stage == "completed" ? row.CompletedAt : null,
                    polls.Count, polls.Count(t => t < finishesAt), job.ReportsProgress));
            }

            return new InflightFigures(
                settings, startedAt, creating, waited, refused, firstRefusal, stages, relay.Submissions, jobs, relay.PollTimes,
                samples, peak, loadBefore, Benchmark.LoadAverage());
        }
        finally
        {
            Benchmark.DeleteDataDirectory(dataDir);
        }
    }

    /// <summary>Creates the tasks with bounded concurrency; a refused create is counted, not retried.</summary>
    private static async Task<(int Refused, string? First)> CreateAllAsync(HttpClient client, InflightSettings settings)
    {
        var next = -1;
        var refused = 0;
        string? first = null;
        async Task WorkerAsync()
        {
            while (Interlocked.Increment(ref next) < settings.Tasks)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/v1/video/create", UriKind.Relative))
                {
                    Content = new StringContent(CreateBody, Encoding.UTF8, "application/json"),
                };
                using var response = await client.SendAsync(request);
                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref refused);
                    var text = await response.Content.ReadAsStringAsync();
                    Interlocked.CompareExchange(ref first, $"{(int)response.StatusCode}: {text}", null);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, settings.CreateConcurrency).Select(_ => Task.Run(WorkerAsync)));
        return (refused, first);
    }

    /// <summary>Reads Reelay's CPU times and memory every second until stopped.</summary>
    private static async Task SampleAsync(int pid, List<ProcessSample> samples, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            do
            {
                if (Sample(pid) is { } sample)
                {
                    samples.Add(sample);
                }
            }
            while (await timer.WaitForNextTickAsync(stop));
        }
        catch (OperationCanceledException)
        {
            // The run ended; one last sample closes the series.
        }

        if (Sample(pid) is { } last)
        {
            samples.Add(last);
        }
    }

    /// <summary>
    /// utime, stime, cutime and cstime from <c>/proc/&lt;pid&gt;/stat</c> (fields 14–17, counted after the
    /// command name, which may hold spaces) and VmRSS from <c>/proc/&lt;pid&gt;/status</c>.
    /// </summary>
    private static ProcessSample? Sample(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            double Ticks(int field) => long.Parse(fields[field - 3], CultureInfo.InvariantCulture) / TicksPerSecond;
            return new ProcessSample(
                DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), Ticks(14) + Ticks(15), Ticks(16) + Ticks(17), StatusBytes(pid, "VmRSS:"));
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static long PeakResidentBytes(int pid) => StatusBytes(pid, "VmHWM:");

    private static long StatusBytes(int pid, string field)
    {
        var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }

    private static async Task<Dictionary<string, int>> StagesAsync(string database)
    {
        await using var connection = QueueBenchmark.Open(database);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT stage, COUNT(*) FROM tasks GROUP BY stage ORDER BY stage";
        await using var reader = await command.ExecuteReaderAsync();
        var stages = new Dictionary<string, int>(StringComparer.Ordinal);
        while (await reader.ReadAsync())
        {
            stages[reader.GetString(0)] = reader.GetInt32(1);
        }

        return stages;
    }

    private sealed record TaskRow(string Stage, long CreatedAt, long? CompletedAt, string? UpstreamId);

    private static async Task<List<TaskRow>> RowsAsync(string database)
    {
        await using var connection = QueueBenchmark.Open(database);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT stage, created_at, completed_at, upstream_id FROM tasks";
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<TaskRow>();
        while (await reader.ReadAsync())
        {
            rows.Add(new TaskRow(
                reader.GetString(0), reader.GetInt64(1),
                reader.IsDBNull(2) ? null : reader.GetInt64(2),
                reader.IsDBNull(3) ? null : reader.GetString(3)));
        }

        return rows;
    }

    /// <summary>The section of RESULTS.md.</summary>
    public static string Section(BenchOptions options, InflightFigures f)
    {
        var s = f.Settings;
        var text = new StringBuilder();
        void Line(FormattableString line) => text.Append(FormattableString.Invariant(line)).Append('\n');
        static string Seconds(double? ms) => ms is { } v && !double.IsNaN(v) ? FormattableString.Invariant($"{v / 1000:0.0} s") : "–";

        var completed = f.Jobs.Where(j => j.CompletedAt is not null).ToList();
        var seen = f.Jobs.Where(j => j.SeenAt is not null).ToList();
        var withProgress = seen.Where(j => j.ReportsProgress).ToList();
        var withoutProgress = seen.Where(j => !j.ReportsProgress).ToList();
        var first = f.Samples.Count > 0 ? f.Samples[0] : new ProcessSample(f.StartedAt, 0, 0, 0);
        var last = f.Samples.Count > 0 ? f.Samples[^1] : first;
        var cpu = last.CpuSeconds - first.CpuSeconds;
        var childCpu = last.ChildCpuSeconds - first.ChildCpuSeconds;
        var serialRound = TimeSpan.FromSeconds(f.Jobs.Count);

        Line($"");
        Line($"## {Heading}");
        Line($"- Reelay (`dotnet Reelay.Server.dll`, SQLite in WAL mode, engine on, shipped settings: the unified provider's first poll after 5 s, backing off ×1.5 to at most 30 s, or aimed at the finish the reported progress predicts, within those bounds; no poll budget) with one `unified` channel to the kit's fake relay in the load generator's process on 127.0.0.1. Each fake job finishes at a time drawn uniformly between {s.ShortestJob.TotalSeconds:0} and {s.LongestJob.TotalSeconds:0} s after its submission, by the fake's clock however often it is asked; {1 - s.ShareWithoutProgress:P0} of them report progress (elapsed ÷ duration), the others a bare `processing`. The fake counts the polls each job receives and knows its finish time; its result is a real 1 s 320×240 H.264 MP4 (a few kB), so the finisher's download is small, but it runs ffprobe and takes a thumbnail with ffmpeg for every video, as for any other.");
        Line($"- A live key creates {s.Tasks:N0} `grok-video-3` tasks through `POST /v1/video/create`, {s.CreateConcurrency} at a time; the run then waits until every task has ended, at most {s.WaitLimit.TotalMinutes:0.#} min from the first create, reading the task counts per stage from Reelay's database (read-only). Times come from Reelay's `created_at`/`completed_at` and the fake's clock (same machine, Unix ms), tied together by the upstream id. CPU seconds and resident memory of Reelay's process from `/proc/<pid>/stat` and `/proc/<pid>/status`, sampled every second; ffprobe and ffmpeg run as its children, counted apart.");
        Line($"- The load generator, the fake relay (every request it receives recorded) and Reelay share this 2-core machine, so every figure here is for this run, under its load: 1-minute load average {f.LoadBefore ?? "–"} before the run, {f.LoadAfter ?? "–"} after it.");
        Line($"");
        Line($"| tasks created | in | refused | reached the upstream | seen finished by a poll | completed | failed | still running or finishing | waited |");
        Line($"|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        var unfinished = f.Stages.Where(p => p.Key is not ("completed" or "failed" or "cancelled")).Sum(p => p.Value);
        Line($"| {s.Tasks - f.Refused:N0} | {f.Creating.TotalSeconds:0.0} s | {f.Refused:N0} | {f.Jobs.Count:N0} | {seen.Count:N0} | {completed.Count:N0} | {f.Stages.GetValueOrDefault("failed") + f.Stages.GetValueOrDefault("cancelled"):N0} | {unfinished:N0} | {f.Waited.TotalSeconds:0} s |");
        if (f.FirstRefusal is not null)
        {
            Line($"");
            Line($"First refused create: `{f.FirstRefusal}`");
        }

        Line($"");
        Line($"| jobs | polls per job up to the one that saw it finished | of them answered \"processing\" | upstream finish → that poll, p50 | p99 | upstream finish → `completed`, p50 | p99 |");
        Line($"|---|--:|--:|--:|--:|--:|--:|");
        foreach (var (label, group) in (ReadOnlySpan<(string, List<InflightJob>)>)[("reporting progress", withProgress), ("without progress", withoutProgress), ("all", seen)])
        {
            var done = group.Where(j => j.CompletedAt is not null).Select(j => (double)(j.CompletedAt!.Value - j.FinishesAt)).ToList();
            var lag = group.Select(j => (double)(j.SeenAt!.Value - j.FinishesAt)).ToList();
            Line($"| {label} ({group.Count:N0}) | {Ratio(group.Sum(j => j.PollsBeforeFinish + 1), group.Count)} | {Ratio(group.Sum(j => j.PollsBeforeFinish), group.Count)} | {Seconds(Percentile(lag, 0.50))} | {Seconds(Percentile(lag, 0.99))} | {Seconds(Percentile(done, 0.50))} | {Seconds(Percentile(done, 0.99))} |");
        }

        Line($"");
        var upToSeen = seen.Sum(j => j.PollsBeforeFinish + 1);
        Line($"Over the whole run the fake received {f.PollTimes.Count:N0} polls and {f.Submissions:N0} submissions. {upToSeen:N0} of the polls were those up to and including the one that saw each job finished, {Ratio(upToSeen, seen.Count)} per job (the ideal, one poll exactly when each job finishes, is 1); {f.PollTimes.Count - upToSeen:N0} came after it (a job seen finished is the finisher's, not polled again). The finish → `completed` figures are over the tasks completed by the end of the wait only{(completed.Count < seen.Count ? ", the earliest to finish, since the finisher's queue had not drained" : "")}. Reelay's process used {cpu:0.0} CPU seconds ({Ratio(cpu * 1000, f.PollTimes.Count + f.Submissions)} ms per upstream call, creates, finishes and everything else included) and its ffprobe/ffmpeg children {childCpu:0.0} s; peak resident memory (VmHWM) {f.PeakResidentBytes / 1048576.0:0} MiB.");
        Line($"");
        Line($"Timeline, {Bucket.TotalSeconds:0} s per row from the first create: jobs in flight upstream in the middle of the row (submitted, not yet finished by the fake's clock), polls the fake received per second, jobs finishing, finished jobs seen by a poll, tasks completed, and Reelay's CPU use.");
        Line($"");
        Line($"| from – to | jobs in flight (mid-row) | polls/s | polls/s per 1,000 jobs in flight | jobs finishing | seen finished | completed | Reelay CPU (own, % of one core) |");
        Line($"|---|--:|--:|--:|--:|--:|--:|--:|");
        var end = f.StartedAt + (long)f.Waited.TotalMilliseconds;
        var bucketMs = (long)Bucket.TotalMilliseconds;
        for (var from = f.StartedAt; from < end; from += bucketMs)
        {
            var to = Math.Min(from + bucketMs, end);
            var span = (to - from) / 1000.0;
            var middle = (from + to) / 2;
            var inFlight = f.Jobs.Count(j => j.SubmittedAt <= middle && j.FinishesAt > middle);
            var polls = CountBetween(f.PollTimes, from, to);
            var cpuShare = CpuBetween(f.Samples, from, to);
            Line($"| {(from - f.StartedAt) / 1000} – {(to - f.StartedAt) / 1000} s | {inFlight:N0} | {polls / span:0} | {(inFlight == 0 ? "–" : (polls / span * 1000 / inFlight).ToString("0.0", CultureInfo.InvariantCulture))} | {f.Jobs.Count(j => j.FinishesAt >= from && j.FinishesAt < to):N0} | {f.Jobs.Count(j => j.SeenAt >= from && j.SeenAt < to):N0} | {f.Jobs.Count(j => j.CompletedAt >= from && j.CompletedAt < to):N0} | {(cpuShare is { } c ? c.ToString("P0", CultureInfo.InvariantCulture) : "–")} |");
        }

        Line($"");
        Line($"What it means: a task costs polls when it is due, not for being in the table: the poller claims due rows by the `(stage, next_at)` index, so the polls per second follow the jobs in flight divided by their poll interval (at most 30 s each here), and a job that reports progress is polled again near the finish it predicts, which is why those jobs are seen within seconds of finishing while the ones without progress wait up to one backed-off interval. A relay of the new-api family polls its backlog serially with a 1 s sleep per task: {f.Jobs.Count:N0} tasks in flight make one round take {serialRound.TotalHours:0.0} h ({serialRound.TotalMinutes:0} min) at 1 poll/s, so a finished job waits {serialRound.TotalMinutes / 2:0} min on average to be noticed, however few are due; Reelay spends more polls per second (as many as the jobs due) and sees each finished job within the delays above. The completions lag the detections by the finisher's queue: every video is probed with ffprobe and gets an ffmpeg thumbnail, {Ratio(childCpu, completed.Count)} CPU s each here, with `Engine:FinishConcurrency` 2 at a time on this box.");
        return text.ToString();
    }

    /// <summary>The section's heading, as the page names it.</summary>
    public const string Heading = "Thousands of upstream tasks in flight";

    private static string Ratio(double value, int count) => count == 0 ? "–" : (value / count).ToString("0.00", CultureInfo.InvariantCulture);

    private static int CountBetween(IReadOnlyList<long> sorted, long from, long to) => sorted.Count(t => t >= from && t < to);

    /// <summary>Reelay's own CPU seconds per second between two moments, from the samples nearest them.</summary>
    private static double? CpuBetween(IReadOnlyList<ProcessSample> samples, long from, long to)
    {
        var a = samples.LastOrDefault(x => x.At <= from) ?? (samples.Count > 0 ? samples[0] : null);
        var b = samples.LastOrDefault(x => x.At <= to);
        return a is null || b is null || b.At <= a.At ? null : (b.CpuSeconds - a.CpuSeconds) / ((b.At - a.At) / 1000.0);
    }

    /// <summary>Nearest-rank percentile; NaN for none.</summary>
    private static double Percentile(List<double> values, double fraction)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        values.Sort();
        return values[Math.Clamp((int)Math.Ceiling(fraction * values.Count) - 1, 0, values.Count - 1)];
    }
}
