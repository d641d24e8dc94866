using Microsoft.Extensions.Options;

namespace Reelay.Storage.Sqlite;

/// <summary>While writes are failing, probes with a small write every <see cref="StorageOptions.ProbeInterval"/> so readiness recovers without traffic.</summary>
internal sealed class SqliteWriteProbe(SqliteDatabase database, TimeProvider time, IOptions<StorageOptions> options) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ProbeInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (database.WriteFailure is not null)
                {
                    await database.ProbeWriteAsync(stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
