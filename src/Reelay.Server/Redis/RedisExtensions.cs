using Microsoft.Extensions.Options;
using Reelay.Health;
using Reelay.Keys;
using Reelay.Limits;
using Reelay.Storage;
using Reelay.Tasks;

namespace Reelay.Redis;

public static class RedisExtensions
{
    /// <summary>
    /// With <c>Redis:Configuration</c> set: request rates shared by every instance, the wake-up bus for
    /// waits on tasks, key revocation reaching every instance's key cache, and admin changes to channels,
    /// prices and catalog entries put in force by every instance at once, each in place of its
    /// in-process implementation (whichever of the two registrations runs first), and a readiness check
    /// that reports Redis down as degraded. Unset: nothing changes.
    /// </summary>
    public static IServiceCollection AddRedis(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RedisOptions>().BindConfiguration("Redis").ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisOptions>, RedisOptionsValidator>());
        if (string.IsNullOrWhiteSpace(configuration["Redis:Configuration"]))
        {
            return services;
        }

        services.TryAddSingleton<RedisConnection>();
        // The in-process buckets count while Redis is down.
        services.TryAddSingleton<RequestRates>();
        services.RemoveAll<IRequestRates>();
        services.AddSingleton<IRequestRates, RedisRequestRates>();
        services.RemoveAll<ITaskChanges>();
        services.AddSingleton<ITaskChanges, RedisTaskChanges>();
        services.RemoveAll<IKeyChanges>();
        services.AddSingleton<IKeyChanges, RedisKeyChanges>();
        services.RemoveAll<IStoredConfigurationChanges>();
        services.AddSingleton<IStoredConfigurationChanges, RedisConfigurationChanges>();
        services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis", tags: [HealthExtensions.ReadyTag]);
        return services;
    }
}
