namespace Reelay.Storage.Sqlite;

/// <summary>Checkpoints the WAL every second, off the request path (connections do not auto-checkpoint).</summary>
internal sealed partial class SqliteCheckpointer(SqliteDatabase database, TimeProvider time, ILogger<SqliteCheckpointer> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await database.CheckpointAsync(stoppingToken);
                }
                catch (Microsoft.Data.Sqlite.SqliteException e)
                {
                    LogCheckpointFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        // A last checkpoint on the way out keeps the WAL file small between runs.
        await database.CheckpointAsync(CancellationToken.None);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "WAL checkpoint failed; it will be tried again")]
    private static partial void LogCheckpointFailed(ILogger logger, Exception exception);
}
