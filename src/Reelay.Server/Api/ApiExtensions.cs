using Reelay.Api.Admin;
using Reelay.Api.Errors;

namespace Reelay.Api;

public static class ApiExtensions
{
    /// <summary>What the HTTP surfaces share: the JSON wire settings, the error envelope, host filtering, the startup banner.</summary>
    public static IServiceCollection AddApi(this IServiceCollection services)
    {
        services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.Encoder = ApiJson.Encoder;
            json.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
            json.SerializerOptions.TypeInfoResolverChain.Insert(1, OpenAi.OpenAiJsonContext.Default);
        });
        services.AddApiErrors();
        services.AddAllowedHosts();
        services.TryAddSingleton<Unified.QueryAnswerCache>();
        services.AddOptions<WaitingOptions>().BindConfiguration("Waiting")
            .Validate(waiting => waiting.HeartbeatInterval > TimeSpan.Zero, "Waiting:HeartbeatInterval must be positive.").ValidateOnStart();
        services.TryAddSingleton<Webhooks.IWebhookPayloads, WebhookPayloads>();
        services.AddHostedService<StartupBanner>();
        return services;
    }
}
