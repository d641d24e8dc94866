using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Reelay.Telemetry;

public static class TelemetryExtensions
{
    /// <summary>
    /// Metrics (Reelay's meter, ASP.NET Core, HttpClient, the runtime) for <c>/metrics</c> in Prometheus
    /// text, and traces (Reelay's spans, ASP.NET Core, HttpClient); both also exported by OTLP when
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set. With nothing configured no trace is kept.
    /// </summary>
    public static IServiceCollection AddTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TelemetryOptions>().BindConfiguration("Telemetry");
        services.AddMetrics();
        services.TryAddSingleton<ReelayTelemetry>();
        var otlp = !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ReelayTelemetry.Name))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(ReelayTelemetry.Name).AddAspNetCoreInstrumentation().AddHttpClientInstrumentation().AddRuntimeInstrumentation()
                    .AddPrometheusExporter();
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            });
        if (otlp)
        {
            telemetry.WithTracing(tracing => tracing.AddSource(ReelayTelemetry.Name)
                .AddAspNetCoreInstrumentation(o => o.Filter = http => !http.Request.Path.StartsWithSegments("/metrics"))
                .AddHttpClientInstrumentation()
                .AddOtlpExporter());
        }

        return services;
    }
}
