using Reelay.Secrets;

namespace Reelay.Storage.Postgres;

/// <summary>
/// Migrates the schema before any worker or request touches it (registered ahead of every other hosted
/// service), then checks the stored secrets against the key ring, as <c>SqliteMigrator</c> does.
/// </summary>
internal sealed class PostgresMigrator(PostgresDatabase database, SecretsStartup secrets) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await database.MigrateAsync(cancellationToken);
        await secrets.RunAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
