using Reelay.Channels;
using Reelay.Hosting;
using Reelay.Keys;
using Reelay.Storage.Sqlite;

namespace Reelay.Storage;

public static partial class StorageExtensions
{
    /// <summary>The embedded default: one SQLite file in the data directory.</summary>
    public static IServiceCollection AddSqliteStorage(this IServiceCollection services)
    {
        services.AddSingleton(sp => new SqliteDatabase(sp.GetRequiredService<DataDirectory>().Database));
        services.AddSingleton<ITaskStore, SqliteTaskStore>();
        services.AddSingleton<IKeyStore, SqliteKeyStore>();
        services.AddSingleton<IChannelStore, SqliteChannelStore>();
        services.AddHostedService<SqliteMigrator>();
        services.AddHostedService<SqliteCheckpointer>();
        return services;
    }

    /// <summary>Checkpoints the WAL every second, off the request path (connections do not auto-checkpoint).</summary>
    private sealed partial class SqliteCheckpointer(SqliteDatabase database, TimeProvider time, ILogger<SqliteCheckpointer> logger) : BackgroundService
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

    /// <summary>Migrates before anything else starts: hosted services start in registration order.</summary>
    private sealed class SqliteMigrator(SqliteDatabase database) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => database.MigrateAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
