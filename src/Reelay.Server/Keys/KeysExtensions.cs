namespace Reelay.Keys;

public static class KeysExtensions
{
    /// <summary>Key authentication: the admin key (generated on first start when not set) and client keys from the key store.</summary>
    public static IServiceCollection AddKeys(this IServiceCollection services)
    {
        services.AddOptions<KeyOptions>().Configure<IConfiguration>((options, configuration) => configuration.Bind(options)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Options.IPostConfigureOptions<KeyOptions>, GeneratedAdminKey>());
        services.TryAddSingleton<IKeyChanges, SingleInstanceKeyChanges>();
        services.TryAddSingleton<KeyAuthenticator>();
        return services;
    }
}
