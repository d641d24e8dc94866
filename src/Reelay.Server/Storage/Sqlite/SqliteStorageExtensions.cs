using Microsoft.Extensions.Options;
using Reelay.Health;
using Reelay.Hosting;
using Reelay.Storage.Relational;

namespace Reelay.Storage.Sqlite;

public static class SqliteStorageExtensions
{
    /// <summary>The embedded default: tasks, keys, accounts and their ledger, prices, the audit log, channels and the webhook outbox in one SQLite file in the data directory, and its readiness check.</summary>
    public static IServiceCollection AddSqliteStorage(this IServiceCollection services)
    {
        services.AddOptions<StorageOptions>().BindConfiguration("Storage").ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new SqliteDatabase(
            sp.GetRequiredService<DataDirectory>().Database,
            sp.GetRequiredService<IOptions<StorageOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<SqliteDatabase>>()));
        services.AddRelationalStores<SqliteDatabase, SqliteTaskStore>();
        services.AddHostedService<SqliteCheckpointer>();
        services.AddHostedService<SqliteWriteProbe>();
        services.AddHealthChecks().AddCheck<SqliteHealthCheck>("database", tags: [HealthExtensions.ReadyTag]);
        return services;
    }
}
