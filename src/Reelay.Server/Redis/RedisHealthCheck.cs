using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Reelay.Redis;

/// <summary>
/// Readiness as far as Redis goes: degraded, never unhealthy, while it cannot be reached. An instance
/// without Redis still serves every request (rates per instance, notices within the instance), so a load
/// balancer must keep sending it traffic; <c>/readyz</c> says why it is degraded.
/// </summary>
public sealed class RedisHealthCheck(RedisConnection redis) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(redis.IsConnected
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Degraded($"redis degraded: {redis.Servers} cannot be reached; request rates are per instance and task notices stay within it until it is back"));
}
