namespace Reelay.Limits;

public static class LimitsExtensions
{
    /// <summary>Per-key and per-account request rates (in process).</summary>
    public static IServiceCollection AddRequestLimits(this IServiceCollection services)
    {
        services.TryAddSingleton<RequestRates>();
        return services;
    }
}
