using Reelay.Secrets;

namespace Reelay.Storage.Relational;

/// <summary>
/// Migrates the schema before any worker or request touches it: registered by
/// <see cref="RelationalStorageExtensions.AddRelationalStores"/> ahead of every other hosted service, since
/// hosted services start in registration order. Then the stored secrets: checked against the key ring
/// (a wrong one stops startup here) and plain-text ones from an earlier version encrypted, before the
/// channel reloader or any worker reads them.
/// </summary>
internal sealed class RelationalMigrator(IRelationalDatabase database, SecretsStartup secrets) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await database.MigrateAsync(cancellationToken);
        await secrets.RunAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
