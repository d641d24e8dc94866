using Microsoft.Extensions.Options;
using Reelay.Channels;
using Reelay.Hosting;
using Reelay.Keys;
using Reelay.Storage.Sqlite;

namespace Reelay.Storage;

public static partial class StorageExtensions
{
    /// <summary>The embedded default: one SQLite file in the data directory, and its readiness check (tag <c>ready</c>).</summary>
    public static IServiceCollection AddSqliteStorage(this IServiceCollection services)
    {
        services.AddOptions<StorageOptions>().BindConfiguration("Storage").ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new SqliteDatabase(
            sp.GetRequiredService<DataDirectory>().Database,
            sp.GetRequiredService<IOptions<StorageOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<SqliteDatabase>>()));
        services.AddSingleton<ITaskStore, SqliteTaskStore>();
        services.AddSingleton<IKeyStore, SqliteKeyStore>();
        services.AddSingleton<IChannelStore, SqliteChannelStore>();
        services.AddHostedService<SqliteMigrator>();
        services.AddHostedService<SqliteCheckpointer>();
        services.AddHostedService<SqliteWriteProbe>();
        services.AddHealthChecks().AddCheck<SqliteHealthCheck>("database", tags: [HealthTags.Ready]);
        return services;
    }

    /// <summary>Checkpoints the WAL every second, off the request path (connections do not auto-checkpoint).</summary>
    private sealed partial class SqliteCheckpointer(SqliteDatabase database, TimeProvider time, ILogger<SqliteCheckpointer> logger) : BackgroundService
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

    /// <summary>While writes are failing, probes with a small write every <see cref="StorageOptions.ProbeInterval"/> so readiness recovers without traffic.</summary>
    private sealed class SqliteWriteProbe(SqliteDatabase database, TimeProvider time, IOptions<StorageOptions> options) : BackgroundService
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

    /// <summary>Migrates before anything else starts: hosted services start in registration order.</summary>
    private sealed class SqliteMigrator(SqliteDatabase database) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => database.MigrateAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
