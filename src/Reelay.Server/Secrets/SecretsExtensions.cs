using Microsoft.Extensions.Options;
using Reelay.Health;

namespace Reelay.Secrets;

public static class SecretsExtensions
{
    /// <summary>
    /// Encryption of stored secrets: the Data Protection key ring (<c>SECRETS_KEY_RING</c>, sealed with
    /// <c>SECRETS_KEY</c> when set), the protector stores use, the startup check the storage backend
    /// runs after migrating, rotation, and readiness naming the secrets that do not decrypt. Stores
    /// that keep secrets register themselves as <see cref="ISecretHolder"/>.
    /// </summary>
    public static IServiceCollection AddSecrets(this IServiceCollection services)
    {
        services.AddOptions<SecretsOptions>().Configure<IConfiguration>((options, configuration) => configuration.Bind(options)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SecretsOptions>, SecretsOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SecretKeyRing>();
        services.TryAddSingleton<SecretProtector>();
        services.TryAddSingleton<UnreadableSecrets>();
        services.TryAddSingleton<SecretsStartup>();
        services.TryAddSingleton<SecretRotation>();
        services.AddHealthChecks().AddCheck<SecretsHealthCheck>("secrets", tags: [HealthExtensions.ReadyTag]);
        return services;
    }
}
