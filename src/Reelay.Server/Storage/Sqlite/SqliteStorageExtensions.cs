using Microsoft.Extensions.Options;
using Reelay.Accounts;
using Reelay.Audit;
using Reelay.Billing;
using Reelay.Catalog;
using Reelay.Channels;
using Reelay.Health;
using Reelay.Hosting;
using Reelay.Keys;
using Reelay.Secrets;
using Reelay.Tasks;

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
        services.TryAddSingleton<SqliteTaskStore>();
        // Wrapped so that every committed change to a task wakes whoever waits on it (long-polls, event streams).
        services.TryAddSingleton<ITaskChanges, InProcessTaskChanges>();
        services.TryAddSingleton<ITaskStore>(sp => new PublishingTaskStore(sp.GetRequiredService<SqliteTaskStore>(), sp.GetRequiredService<ITaskChanges>()));
        services.TryAddSingleton<ITaskMonitor>(sp => sp.GetRequiredService<SqliteTaskStore>());
        services.TryAddSingleton<IKeyStore, SqliteKeyStore>();
        services.TryAddSingleton<SqliteChannelStore>();
        services.TryAddSingleton<IChannelStore>(sp => sp.GetRequiredService<SqliteChannelStore>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ISecretHolder, SqliteChannelStore>(sp => sp.GetRequiredService<SqliteChannelStore>()));
        services.TryAddSingleton<SqliteWebhookStore>();
        services.TryAddSingleton<Webhooks.IWebhookStore>(sp => sp.GetRequiredService<SqliteWebhookStore>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ISecretHolder, SqliteWebhookStore>(sp => sp.GetRequiredService<SqliteWebhookStore>()));
        services.TryAddSingleton<IAccountStore, SqliteAccountStore>();
        services.TryAddSingleton<IPriceStore, SqlitePriceStore>();
        services.TryAddSingleton<ICatalogStore, SqliteCatalogStore>();
        services.TryAddSingleton<IAuditLog, SqliteAuditLog>();

        // Inserted first: hosted services start in registration order, and the schema must exist
        // before the channel reloader or any worker reads it, wherever this call sits in Program.cs.
        services.Insert(0, ServiceDescriptor.Singleton<IHostedService, SqliteMigrator>());
        services.AddHostedService<SqliteCheckpointer>();
        services.AddHostedService<SqliteWriteProbe>();
        services.AddHealthChecks().AddCheck<SqliteHealthCheck>("database", tags: [HealthExtensions.ReadyTag]);
        return services;
    }
}
