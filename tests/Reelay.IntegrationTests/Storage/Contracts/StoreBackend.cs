using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Reelay.Accounts;
using Reelay.Audit;
using Reelay.Billing;
using Reelay.Catalog;
using Reelay.Channels;
using Reelay.Hosting;
using Reelay.Keys;
using Reelay.Secrets;
using Reelay.Storage.Postgres;
using Reelay.Storage.Relational;
using Reelay.Storage.Sqlite;
using Reelay.Tasks;
using Reelay.Testing;
using Reelay.Webhooks;

namespace Reelay.IntegrationTests.Storage.Contracts;

/// <summary>
/// Every store of one backend over one clean database, built as the server builds them (migrated, secrets
/// encrypted under a key ring of its own), for the contract suites. Disposing it checks the books
/// (<see cref="LedgerInvariants"/>) and removes the SQLite file; a PostgreSQL database goes with the run's server.
/// </summary>
public sealed class StoreBackend : IAsyncDisposable
{
    private readonly ScratchDir _data;
    private readonly SecretKeyRing _ring;
    private readonly Func<DbConnection> _connect;
    private readonly Action _assertBooks;
    private readonly Func<ValueTask> _close;

    /// <summary>The backend's own task store beside the shared relational stores over <paramref name="database"/>, as the server registers them.</summary>
    private StoreBackend(ScratchDir data, IRelationalDatabase database, Func<DbConnection> connect, Action assertBooks, Func<ValueTask> close)
    {
        (_data, _connect, _assertBooks, _close) = (data, connect, assertBooks, close);
        var (ring, protector, unreadable) = Secrets(data);
        _ring = ring;
        Accounts = new RelationalAccountStore(database);
        Keys = new RelationalKeyStore(database);
        Channels = new RelationalChannelStore(database, protector, unreadable);
        Webhooks = new RelationalWebhookStore(database, protector);
        Prices = new RelationalPriceStore(database);
        Catalog = new RelationalCatalogStore(database);
        Audit = new RelationalAuditLog(database);
    }

    public required ITaskStore Tasks { get; init; }
    public required ITaskMonitor Monitor { get; init; }
    public IAccountStore Accounts { get; }
    public IKeyStore Keys { get; }
    public IChannelStore Channels { get; }
    public IWebhookStore Webhooks { get; }
    public IPriceStore Prices { get; }
    public ICatalogStore Catalog { get; }
    public IAuditLog Audit { get; }

    /// <summary>A plain connection to the same database, past the stores (as an operator's SQL shell reaches it).</summary>
    public DbConnection Connect()
    {
        var connection = _connect();
        connection.Open();
        return connection;
    }

    /// <summary>The SQLite database under the stores, for tests of what only it has (its write gate); null on PostgreSQL.</summary>
    public SqliteDatabase? Sqlite { get; init; }

    public static async Task<StoreBackend> SqliteAsync(CancellationToken cancellationToken, StorageOptions? options = null)
    {
        var data = new ScratchDir();
        var path = Path.Combine(data.Path, "reelay.db");
        var database = new SqliteDatabase(path, options ?? new StorageOptions(), TimeProvider.System, NullLogger<SqliteDatabase>.Instance);
        await database.MigrateAsync(cancellationToken);
        var tasks = new SqliteTaskStore(database);
        return new StoreBackend(data, database, () => new SqliteConnection($"Data Source={path};Pooling=False"), () => LedgerInvariants.AssertHold(path), () =>
        {
            database.Dispose();
            return ValueTask.CompletedTask;
        })
        {
            Tasks = tasks,
            Monitor = tasks,
            Sqlite = database,
        };
    }

    public static async Task<StoreBackend> PostgresAsync(CancellationToken cancellationToken)
    {
        var server = await PostgresServer.SharedAsync();
        var connectionString = await server.CreateDatabaseAsync(cancellationToken);
        var data = new ScratchDir();
        var database = new PostgresDatabase(new PostgresOptions { ConnectionString = connectionString }, NullLogger<PostgresDatabase>.Instance);
        await database.MigrateAsync(cancellationToken);
        var tasks = new PostgresTaskStore(database, TimeProvider.System);
        return new StoreBackend(data, database, () => new NpgsqlConnection(connectionString), () => LedgerInvariants.AssertHoldInPostgres(connectionString), () => database.DisposeAsync())
        {
            Tasks = tasks,
            Monitor = tasks,
        };
    }

    private static (SecretKeyRing, SecretProtector, UnreadableSecrets) Secrets(ScratchDir data)
    {
        var directory = new DataDirectory(Options.Create(new DataDirectoryOptions { DataDir = data.Path }));
        var ring = new SecretKeyRing(Options.Create(new SecretsOptions()), directory, NullLoggerFactory.Instance, TimeProvider.System);
        return (ring, new SecretProtector(ring), new UnreadableSecrets(NullLogger<UnreadableSecrets>.Instance));
    }

    /// <summary>Checks the books, then closes the stores and removes their scratch directory.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            _assertBooks();
        }
        finally
        {
            await _close();
            _ring.Dispose();
            _data.Dispose();
        }
    }

    /// <summary>A temporary directory removed on dispose.</summary>
    private sealed class ScratchDir : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "reelay-store-" + Guid.NewGuid().ToString("N"));

        public ScratchDir() => Directory.CreateDirectory(Path);

        public void Dispose()
        {
            try
            {
                Directory.Delete(Path, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
