using Dapper;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Reelay.Storage.Postgres;

/// <summary>
/// Readiness of the PostgreSQL store: ready while a pooled connection answers a query. Each check asks
/// the server again, so readiness recovers by itself once the server is back, without traffic.
/// </summary>
public sealed class PostgresHealthCheck(PostgresDatabase database) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await database.ReadAsync(connection => connection.ExecuteScalarAsync<int>(new CommandDefinition("SELECT 1", cancellationToken: cancellationToken)), cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (StoreUnavailableException e)
        {
            return HealthCheckResult.Unhealthy("database unavailable: " + e.Message + (e.InnerException is { } inner ? $" ({inner.Message.TrimEnd('.')})" : ""));
        }
    }
}
