using Microsoft.Extensions.Options;
using Reelay.Catalog;
using Reelay.Hosting;
using Reelay.Providers;
using Reelay.Providers.Http;
using Reelay.Providers.Local;
using Reelay.Providers.Media;
using Reelay.Storage;

namespace Reelay.Channels;

public static class ChannelsExtensions
{
    /// <summary>
    /// The upstream providers (and the local renderer), the channels that use them from the
    /// <c>Channels</c> section and the admin API, their health, and the router that picks among them.
    /// </summary>
    public static IServiceCollection AddChannels(this IServiceCollection services)
    {
        services.AddOptions<UpstreamHttpOptions>().BindConfiguration("Upstream");
        services.AddOptions<MediaOptions>().BindConfiguration("Media");
        services.AddOptions<LocalRendererOptions>().BindConfiguration("LocalRenderer")
            .Configure<DataDirectory>((local, data) => local.WorkDirectory = Path.Combine(data.Work, "local"));
        services.AddLocalRenderer();
        services.AddUpstreamProviders();

        services.AddOptions<List<ChannelOptions>>().BindConfiguration("Channels").ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<List<ChannelOptions>>, DefaultChannelNames>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<List<ChannelOptions>>, ChannelOptionsValidator>());
        services.AddOptions<ChannelHealthOptions>().BindConfiguration("ChannelHealth");
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ChannelRegistry>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IModelListings, ChannelRegistry>(provider => provider.GetRequiredService<ChannelRegistry>()));
        services.TryAddSingleton<ChannelRouter>();
        services.TryAddSingleton<IStoredConfigurationChanges, SingleInstanceConfigurationChanges>();
        services.AddHostedService<ChannelReloader>();
        return services;
    }
}
