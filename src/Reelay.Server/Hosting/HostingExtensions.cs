using Microsoft.Extensions.Options;
using Reelay.Api;
using Reelay.Api.Files;
using Reelay.Blobs;
using Reelay.Blobs.LocalDisk;
using Reelay.Catalog;
using Reelay.Channels;
using Reelay.Keys;
using Reelay.Providers;
using Reelay.Providers.Http;
using Reelay.Providers.Local;
using Reelay.Providers.Media;
using Reelay.Tasks;

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

    /// <summary>Options, the data directory, the catalog, channels, keys, blobs and the local renderer.</summary>
    public static IServiceCollection AddReelayCore(this IServiceCollection services)
    {
        services.AddOptions<ReelayOptions>().Configure<IConfiguration>((options, configuration) => configuration.Bind(options));
        services.AddOptions<LimitsOptions>().BindConfiguration("Limits").ValidateOnStart();
        services.AddOptions<CatalogOptions>().BindConfiguration("Catalog").ValidateOnStart();
        services.AddOptions<List<ChannelOptions>>().BindConfiguration("Channels");
        services.AddOptions<ChannelHealthOptions>().BindConfiguration("ChannelHealth");
        services.AddOptions<UpstreamHttpOptions>().BindConfiguration("Upstream");
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<DataDirectory>();
        services.AddHealthChecks().AddCheck<DataDirectoryHealthCheck>("data-directory", tags: [HealthTags.Ready]);
        services.TryAddSingleton<ModelCatalog>();
        services.TryAddSingleton<ChannelRegistry>();
        services.TryAddSingleton<ChannelRouter>();
        services.AddHostedService<ChannelReloader>();
        services.TryAddSingleton<KeyAuthenticator>();
        services.TryAddSingleton<VideoTaskFactory>();
        services.TryAddSingleton<FileUrls>();
        services.TryAddSingleton<IBlobStore, LocalDiskBlobStore>();
        services.AddHostedService<StartupBanner>();
        services.AddOptions<MediaOptions>().BindConfiguration("Media");
        services.AddOptions<LocalRendererOptions>().BindConfiguration("LocalRenderer")
            .Configure<DataDirectory>((local, data) => local.WorkDirectory = Path.Combine(data.Work, "local"));
        services.AddLocalRenderer();
        services.AddUpstreamProviders();
        services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
            json.SerializerOptions.TypeInfoResolverChain.Insert(1, Api.OpenAi.OpenAiJsonContext.Default);
        });
        return services;
    }

    /// <summary>Builds the singletons whose construction validates configuration, so bad config stops startup with a clear message.</summary>
    public static void ValidateReelayConfiguration(this WebApplication app)
    {
        _ = app.Services.GetRequiredService<ModelCatalog>();
        _ = app.Services.GetRequiredService<ChannelRegistry>();
        _ = app.Services.GetRequiredService<Images.NetworkPolicy>();
        _ = app.Services.GetRequiredService<KeyAuthenticator>();
        _ = app.Services.GetRequiredService<FileUrls>();
        _ = app.Services.GetRequiredService<IOptions<LimitsOptions>>().Value;
    }
}
