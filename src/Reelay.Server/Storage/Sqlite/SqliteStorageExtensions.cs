using Reelay.Channels;
using Reelay.Health;
using Reelay.Hosting;
using Reelay.Keys;
using Reelay.Tasks;

namespace Reelay.Storage.Sqlite;

public static class SqliteStorageExtensions
{
    /// <summary>The embedded default: tasks, keys and channels in one SQLite file in the data directory.</summary>
    public static IServiceCollection AddSqliteStorage(this IServiceCollection services)
    {
        services.TryAddSingleton(sp => new SqliteDatabase(sp.GetRequiredService<DataDirectory>().Database));
        services.TryAddSingleton<SqliteTaskStore>();
        services.TryAddSingleton<ITaskStore>(sp => sp.GetRequiredService<SqliteTaskStore>());
        services.TryAddSingleton<ITaskMonitor>(sp => sp.GetRequiredService<SqliteTaskStore>());
        services.TryAddSingleton<IKeyStore, SqliteKeyStore>();
        services.TryAddSingleton<IChannelStore, SqliteChannelStore>();

        // Inserted first: hosted services start in registration order, and the schema must exist
        // before the channel reloader or any worker reads it, wherever this call sits in Program.cs.
        services.Insert(0, ServiceDescriptor.Singleton<IHostedService, SqliteMigrator>());
        services.AddHostedService<SqliteCheckpointer>();
        services.AddHealthChecks().AddCheck<SqliteHealthCheck>("sqlite", tags: [HealthExtensions.ReadyTag]);
        return services;
    }
}
