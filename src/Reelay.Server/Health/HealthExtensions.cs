using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Reelay.Health;

/// <summary>
/// <c>/healthz</c>: the process answers (liveness, no checks). <c>/readyz</c>: every check tagged
/// <see cref="ReadyTag"/> passes — each backend (database, blob store…) registers its own with
/// <c>AddHealthChecks().AddCheck&lt;T&gt;(name, tags: [ReadyTag])</c> in its <c>Add…</c> extension.
/// </summary>
public static class HealthExtensions
{
    /// <summary>Tag of the checks that decide readiness.</summary>
    public const string ReadyTag = "ready";

    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = (http, _) => WriteTextAsync(http, "ok") })
            .ExcludeFromDescription();
        routes.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag), ResponseWriter = WriteReadinessAsync })
            .ExcludeFromDescription();
        return routes;
    }

    /// <summary>Plain text for people and probes alike: <c>ready</c>, or each failing check's reason, separated by semicolons.</summary>
    private static Task WriteReadinessAsync(HttpContext http, HealthReport report)
    {
        if (report.Status == HealthStatus.Healthy)
        {
            return WriteTextAsync(http, "ready");
        }

        var reasons = report.Entries
            .Where(entry => entry.Value.Status != HealthStatus.Healthy)
            .Select(entry => entry.Value.Description ?? entry.Value.Exception?.Message ?? entry.Key + " failed");
        return WriteTextAsync(http, string.Join("; ", reasons));
    }

    /// <summary>With a Content-Length, as probes that read one plain answer expect (no chunking).</summary>
    private static Task WriteTextAsync(HttpContext http, string text)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        http.Response.ContentType = "text/plain; charset=utf-8";
        http.Response.ContentLength = bytes.Length;
        return http.Response.Body.WriteAsync(bytes).AsTask();
    }
}
