using System.Globalization;
using System.Runtime;
using System.Runtime.InteropServices;
using System.Text;

namespace Reelay.Bench;

/// <summary>Writes RESULTS.md: where and how the run happened, the four measurements, and the ratios against the aims.</summary>
internal static class Report
{
    /// <summary>Query throughput as a share of the bare endpoint's GET: a read should cost little more than the framework.</summary>
    private const double QueryAim = 0.50;

    /// <summary>Create throughput as a share of the bare endpoint's POST: each create is a durable SQLite commit.</summary>
    private const double CreateAim = 0.25;

    public static string Write(BenchOptions options, RunFigures figures)
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
        Line($"- Reelay: the Release build run as `dotnet Reelay.Server.dll` with a fresh data directory (SQLite in WAL mode), `Engine:Enabled=false` (API only: no workers, no renders), shipped appsettings.json otherwise; every request authenticated with a test-mode key.");
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
        return text.ToString();
    }

    private static void Ratio(StringBuilder text, string name, LoadResult measured, LoadResult baseline, IReadOnlyList<double> rounds, double aim)
    {
        var ratio = measured.RequestsPerSecond / baseline.RequestsPerSecond;
        var met = measured.Failed == 0 && ratio >= aim ? "yes" : "no";
        var each = string.Join(", ", rounds.Select(r => r.ToString("P0", CultureInfo.InvariantCulture)));
        text.Append(FormattableString.Invariant($"| {name} | {ratio:P0} | {each} | ≥ {aim:P0} | {met} |")).Append('\n');
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
