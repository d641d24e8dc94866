using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Reelay.Blobs.S3;

/// <summary>Readiness of the S3 blob store: its bucket answers a HEAD with the configured credentials (<see cref="S3BlobStore.CheckBucketAsync"/>).</summary>
internal sealed class S3HealthCheck(S3BlobStore store) : IHealthCheck
{
    /// <summary>A probe must answer; the SDK's own timeout and retries would take minutes against an endpoint that does not.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(Timeout);
        try
        {
            return await store.CheckBucketAsync(bounded.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"S3 at {store.Endpoint} did not answer within {Timeout.TotalSeconds:0} s (Blobs:S3:ServiceUrl).");
        }
    }
}

/// <summary>
/// Looks at the bucket once at startup, creating it with <c>Blobs:S3:CreateBucket</c>: the first upload need
/// not wait for a readiness probe to make it, and a wrong setting shows in the log at once.
/// </summary>
internal sealed partial class S3StartupCheck(S3BlobStore store, ILogger<S3StartupCheck> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var result = await new S3HealthCheck(store).CheckHealthAsync(new HealthCheckContext(), cancellationToken);
        if (result.Status != HealthStatus.Healthy)
        {
            // Not fatal: the store may come up after Reelay; readiness keeps reporting (and creating) it.
            LogNotReady(logger, result.Description ?? "unknown");
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "S3 blob store not ready at startup: {Reason}")]
    private static partial void LogNotReady(ILogger logger, string reason);
}
