using Reelay.Accounts;
using Reelay.Audit;
using Reelay.Billing;
using Reelay.Catalog;
using Reelay.Channels;
using Reelay.Keys;
using Reelay.Secrets;
using Reelay.Tasks;

namespace Reelay.Storage.Relational;

public static class RelationalStorageExtensions
{
    /// <summary>
    /// What both backends register alike over their <typeparamref name="TDatabase"/>: the shared stores (keys,
    /// accounts and their ledger, prices, catalog, the audit log, channels, the webhook outbox), the backend's
    /// own <typeparamref name="TTaskStore"/> behind the wrapper that publishes task changes, and the migrator.
    /// </summary>
    public static IServiceCollection AddRelationalStores<TDatabase, TTaskStore>(this IServiceCollection services)
        where TDatabase : class, IRelationalDatabase
        where TTaskStore : class, ITaskStore, ITaskMonitor
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IRelationalDatabase>(sp => sp.GetRequiredService<TDatabase>());
        services.TryAddSingleton<TTaskStore>();
        // Wrapped so that every committed change to a task wakes whoever waits on it (long-polls, event streams).
        services.TryAddSingleton<ITaskChanges, InProcessTaskChanges>();
        services.TryAddSingleton<ITaskStore>(sp => new PublishingTaskStore(sp.GetRequiredService<TTaskStore>(), sp.GetRequiredService<ITaskChanges>()));
        services.TryAddSingleton<ITaskMonitor>(sp => sp.GetRequiredService<TTaskStore>());
        services.TryAddSingleton<IKeyStore, RelationalKeyStore>();
        services.TryAddSingleton<RelationalChannelStore>();
        services.TryAddSingleton<IChannelStore>(sp => sp.GetRequiredService<RelationalChannelStore>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ISecretHolder, RelationalChannelStore>(sp => sp.GetRequiredService<RelationalChannelStore>()));
        services.TryAddSingleton<RelationalWebhookStore>();
        services.TryAddSingleton<Webhooks.IWebhookStore>(sp => sp.GetRequiredService<RelationalWebhookStore>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ISecretHolder, RelationalWebhookStore>(sp => sp.GetRequiredService<RelationalWebhookStore>()));
        services.TryAddSingleton<IAccountStore, RelationalAccountStore>();
        services.TryAddSingleton<IPriceStore, RelationalPriceStore>();
        services.TryAddSingleton<ICatalogStore, RelationalCatalogStore>();
        services.TryAddSingleton<IAuditLog, RelationalAuditLog>();

        // Inserted first: hosted services start in registration order, and the schema must exist
        // before the channel reloader or any worker reads it, wherever this call sits in Program.cs.
        services.Insert(0, ServiceDescriptor.Singleton<IHostedService, RelationalMigrator>());
        return services;
    }
}
