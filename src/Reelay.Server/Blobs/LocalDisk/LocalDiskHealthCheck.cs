using Microsoft.Extensions.Diagnostics.HealthChecks;
using Reelay.Hosting;

namespace Reelay.Blobs.LocalDisk;

/// <summary>Readiness of the local blob store: its directory exists (a missing mount reads as not ready).</summary>
internal sealed class LocalDiskHealthCheck(DataDirectory data) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(Directory.Exists(data.Files)
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy($"data directory {data.Files} is missing"));
}
