using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Reelay.Telemetry;

/// <summary>
/// Reelay's own instruments, on the <c>Reelay</c> meter and activity source that OpenTelemetry exports
/// (<see cref="TelemetryExtensions"/>). Tags carry names (provider, channel, operation, error code from
/// the one catalogue), never a secret, a prompt or a task id on a metric.
/// </summary>
public sealed class ReelayTelemetry : IDisposable
{
    public const string Name = "Reelay";

    /// <summary>Spans of upstream calls and engine steps; ASP.NET Core and HttpClient add their own beneath.</summary>
    public static readonly ActivitySource Activities = new(Name);

    private readonly Meter _meter;
    private readonly Histogram<double> _upstreamDuration;
    private readonly Histogram<int> _pollsToFinish;
    private readonly Histogram<double> _finishToDetection;
    private readonly Counter<long> _leasesLost;
    private readonly Counter<long> _redisFallbacks;

    public ReelayTelemetry(IMeterFactory meters)
    {
        _meter = meters.Create(Name);
        _upstreamDuration = _meter.CreateHistogram<double>(
            "reelay.upstream.duration", "s", "Time of each call to an upstream, by provider, channel, operation (submit, poll, download, cancel) and outcome (ok or the error code).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120] });
        _pollsToFinish = _meter.CreateHistogram<int>(
            "reelay.task.polls", "{poll}", "Upstream polls each task took until the upstream reported it finished (1 is ideal), by provider and channel.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 3, 4, 6, 8, 12, 20, 50] });
        _finishToDetection = _meter.CreateHistogram<double>(
            "reelay.upstream.finish_to_detection", "s", "Time from the upstream's own finish time of a job to the poll that first saw it finished, by provider and channel (only where the upstream reports a finish time).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300] });
        _leasesLost = _meter.CreateCounter<long>(
            "reelay.leases.lost", "{lease}", "Task leases a worker lost while handling the task (another instance took it over, or the store refused the extension), by worker.");
        _redisFallbacks = _meter.CreateCounter<long>(
            "reelay.redis.fallbacks", "{operation}", "Operations that went without Redis because it could not be reached, by operation (rate: counted in process; publish: the notice reached this instance only).");
    }

    /// <summary>The meter, for the gauges other concerns observe (<see cref="ObserveGauge"/>).</summary>
    public Meter Meter => _meter;

    public void RecordUpstreamCall(string provider, string channel, string operation, string outcome, TimeSpan elapsed) =>
        _upstreamDuration.Record(elapsed.TotalSeconds,
            new KeyValuePair<string, object?>("provider", provider),
            new KeyValuePair<string, object?>("channel", channel),
            new KeyValuePair<string, object?>("operation", operation),
            new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>A task's upstream job was seen finished at its <paramref name="polls"/>-th poll.</summary>
    public void RecordPollsToFinish(string provider, string channel, int polls) =>
        _pollsToFinish.Record(polls,
            new KeyValuePair<string, object?>("provider", provider),
            new KeyValuePair<string, object?>("channel", channel));

    /// <summary>
    /// A poll first saw a job finished that the upstream says finished <paramref name="lag"/> ago (negative,
    /// when the clocks disagree, counts as 0).
    /// </summary>
    public void RecordFinishDetected(string provider, string channel, TimeSpan lag) =>
        _finishToDetection.Record(Math.Max(0, lag.TotalSeconds),
            new KeyValuePair<string, object?>("provider", provider),
            new KeyValuePair<string, object?>("channel", channel));

    /// <summary>A worker (<c>dispatch</c>, <c>poll</c>, <c>finish</c>) found its lease on a task gone: its work on it stops, its writes change nothing.</summary>
    public void RecordLeaseLost(string worker) =>
        _leasesLost.Add(1, new KeyValuePair<string, object?>("worker", worker));

    /// <summary>One operation done without Redis: <c>rate</c> or <c>publish</c>.</summary>
    public void RecordRedisFallback(string operation) =>
        _redisFallbacks.Add(1, new KeyValuePair<string, object?>("operation", operation));

    public void Dispose() => _meter.Dispose();
}
