using System.Diagnostics;
using System.Net;

namespace Reelay.Bench;

/// <summary>How hard and how long to push.</summary>
/// <param name="Connections">Concurrent requests in flight, each on its own connection.</param>
/// <param name="Warmup">Load before measuring: JIT, connection setup, caches; its figures are discarded.</param>
/// <param name="Window">One measurement window.</param>
/// <param name="MaxRequests">Cap on requests per phase, so a very fast target still ends a phase early.</param>
/// <param name="Rounds">Windows per measurement; rounds interleave the measurements so a change in background load hits them all alike.</param>
internal sealed record LoadSettings(int Connections, TimeSpan Warmup, TimeSpan Window, int MaxRequests, int Rounds);

/// <summary>One measurement window: successful requests, failures, throughput, and the sorted latencies in Stopwatch ticks.</summary>
internal sealed record LoadResult(string Name, int Succeeded, int Failed, TimeSpan Elapsed, long[] SortedLatencies, string? FirstFailure)
{
    public double RequestsPerSecond => Succeeded / Elapsed.TotalSeconds;

    public double P50Ms => Percentile(SortedLatencies, 0.50);

    public double P99Ms => Percentile(SortedLatencies, 0.99);

    /// <summary>Several windows of one measurement as one: the median window's throughput, percentiles over every request.</summary>
    public static LoadResult Combine(IReadOnlyList<LoadResult> windows)
    {
        var median = windows.OrderBy(w => w.RequestsPerSecond).ElementAt(windows.Count / 2);
        var latencies = windows.SelectMany(w => w.SortedLatencies).Order().ToArray();
        return median with
        {
            SortedLatencies = latencies,
            Failed = windows.Sum(w => w.Failed),
            FirstFailure = windows.Select(w => w.FirstFailure).FirstOrDefault(f => f is not null),
        };
    }

    /// <summary>Nearest-rank percentile of sorted tick counts, in milliseconds.</summary>
    private static double Percentile(long[] sorted, double fraction)
    {
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(fraction * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)] * 1000.0 / Stopwatch.Frequency;
    }
}

/// <summary>
/// A closed-loop load generator: each of N workers sends a request, waits for the whole answer, and
/// sends the next. Every phase ends when its window closes or its request cap is reached, whichever
/// is first; each request has its own timeout.
/// </summary>
internal static class LoadGenerator
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    /// <summary>A client whose pool holds one connection per worker, so every worker keeps its own keep-alive connection.</summary>
    public static HttpClient CreateClient(Uri baseAddress, int connections) =>
        new(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections,
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        })
        {
            BaseAddress = baseAddress,
            Timeout = RequestTimeout,
        };

    /// <summary>Load whose figures are discarded: JIT tiering, connection setup, caches.</summary>
    public static Task WarmUpAsync(string name, HttpClient client, Func<long, HttpRequestMessage> request, HttpStatusCode expected, LoadSettings settings) =>
        RunPhaseAsync(name, client, request, expected, settings.Connections, settings.Warmup, settings.MaxRequests);

    /// <summary>One measurement window. <paramref name="request"/> builds the n-th request; <paramref name="expected"/> is the success status.</summary>
    public static Task<LoadResult> MeasureAsync(string name, HttpClient client, Func<long, HttpRequestMessage> request, HttpStatusCode expected, LoadSettings settings) =>
        RunPhaseAsync(name, client, request, expected, settings.Connections, settings.Window, settings.MaxRequests);

    /// <summary>
    /// Warms every measurement up, then runs <see cref="LoadSettings.Rounds"/> rounds of one window each,
    /// each round going through the measurements in turn so a change in background load hits them all alike.
    /// </summary>
    public static async Task<Dictionary<string, List<LoadResult>>> RunRoundsAsync(
        IReadOnlyList<(string Name, HttpClient Client, Func<long, HttpRequestMessage> Request)> measurements, LoadSettings settings)
    {
        foreach (var (name, client, request) in measurements)
        {
            await WarmUpAsync(name, client, request, HttpStatusCode.OK, settings);
        }

        var windows = measurements.ToDictionary(m => m.Name, _ => new List<LoadResult>());
        for (var round = 1; round <= settings.Rounds; round++)
        {
            Console.WriteLine($"Round {round} of {settings.Rounds}: {settings.Window.TotalSeconds:0} s each");
            foreach (var (name, client, request) in measurements)
            {
                var result = await MeasureAsync(name, client, request, HttpStatusCode.OK, settings);
                windows[name].Add(result);
                Console.WriteLine(FormattableString.Invariant(
                    $"  {name,-44} {result.RequestsPerSecond,9:0} req/s  p50 {result.P50Ms,7:0.00} ms  p99 {result.P99Ms,7:0.00} ms  ({result.Succeeded} ok, {result.Failed} failed{(result.FirstFailure is null ? "" : "; first: " + result.FirstFailure)})"));
            }
        }

        return windows;
    }

    private static async Task<LoadResult> RunPhaseAsync(
        string name, HttpClient client, Func<long, HttpRequestMessage> request, HttpStatusCode expected, int connections, TimeSpan window, int maxRequests)
    {
        // One slot per permitted request: a latency in ticks, or -1 for a failure.
        var latencies = new long[maxRequests];
        var issued = -1;
        string? firstFailure = null;
        var start = Stopwatch.GetTimestamp();

        async Task WorkerAsync()
        {
            int slot;
            while (Stopwatch.GetElapsedTime(start) < window && (slot = Interlocked.Increment(ref issued)) < maxRequests)
            {
                var sent = Stopwatch.GetTimestamp();
                try
                {
                    using var message = request(slot);
                    using var response = await client.SendAsync(message, HttpCompletionOption.ResponseContentRead);
                    if (response.StatusCode == expected)
                    {
                        latencies[slot] = Stopwatch.GetTimestamp() - sent;
                        continue;
                    }

                    var body = await response.Content.ReadAsStringAsync();
                    Interlocked.CompareExchange(ref firstFailure, $"{(int)response.StatusCode}: {Shorten(body)}", null);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    Interlocked.CompareExchange(ref firstFailure, $"{e.GetType().Name}: {e.Message}", null);
                }

                latencies[slot] = -1;
            }
        }

        var workers = new Task[connections];
        for (var i = 0; i < connections; i++)
        {
            workers[i] = Task.Run(WorkerAsync);
        }

        await Task.WhenAll(workers);
        var elapsed = Stopwatch.GetElapsedTime(start);

        var used = Math.Min(issued + 1, maxRequests);
        var succeeded = latencies.AsSpan(0, used).ToArray().Where(t => t >= 0).ToArray();
        Array.Sort(succeeded);
        return new LoadResult(name, succeeded.Length, used - succeeded.Length, elapsed, succeeded, firstFailure);
    }

    private static string Shorten(string text) => text.Length <= 200 ? text : text[..200] + "…";
}
