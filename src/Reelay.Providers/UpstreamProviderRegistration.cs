using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Reelay.Providers.ComfyUi;
using Reelay.Providers.Fal;
using Reelay.Providers.GeminiOmni;
using Reelay.Providers.GoogleCloud;
using Reelay.Providers.Http;
using Reelay.Providers.Kling;
using Reelay.Providers.Luma;
using Reelay.Providers.MiniMax;
using Reelay.Providers.Replicate;
using Reelay.Providers.Runway;
using Reelay.Providers.Seedance;
using Reelay.Providers.Sora;
using Reelay.Providers.UnifiedRelay;
using Reelay.Providers.Veo;
using Reelay.Providers.VertexVeo;
using Reelay.Providers.Wan;
using Reelay.Providers.Xai;

namespace Reelay.Providers;

/// <summary>Registers the adapters for remote upstreams (xAI, Veo, Sora-compatible, unified relays).</summary>
public static class UpstreamProviderRegistration
{
    /// <summary>
    /// Adds every remote upstream adapter as an <see cref="IVideoProvider"/> and the named
    /// <c>reelay-upstream</c> HTTP client they share (connect timeout, no automatic retries or redirects).
    /// </summary>
    public static IServiceCollection AddUpstreamProviders(this IServiceCollection services)
    {
        services.AddOptions<UpstreamHttpOptions>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<UpstreamClient>();
        services.TryAddSingleton<GoogleAccessTokens>();

        services.AddHttpClient(UpstreamClient.HttpClientName, client =>
            {
                // The per-request timeout lives in UpstreamClient, which can tell it apart from a caller's cancellation.
                client.Timeout = Timeout.InfiniteTimeSpan;
                client.DefaultRequestHeaders.UserAgent.ParseAdd("Reelay/1.0");
            })
            .ConfigurePrimaryHttpMessageHandler(serviceProvider => new SocketsHttpHandler
            {
                ConnectTimeout = serviceProvider.GetRequiredService<Microsoft.Extensions.Options.IOptions<UpstreamHttpOptions>>().Value.ConnectTimeout,
                // UpstreamClient follows redirects itself so secrets never follow a redirect to another host.
                AllowAutoRedirect = false,
                AutomaticDecompression = System.Net.DecompressionMethods.All,
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            });

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IVideoProvider, XaiProvider>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IVideoProvider, VeoProvider>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IVideoProvider, SoraProvider>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IVideoProvider, UnifiedRelayProvider>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IVideoProvider, SeedanceProvider>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IVideoProvider, KlingProvider>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IVideoProvider, WanProvider>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IVideoProvider, MiniMaxProvider>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IVideoProvider, RunwayProvider>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IVideoProvider, LumaProvider>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IVideoProvider, FalProvider>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IVideoProvider, ReplicateProvider>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IVideoProvider, ComfyUiProvider>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IVideoProvider, VertexVeoProvider>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IVideoProvider, GeminiOmniProvider>());
        return services;
    }
}
