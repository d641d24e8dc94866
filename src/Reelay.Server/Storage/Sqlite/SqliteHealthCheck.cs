using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Reelay.Storage.Sqlite;

/// <summary>
/// Readiness of the SQLite store: not ready while writes are failing (another process holds the
/// database past the busy timeout, the disk is full, the file turned read-only) or when the file
/// does not answer a query; ready again after the next write that succeeds, the probe's included.
/// </summary>
public sealed class SqliteHealthCheck(SqliteDatabase database) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (database.WriteFailure is { } failure)
        {
            return HealthCheckResult.Unhealthy(string.Create(CultureInfo.InvariantCulture,
                $"store cannot write: {failure.Detail}; since {failure.Since:yyyy-MM-ddTHH:mm:ssZ}"));
        }

        try
        {
            using var session = await database.RentSessionAsync(cancellationToken);
            await session.Command("SELECT 1").ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (StoreUnavailableException e)
        {
            return HealthCheckResult.Unhealthy("database unavailable: " + e.Message);
        }
        catch (SqliteException e)
        {
            return HealthCheckResult.Unhealthy("database unavailable: " + e.Message);
        }
    }
}
