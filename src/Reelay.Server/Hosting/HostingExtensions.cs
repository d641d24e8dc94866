namespace Reelay.Hosting;

public static class HostingExtensions
{
    /// <summary>
    /// <c>REELAY_*</c> environment variables over appsettings.json, and the listen address from
    /// <c>URLS</c> (default http://127.0.0.1:8080: loopback unless the operator opens it up).
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
