namespace Reelay.Telemetry;

/// <summary>The <c>Telemetry</c> section. OTLP export follows OpenTelemetry's own variables (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>…).</summary>
public sealed class TelemetryOptions
{
    /// <summary>
    /// Whether <c>/metrics</c> answers without a key. Off by default: the figures name channels,
    /// providers and models, which is the operator's business; a scraper then sends the admin key.
    /// </summary>
    public bool AnonymousMetrics { get; set; }
}
