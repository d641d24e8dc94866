namespace Reelay.Limits;

public static class LimitsExtensions
{
    /// <summary>Per-key and per-account request rates: in process unless Redis shares them (<c>AddRedis</c>).</summary>
    public static IServiceCollection AddRequestLimits(this IServiceCollection services)
    {
        services.TryAddSingleton<RequestRates>();
        services.TryAddSingleton<IRequestRates>(sp => sp.GetRequiredService<RequestRates>());
        return services;
    }
}
