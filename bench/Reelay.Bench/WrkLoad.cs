using System.Globalization;
using System.Text;
using Reelay.Testing;

namespace Reelay.Bench;

/// <summary>What wrk sends in one measurement: requests rotated over <see cref="Paths"/>, with these headers and body.</summary>
/// <param name="Name">As the report names it.</param>
/// <param name="BaseAddress">The server.</param>
/// <param name="Method">GET or POST.</param>
/// <param name="Paths">Path and query of each request, in turn.</param>
/// <param name="Headers">Extra request headers (Authorization, Content-Type, Range).</param>
/// <param name="Body">The request body, or null.</param>
/// <param name="Connections">wrk's -c for this target when not the run's.</param>
internal sealed record WrkTarget(
    string Name, Uri BaseAddress, string Method, IReadOnlyList<string> Paths, IReadOnlyDictionary<string, string> Headers, string? Body = null, int? Connections = null);

/// <summary>How wrk is run: threads, connections, warm-up and window lengths, rounds.</summary>
/// <param name="Threads">wrk's -t.</param>
/// <param name="Connections">wrk's -c: requests in flight, each on its own keep-alive connection.</param>
/// <param name="Warmup">One run per target before the rounds, its figures discarded.</param>
/// <param name="Window">One measured run.</param>
/// <param name="Rounds">Measured runs per target, interleaved across the targets of a phase.</param>
/// <param name="MaxRequestsPerThread">Cap on requests per wrk thread in one run (the Lua script stops the thread there); a run that reaches it is flagged.</param>
internal sealed record WrkSettings(int Threads, int Connections, TimeSpan Warmup, TimeSpan Window, int Rounds, int MaxRequestsPerThread);

/// <summary>One wrk run as its Lua <c>done</c> hook reported it.</summary>
internal sealed record WrkResult(string Name, long Requests, TimeSpan Duration, long Failed, long Bytes, double P50Ms, double P99Ms, bool Capped, string? Failure)
{
    /// <summary>Answers with a 2xx/3xx status per second; wrk counts the others (and socket errors) as errors.</summary>
    public double RequestsPerSecond => Math.Max(0, Requests - Failed) / Duration.TotalSeconds;

    /// <summary>Response bytes per second (headers included), for the file measurements.</summary>
    public double BytesPerSecond => Bytes / Duration.TotalSeconds;
}

/// <summary>
/// Runs <c>wrk</c> (Debian's package; <c>bench/run</c> installs it) the way a user's load test does:
/// -t2 -c64 closed loop over keep-alive connections. Each target becomes a Lua script whose requests are
/// formatted once and rotated; its <c>done</c> hook prints the figures on one line this class reads.
/// Every run is bounded in time (wrk's -d, and the process is killed past it) and in count (the script).
/// </summary>
internal static class WrkLoad
{
    /// <summary>Extra time a run may take past its window before wrk is killed: startup, the last answers, the report.</summary>
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(20);

    /// <summary>wrk on PATH, or null.</summary>
    public static string? Find() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, "wrk"))
            .FirstOrDefault(File.Exists);

    /// <summary>
    /// A warm-up run of each target, then <see cref="WrkSettings.Rounds"/> rounds of one run of each, in
    /// turn, so a change in background load hits every target alike. Results per target, in round order.
    /// </summary>
    public static async Task<Dictionary<string, List<WrkResult>>> RunRoundsAsync(string wrk, IReadOnlyList<WrkTarget> targets, WrkSettings settings, string scratch)
    {
        var results = targets.ToDictionary(t => t.Name, _ => new List<WrkResult>());
        foreach (var target in targets)
        {
            _ = await RunAsync(wrk, target, settings, settings.Warmup, scratch);
        }

        for (var round = 1; round <= settings.Rounds; round++)
        {
            Console.WriteLine($"wrk round {round} of {settings.Rounds}: {settings.Window.TotalSeconds:0} s each");
            foreach (var target in targets)
            {
                var result = await RunAsync(wrk, target, settings, settings.Window, scratch);
                results[target.Name].Add(result);
                Console.WriteLine(FormattableString.Invariant(
                    $"  {result.Name,-44} {result.RequestsPerSecond,9:0} req/s  p50 {result.P50Ms,7:0.00} ms  p99 {result.P99Ms,7:0.00} ms  ({result.Requests} answers, {result.Failed} failed{(result.Failure is null ? "" : "; " + result.Failure)})"));
            }
        }

        return results;
    }

    /// <summary>The median run by throughput.</summary>
    public static WrkResult Median(IReadOnlyList<WrkResult> runs) => runs.OrderBy(r => r.RequestsPerSecond).ElementAt(runs.Count / 2);

    private static async Task<WrkResult> RunAsync(string wrk, WrkTarget target, WrkSettings settings, TimeSpan duration, string scratch)
    {
        var script = Path.Combine(scratch, $"wrk-{Guid.NewGuid():N}.lua");
        await File.WriteAllTextAsync(script, Script(target, settings.MaxRequestsPerThread));
        try
        {
            using var limit = new CancellationTokenSource(duration + Slack);
            string[] arguments =
            [
                "-t", Invariant(settings.Threads), "-c", Invariant(target.Connections ?? settings.Connections),
                "-d", Invariant((int)Math.Ceiling(duration.TotalSeconds)) + "s",
                // A 50 MB answer shared among 64 connections takes longer than wrk's default 2 s.
                "--timeout", "30s",
                "-s", script, target.BaseAddress.ToString(),
            ];
            var run = await ChildProcess.RunAsync(wrk, arguments, limit.Token);
            var line = run.StandardOutput.Split('\n').FirstOrDefault(l => l.StartsWith("WRK_RESULT ", StringComparison.Ordinal))
                ?? throw new InvalidOperationException($"wrk printed no result for {target.Name} (exit code {run.ExitCode}):\n{run.Output}");
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            long L(int i) => long.Parse(f[i], CultureInfo.InvariantCulture);
            var (requests, micros, connect, read, write, status, timeout, bytes) = (L(1), L(2), L(3), L(4), L(5), L(6), L(7), L(8));
            var failed = status + timeout + connect + read + write;
            var failure = failed == 0 ? null : $"status {status}, timeout {timeout}, connect {connect}, read {read}, write {write}";
            return new WrkResult(target.Name, requests, TimeSpan.FromMicroseconds(micros), failed, bytes,
                double.Parse(f[9], CultureInfo.InvariantCulture) / 1000, double.Parse(f[10], CultureInfo.InvariantCulture) / 1000,
                requests >= (long)settings.Threads * settings.MaxRequestsPerThread, failure);
        }
        finally
        {
            File.Delete(script);
        }
    }

    /// <summary>
    /// The Lua script: every request formatted once in <c>init</c> (so the script costs the same for every
    /// target), rotated in <c>request</c>, the thread stopped at the cap, one result line from <c>done</c>.
    /// </summary>
    private static string Script(WrkTarget target, int maxRequestsPerThread)
    {
        var lua = new StringBuilder();
        lua.Append("local paths = {");
        foreach (var path in target.Paths)
        {
            lua.Append(Quote(path)).Append(',');
        }

        lua.Append("}\nlocal headers = {[\"Host\"] = ").Append(Quote(target.BaseAddress.Authority)).Append(',');
        foreach (var (name, value) in target.Headers)
        {
            lua.Append('[').Append(Quote(name)).Append("] = ").Append(Quote(value)).Append(',');
        }

        lua.Append("}\nlocal body = ").Append(target.Body is null ? "nil" : Quote(target.Body)).Append('\n');
        lua.Append("local method = ").Append(Quote(target.Method)).Append('\n');
        lua.Append("local cap = ").Append(Invariant(maxRequestsPerThread)).Append('\n');
        lua.Append("""
            local formatted = {}
            local sent = 0
            local at = 0
            init = function(args)
              for i, path in ipairs(paths) do
                formatted[i] = wrk.format(method, path, headers, body)
              end
            end
            request = function()
              sent = sent + 1
              if sent >= cap then wrk.thread:stop() end
              at = at % #formatted + 1
              return formatted[at]
            end
            done = function(summary, latency, requests)
              local e = summary.errors
              io.write(string.format("WRK_RESULT %d %d %d %d %d %d %d %d %.1f %.1f\n",
                summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout, summary.bytes,
                latency:percentile(50), latency:percentile(99)))
            end

            """);
        return lua.ToString();
    }

    /// <summary>A Lua string literal: every byte outside printable ASCII escaped as a decimal escape, so UTF-8 bodies pass through unchanged.</summary>
    private static string Quote(string text)
    {
        var quoted = new StringBuilder("\"");
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            if (b is >= 0x20 and < 0x7f && b != '"' && b != '\\')
            {
                quoted.Append((char)b);
            }
            else
            {
                quoted.Append('\\').Append(b.ToString("000", CultureInfo.InvariantCulture));
            }
        }

        return quoted.Append('"').ToString();
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
