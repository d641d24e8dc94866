using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Reelay.Hosting;

/// <summary>Tags on health checks.</summary>
public static class HealthTags
{
    /// <summary>Checks <c>/readyz</c> runs: without them passing, this instance should get no traffic.</summary>
    public const string Ready = "ready";
}

/// <summary>
/// <c>/healthz</c>: the process answers (liveness runs no checks). <c>/readyz</c>: every check tagged
/// <see cref="HealthTags.Ready"/> passes — the database answers and takes writes, the data directory
/// exists. Both answer plain text: <c>ok</c>, <c>ready</c>, or 503 with the reasons.
/// </summary>
public static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapHealthChecks("/healthz", new HealthCheckOptions
        {
            Predicate = _ => false,
            ResponseWriter = (context, _) => WriteTextAsync(context, "ok"),
        }).ExcludeFromDescription();
        routes.MapHealthChecks("/readyz", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(HealthTags.Ready),
            ResponseWriter = (context, report) => WriteTextAsync(context, report.Status == HealthStatus.Unhealthy ? Reasons(report) : "ready"),
        }).ExcludeFromDescription();
        return routes;
    }

    private static string Reasons(HealthReport report) => string.Join("; ", report.Entries
        .Where(entry => entry.Value.Status == HealthStatus.Unhealthy)
        .Select(entry => entry.Value.Description ?? entry.Value.Exception?.Message ?? entry.Key + " failed"));

    private static Task WriteTextAsync(HttpContext context, string text)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(text);
    }
}

/// <summary>Readiness: the data directory, where videos and thumbnails are written, is there.</summary>
public sealed class DataDirectoryHealthCheck(DataDirectory data) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(Directory.Exists(data.Files)
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy($"data directory {data.Files} is missing"));
}
