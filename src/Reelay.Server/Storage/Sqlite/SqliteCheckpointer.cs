namespace Reelay.Storage.Sqlite;

/// <summary>Checkpoints the WAL every second, off the request path (connections do not auto-checkpoint).</summary>
internal sealed partial class SqliteCheckpointer(SqliteDatabase database, TimeProvider time, ILogger<SqliteCheckpointer> logger) : BackgroundService
{
    private readonly StoreOutage _outage = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await CheckpointAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        // A last checkpoint on the way out keeps the WAL file small between runs.
        await CheckpointAsync(CancellationToken.None);
    }

    /// <summary>A failed checkpoint is tried again next second; only the first failure of a run of them is logged.</summary>
    private async Task CheckpointAsync(CancellationToken cancellationToken)
    {
        try
        {
            await database.CheckpointAsync(cancellationToken);
            if (_outage.Succeeded())
            {
                LogCheckpointRecovered(logger);
            }
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or StoreUnavailableException)
        {
            if (_outage.Failed())
            {
                LogCheckpointFailed(logger, e);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "WAL checkpoint failed; it is tried again every second")]
    private static partial void LogCheckpointFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "WAL checkpoints succeed again")]
    private static partial void LogCheckpointRecovered(ILogger logger);
}
