using Microsoft.AspNetCore.HostFiltering;
using Microsoft.Extensions.Primitives;
using Reelay.Api.Errors;

namespace Reelay.Api;

/// <summary>
/// Host filtering by the standard <c>AllowedHosts</c> setting (<c>REELAY_AllowedHosts</c>): semicolon-separated
/// host names, <c>*.example.com</c> wildcards, no ports; <c>*</c> or unset lets every host in. Without
/// <c>PUBLIC_URL</c>, signed file links are built from the request's Host header, so this is what keeps a
/// forged Host out of them.
/// </summary>
public static class AllowedHosts
{
    private const string Setting = "AllowedHosts";

    /// <summary>
    /// WebApplication runs ASP.NET Core's own host filter from <c>AllowedHosts</c>, outside every middleware
    /// of ours, and it answers with an HTML page. It is told to let every host through, and
    /// <see cref="UseAllowedHosts"/> applies the same list, with the same matching, inside the error handling.
    /// </summary>
    public static IServiceCollection AddAllowedHosts(this IServiceCollection services)
    {
        services.PostConfigure<HostFilteringOptions>(options => options.AllowedHosts = ["*"]);
        return services;
    }

    /// <summary>Answers 400 with the error envelope when the Host header is not an allowed one.</summary>
    public static IApplicationBuilder UseAllowedHosts(this IApplicationBuilder app)
    {
        var configured = app.ApplicationServices.GetRequiredService<IConfiguration>()[Setting];
        var hosts = (configured ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (hosts.Length == 0 || hosts.Contains("*"))
        {
            return app;
        }

        var patterns = hosts.Select(host => new StringSegment(host)).ToArray();
        return app.Use((context, next) =>
        {
            var host = context.Request.Host;
            // An empty Host (HTTP/1.0) passes, as in ASP.NET Core's filter: load-balancer health checks send none.
            if (!host.HasValue || HostString.MatchesAny(host.Value, patterns))
            {
                return next(context);
            }

            var shown = host.Value.Length > 100 ? host.Value[..100] + "…" : host.Value;
            return new ApiError(400,
                $"The Host header '{shown}' is not a name this server answers to. Send requests to its public address (the operator lists them in AllowedHosts).",
                "invalid_host").ExecuteAsync(context);
        });
    }
}
