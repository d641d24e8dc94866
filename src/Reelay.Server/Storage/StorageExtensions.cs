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

    /// <summary>Migrates before anything else starts: hosted services start in registration order.</summary>
    private sealed class SqliteMigrator(SqliteDatabase database) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => database.MigrateAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
