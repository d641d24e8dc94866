namespace Reelay.Storage.Sqlite;

/// <summary>
/// Migrates the schema before any worker or request touches it: registered by
/// <see cref="SqliteStorageExtensions.AddSqliteStorage"/> ahead of every other hosted service, since
/// hosted services start in registration order.
/// </summary>
internal sealed class SqliteMigrator(SqliteDatabase database) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => database.MigrateAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
