using Microsoft.Extensions.Options;
using Reelay.Telemetry;

namespace Reelay.Api;

/// <summary><c>GET /metrics</c>: every instrument in Prometheus text, for the admin key (or anyone, with <c>Telemetry:AnonymousMetrics</c>).</summary>
public static class MetricsEndpoint
{
    public const string Path = "/metrics";

    public static WebApplication MapMetricsEndpoint(this WebApplication app)
    {
        var anonymous = app.Services.GetRequiredService<IOptions<TelemetryOptions>>().Value.AnonymousMetrics;
        // A branch, not a route handler: the exporter is middleware, which endpoint filters would not guard.
        app.MapWhen(http => http.Request.Path.Equals(Path, StringComparison.OrdinalIgnoreCase), branch =>
        {
            if (!anonymous)
            {
                branch.Use(async (http, next) =>
                {
                    if (await KeyFilters.AuthenticateAsync(http, admin: true) is { } refused)
                    {
                        await refused.ExecuteAsync(http);
                        return;
                    }

                    await next(http);
                });
            }

            branch.UseOpenTelemetryPrometheusScrapingEndpoint(Path);
        });
        return app;
    }
}
