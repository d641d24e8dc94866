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
    private readonly Counter<long> _redisFallbacks;

    public ReelayTelemetry(IMeterFactory meters)
    {
        _meter = meters.Create(Name);
        _upstreamDuration = _meter.CreateHistogram<double>(
            "reelay.upstream.duration", "s", "Time of each call to an upstream, by provider, channel, operation (submit, poll, download, cancel) and outcome (ok or the error code).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120] });
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

    /// <summary>One operation done without Redis: <c>rate</c> or <c>publish</c>.</summary>
    public void RecordRedisFallback(string operation) =>
        _redisFallbacks.Add(1, new KeyValuePair<string, object?>("operation", operation));

    public void Dispose() => _meter.Dispose();
}
