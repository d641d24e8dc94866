using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Reelay.Testing;

namespace Reelay.Bench;

/// <summary>How many waits the waiting run holds open, on how many tasks.</summary>
internal sealed record WaitingSettings(int Streams, int Polls, int Tasks, int CancelsAtOnce);

/// <summary>What the waiting run measured.</summary>
/// <param name="Wakes">Milliseconds from sending a task's cancel to each of its waiters having the cancelled state, sorted.</param>
/// <param name="Missed">Waiters that never saw the change (a long-poll that timed out, a stream that ended without it).</param>
internal sealed record WaitingFigures(
    WaitingSettings Settings, long RssBeforeBytes, long RssOpenBytes, int ThreadsBefore, int ThreadsOpen, int ThreadsAfter,
    double[] Wakes, int Missed, LoadResult HealthIdle, LoadResult HealthUnderWaits, TimeSpan OpenTime);

/// <summary>
/// Waits held open at scale: Reelay (API only, so nothing but the bench changes a task) with thousands of
/// event streams and long-polls (<c>wait=60</c>) on a few hundred pending tasks, then every task cancelled
/// through the API — the same terminal transition and the same notice as any other end. Measures the
/// server's resident memory per open wait, how long each waiter takes to have the change, and whether the
/// thread pool starves: its thread count (the pool injects threads when work queues up behind blocked
/// ones) and the latency of a plain request while the waits are open against the same with none.
/// </summary>
internal static class WaitingBenchmark
{
    /// <summary>Every waiter woken within this long of the change, at p99.</summary>
    public const double AimP99Ms = 100;

    public static async Task<WaitingFigures> RunAsync(BenchOptions options)
    {
        var settings = options.Waiting;
        var dataDir = Benchmark.NewDataDirectory();
        try
        {
            var adminKey = "sk-admin-bench-" + Guid.NewGuid().ToString("N");
            var url = Benchmark.LoopbackUrl();
            await using var reelay = await Benchmark.StartServerAsync(
                url, [options.ServerDll], Benchmark.ApiOnlyEnvironment(url, dataDir, adminKey, new Dictionary<string, string>()), dataDir);
            using var setup = new HttpClient { BaseAddress = url };
            var key = (await ClientKeys.CreateAsync(setup, adminKey, "test", "bench")).Key;
            var waits = settings.Streams + settings.Polls;
            using var client = LoadGenerator.CreateClient(url, waits + 64);
            client.Timeout = TimeSpan.FromSeconds(120);
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var probe = LoadGenerator.CreateClient(url, 8);

            var ids = new List<string>();
            for (var i = 0; i < settings.Tasks; i++)
            {
                using var created = await client.PostAsync("/v1/video/create", Json($$"""{"model":"reelay-preview","prompt":"wait {{i}}","size":"480P","duration":1}"""));
                ids.Add(JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!);
            }

            var health = new Uri("/healthz", UriKind.Relative);
            var probeLoad = options.Load with { Connections = 8 };
            await LoadGenerator.WarmUpAsync("healthz", probe, _ => new HttpRequestMessage(HttpMethod.Get, health), HttpStatusCode.OK, probeLoad);
            var healthIdle = await LoadGenerator.MeasureAsync("healthz, no waits open", probe, _ => new HttpRequestMessage(HttpMethod.Get, health), HttpStatusCode.OK, probeLoad);
            var (rssBefore, threadsBefore) = Sample(reelay.Id);
            Console.WriteLine($"Waiting: Reelay (API only) at {url}; {settings.Tasks} pending tasks, {settings.Streams} event streams and {settings.Polls} long-polls to open.");

            // The change each waiter answers to: the instant its task's cancel was sent.
            var cancelSentAt = new long[ids.Count];
            var seenAt = new List<(int Task, long At)>(waits);
            var missed = 0;
            var opened = new CountdownEvent(settings.Streams);
            var started = Stopwatch.GetTimestamp();
            using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            var waiters = new List<Task>(waits);
            for (var i = 0; i < settings.Streams; i++)
            {
                var task = i % ids.Count;
                waiters.Add(StreamAsync(client, ids[task], opened, stop.Token).ContinueWith(done => Record(task, done), TaskScheduler.Default));
            }

            opened.Wait(stop.Token);
            for (var i = 0; i < settings.Polls; i++)
            {
                var task = i % ids.Count;
                waiters.Add(LongPollAsync(client, ids[task], stop.Token).ContinueWith(done => Record(task, done), TaskScheduler.Default));
            }

            // A long-poll's wait begins once the server has read the request; give the last ones time to get there.
            await Task.Delay(TimeSpan.FromSeconds(3));
            var openTime = Stopwatch.GetElapsedTime(started);
            var (rssOpen, threadsOpen) = Sample(reelay.Id);
            var healthUnderWaits = await LoadGenerator.MeasureAsync("healthz, all waits open", probe, _ => new HttpRequestMessage(HttpMethod.Get, health), HttpStatusCode.OK, probeLoad);

            for (var first = 0; first < ids.Count; first += settings.CancelsAtOnce)
            {
                await Task.WhenAll(Enumerable.Range(first, Math.Min(settings.CancelsAtOnce, ids.Count - first)).Select(async task =>
                {
                    cancelSentAt[task] = Stopwatch.GetTimestamp();
                    using var cancelled = await client.PostAsync("/v1/video/cancel", Json($$"""{"id":"{{ids[task]}}"}"""));
                    cancelled.EnsureSuccessStatusCode();
                }));
            }

            await Task.WhenAll(waiters);
            var threadsAfter = Sample(reelay.Id).Threads;
            double[] wakes;
            lock (seenAt)
            {
                wakes = [.. seenAt.Select(s => Stopwatch.GetElapsedTime(cancelSentAt[s.Task], s.At).TotalMilliseconds).Order()];
            }

            Console.WriteLine(FormattableString.Invariant($"  woken: {wakes.Length}, missed {missed}; p50 {Percentile(wakes, 0.5):0.0} ms, p99 {Percentile(wakes, 0.99):0.0} ms, max {(wakes.Length > 0 ? wakes[^1] : 0):0.0} ms"));
            return new WaitingFigures(settings, rssBefore, rssOpen, threadsBefore, threadsOpen, threadsAfter, wakes, missed, healthIdle, healthUnderWaits, openTime);

            void Record(int task, Task<long?> done)
            {
                lock (seenAt)
                {
                    if (done.IsCompletedSuccessfully && done.Result is { } at)
                    {
                        seenAt.Add((task, at));
                    }
                    else
                    {
                        missed++;
                    }
                }
            }
        }
        finally
        {
            Benchmark.DeleteDataDirectory(dataDir);
        }
    }

    /// <summary>Opens the task's event stream and reads it to its end; the timestamp of the cancelled event, or null.</summary>
    private static async Task<long?> StreamAsync(HttpClient client, string id, CountdownEvent opened, CancellationToken cancellationToken)
    {
        var signalled = false;
        try
        {
            using var response = await client.GetAsync("/v1/video/events?id=" + Uri.EscapeDataString(id), HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                if (!line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    continue;
                }

                if (line.Contains("\"status\":\"cancelled\"", StringComparison.Ordinal))
                {
                    return Stopwatch.GetTimestamp();
                }

                if (!signalled)
                {
                    // The first event (pending) is written after the server took its watch: this stream is waiting.
                    signalled = true;
                    opened.Signal();
                }
            }

            return null;
        }
        finally
        {
            if (!signalled)
            {
                opened.Signal();
            }
        }
    }

    /// <summary>A long-poll of 60 s; the timestamp of an answer that shows the task cancelled, or null.</summary>
    private static async Task<long?> LongPollAsync(HttpClient client, string id, CancellationToken cancellationToken)
    {
        using var response = await client.GetAsync($"/v1/video/query?id={Uri.EscapeDataString(id)}&wait=60", cancellationToken);
        var at = Stopwatch.GetTimestamp();
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        return body.Contains("\"status\":\"cancelled\"", StringComparison.Ordinal) ? at : null;
    }

    /// <summary>The server's resident memory and thread count, from /proc.</summary>
    private static (long RssBytes, int Threads) Sample(int pid)
    {
        long rss = 0;
        var threads = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = long.Parse(line["VmRSS:".Length..].Replace("kB", "", StringComparison.Ordinal).Trim(), CultureInfo.InvariantCulture) * 1024;
            }
            else if (line.StartsWith("Threads:", StringComparison.Ordinal))
            {
                threads = int.Parse(line["Threads:".Length..].Trim(), CultureInfo.InvariantCulture);
            }
        }

        return (rss, threads);
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    /// <summary>The section of RESULTS.md.</summary>
    public static string Section(BenchOptions options, WaitingFigures f)
    {
        var text = new StringBuilder();
        void Line(FormattableString line) => text.Append(FormattableString.Invariant(line)).Append('\n');
        var s = f.Settings;
        var waits = s.Streams + s.Polls;
        var p99 = Percentile(f.Wakes, 0.99);
        Line($"");
        Line($"## Waiting without polling");
        Line($"- Reelay (API only, Release, one process on this box, 127.0.0.1) with {s.Tasks} pending tasks of a test key; {s.Streams:N0} event streams (`GET /v1/video/events`) and {s.Polls:N0} long-polls (`GET /v1/video/query?wait=60`) opened on them, {waits / s.Tasks} per task, from one client process on the same 2 cores. Then every task is cancelled through `POST /v1/video/cancel`, {s.CancelsAtOnce} at a time: the same terminal transition and the same notice (`ITaskChanges`) as a task that completes. A wake is the time from sending the task's cancel to the waiter having the cancelled state (the event read, the long-poll's answer received), so it includes the cancel's own request and commit.");
        Line($"- Opening all waits took {f.OpenTime.TotalSeconds:0.0} s (including a 3 s settle for the last long-polls to reach the server).");
        Line($"");
        Line($"| measurement | value | aim | met |");
        Line($"|---|--:|--:|:-:|");
        Line($"| waiters woken / missed | {f.Wakes.Length:N0} / {f.Missed:N0} | all / 0 | {(f.Missed == 0 && f.Wakes.Length == waits ? "yes" : "NO")} |");
        Line($"| wake p50 / p99 / max | {Percentile(f.Wakes, 0.5):0.0} / {p99:0.0} / {(f.Wakes.Length > 0 ? f.Wakes[^1] : 0):0.0} ms | p99 ≤ {AimP99Ms:0} ms | {(p99 <= AimP99Ms ? "yes" : "NO")} |");
        Line($"| server memory (RSS) before / with all waits open | {f.RssBeforeBytes / 1048576.0:0.0} / {f.RssOpenBytes / 1048576.0:0.0} MiB | | |");
        Line($"| memory per open wait | {(f.RssOpenBytes - f.RssBeforeBytes) / (double)waits / 1024:0.0} KiB | | |");
        Line($"| server threads before / waits open / after | {f.ThreadsBefore} / {f.ThreadsOpen} / {f.ThreadsAfter} | no growth with the waits | {(f.ThreadsOpen <= f.ThreadsBefore + 4 ? "yes" : "NO")} |");
        Line($"| `/healthz` p50 / p99, no waits open | {f.HealthIdle.P50Ms:0.00} / {f.HealthIdle.P99Ms:0.00} ms ({f.HealthIdle.RequestsPerSecond:N0} req/s) | | |");
        Line($"| `/healthz` p50 / p99, all waits open | {f.HealthUnderWaits.P50Ms:0.00} / {f.HealthUnderWaits.P99Ms:0.00} ms ({f.HealthUnderWaits.RequestsPerSecond:N0} req/s) | | |");
        Line($"");
        Line($"Memory per wait is the resident set's growth over the waits, divided by them: connection buffers, the request's state and the watch together. A starving thread pool would show as threads added while the waits are open and as `/healthz` slowing down; waits hold no thread (each is an awaited promise), so neither moves much.");
        return text.ToString();
    }
}
