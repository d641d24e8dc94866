using Microsoft.Extensions.Options;
using Reelay.Api.Admin;
using Reelay.Api.Errors;
using Reelay.Api.Files;

namespace Reelay.Api;

public static class ApiExtensions
{
    /// <summary>What the HTTP surfaces share: the JSON wire settings, the error envelope, signed file links, the startup banner.</summary>
    public static IServiceCollection AddApi(this IServiceCollection services)
    {
        services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
            json.SerializerOptions.TypeInfoResolverChain.Insert(1, OpenAi.OpenAiJsonContext.Default);
        });
        services.AddApiErrors();

        services.AddOptions<FileLinkOptions>().Configure<IConfiguration>((options, configuration) => configuration.Bind(options)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<FileLinkOptions>, GeneratedSigningKey>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FileLinkOptions>, FileLinkOptionsValidator>());
        services.TryAddSingleton<FileUrls>();
        services.AddHostedService<StartupBanner>();
        return services;
    }
}
