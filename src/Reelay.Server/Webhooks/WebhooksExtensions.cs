using Microsoft.Extensions.Options;
using Reelay.Images;

namespace Reelay.Webhooks;

public static class WebhooksExtensions
{
    /// <summary>
    /// Signed webhooks from the durable outbox: the notifier (where the engine runs, unless
    /// <c>Webhooks:Enabled</c> says otherwise), its guarded HttpClient and its clock, and the backlog gauge. The storage
    /// backend registers <see cref="IWebhookStore"/>; the HTTP surfaces register <see cref="IWebhookPayloads"/>.
    /// </summary>
    public static IServiceCollection AddWebhooks(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<WebhookOptions>().BindConfiguration("Webhooks").ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WebhookOptions>, WebhookOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddKeyedSingleton(WebhookNotifier.ClockKey, (sp, _) => sp.GetRequiredService<TimeProvider>());

        // Every target is a URL a client or operator gave: connected to only through the SSRF guard.
        services.AddHttpClient(WebhookNotifier.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(sp => sp.GetRequiredService<NetworkPolicy>().CreateHandler());
        // Every instance reports the backlog, whether or not it delivers.
        services.AddHostedService<WebhookBacklogSampler>();
        if (configuration.GetValue<bool?>("Webhooks:Enabled") ?? configuration.GetValue("Engine:Enabled", true))
        {
            services.AddHostedService<WebhookNotifier>();
        }

        return services;
    }
}
