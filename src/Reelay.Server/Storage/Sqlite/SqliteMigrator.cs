using Reelay.Secrets;

namespace Reelay.Storage.Sqlite;

/// <summary>
/// Migrates the schema before any worker or request touches it: registered by
/// <see cref="SqliteStorageExtensions.AddSqliteStorage"/> ahead of every other hosted service, since
/// hosted services start in registration order. Then the stored secrets: checked against the key ring
/// (a wrong one stops startup here) and plain-text ones from an earlier version encrypted, before the
/// channel reloader or any worker reads them.
/// </summary>
internal sealed class SqliteMigrator(SqliteDatabase database, SecretsStartup secrets) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await database.MigrateAsync(cancellationToken);
        await secrets.RunAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
