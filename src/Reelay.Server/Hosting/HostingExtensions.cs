using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Reelay.Hosting;

public static class HostingExtensions
{
    /// <summary>
    /// <c>REELAY_*</c> environment variables over appsettings.json, and the listen address from
    /// <c>URLS</c> (default http://127.0.0.1:8080: loopback unless the operator opens it up), and Kestrel's limits.
    /// </summary>
    public static WebApplicationBuilder AddReelayConfiguration(this WebApplicationBuilder builder)
    {
        builder.Configuration.AddEnvironmentVariables("REELAY_");
        builder.WebHost.UseUrls(builder.Configuration["URLS"] ?? "http://127.0.0.1:8080");
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Create bodies may carry data-URI images; each route enforces its own smaller limit.
            kestrel.Limits.MaxRequestBodySize = 64 * 1024 * 1024;
            kestrel.AddServerHeader = false;
        });
        builder.Services.AddOptions<ConnectionLimitsOptions>().BindConfiguration("Limits").ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ConnectionLimitsOptions>, ConnectionLimitsOptionsValidator>());
        // Through options rather than the callback above, so the limit is read with the other Limits settings.
        builder.Services.AddOptions<KestrelServerOptions>().Configure<IOptions<ConnectionLimitsOptions>>((kestrel, limits) =>
            kestrel.Limits.MaxConcurrentConnections = limits.Value.MaxConcurrentConnections == 0 ? null : limits.Value.MaxConcurrentConnections);
        return builder;
    }

    /// <summary>The data directory (<c>DATA_DIR</c>) and the clock every concern shares.</summary>
    public static IServiceCollection AddDataDirectory(this IServiceCollection services)
    {
        services.AddOptions<DataDirectoryOptions>().Configure<IConfiguration>((options, configuration) => configuration.Bind(options));
        services.TryAddSingleton<DataDirectory>();
        services.TryAddSingleton(TimeProvider.System);
        return services;
    }
}

/// <summary>How many connections the server holds open (section <c>Limits</c>, beside the input limits).</summary>
public sealed class ConnectionLimitsOptions
{
    /// <summary>
    /// Connections open at once (0: unlimited); Kestrel closes one more at once, before reading it. Generous:
    /// idle keep-alive connections and video downloads each hold one, and HTTP/2 streams share theirs.
    /// </summary>
    public long MaxConcurrentConnections { get; set; } = 10_000;
}

internal sealed class ConnectionLimitsOptionsValidator : IValidateOptions<ConnectionLimitsOptions>
{
    public ValidateOptionsResult Validate(string? name, ConnectionLimitsOptions options) =>
        options.MaxConcurrentConnections >= 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail("Limits:MaxConcurrentConnections must be 0 (unlimited) or a positive number of connections.");
}
