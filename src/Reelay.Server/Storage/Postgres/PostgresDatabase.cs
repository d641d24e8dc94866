using System.Data;
using System.Data.Common;
using Dapper;
using Npgsql;
using Reelay.Storage.Relational;

namespace Reelay.Storage.Postgres;

/// <summary>
/// The one <see cref="NpgsqlDataSource"/> of the process (its connection pool), the schema migrations,
/// and the translation of a database that cannot be reached into <see cref="StoreUnavailableException"/>
/// — the same refusal SQLite's busy and locked errors become, so the API answers 503 with
/// <c>Retry-After</c> and the workers back off, whichever store is behind them.
/// </summary>
public sealed partial class PostgresDatabase : IRelationalDatabase, IAsyncDisposable
{
    /// <summary>
    /// The database's clock in Unix ms, for leases: every instance compares lease expiries with the same
    /// clock, so an instance whose own clock runs ahead cannot take a lease that is still live.
    /// <c>clock_timestamp()</c> rather than <c>now()</c>: inside a transaction <c>now()</c> stays at its start.
    /// </summary>
    public const string NowMs = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

    /// <summary>The advisory lock migrations hold: any 64-bit number no other application on the database uses ("reelay" in ASCII).</summary>
    private const long MigrationLockKey = 0x7265656c6179;

    private readonly ILogger<PostgresDatabase> _logger;
    private int _failing;

    public PostgresDatabase(PostgresOptions options, ILogger<PostgresDatabase> logger)
    {
        _logger = logger;
        RetryAfter = options.RetryAfter;
        var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        // Defaults where the operator said nothing. Auto-prepare keeps the hot statements (create, query,
        // claim, fenced updates) prepared per physical connection after their second use; a bounded wait for
        // a pooled connection turns an exhausted pool or an unreachable server into a 503, not a hung request.
        if (!HasSetting(options.ConnectionString!, "Max Auto Prepare"))
        {
            builder.MaxAutoPrepare = 64;
            builder.AutoPrepareMinUsages = 2;
        }

        if (!HasSetting(options.ConnectionString!, "Timeout"))
        {
            builder.Timeout = 5;
        }

        builder.ApplicationName ??= "reelay";
        DataSource = NpgsqlDataSource.Create(builder.ConnectionString);
    }

    /// <summary>The process's pool; every store draws from it.</summary>
    public NpgsqlDataSource DataSource { get; }

    /// <summary>What a client should wait before trying a refused call again.</summary>
    public TimeSpan RetryAfter { get; }

    /// <summary>Runs a read on a pooled connection; a database that cannot be reached becomes <see cref="StoreUnavailableException"/>.</summary>
    public async Task<T> ReadAsync<T>(Func<NpgsqlConnection, Task<T>> read, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await DataSource.OpenConnectionAsync(cancellationToken);
            return await read(connection);
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            throw Unavailable(e);
        }
    }

    /// <summary>Runs a write on a pooled connection, in autocommit; a database that cannot be reached becomes <see cref="StoreUnavailableException"/>.</summary>
    public async Task<T> WriteAsync<T>(Func<NpgsqlConnection, Task<T>> write, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await DataSource.OpenConnectionAsync(cancellationToken);
            var result = await write(connection);
            Succeeded();
            return result;
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            throw Unavailable(e);
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> in one READ COMMITTED transaction and commits it; anything thrown rolls
    /// it back, so nothing of it is stored. The rows a statement changes are locked until the commit, so
    /// conditional updates (holds, fenced writes) see the latest committed row and cannot interleave.
    /// </summary>
    public async Task<T> TransactAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await DataSource.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);
            var result = await work(connection, transaction);
            // Checkpoint: once this returns, every write of the work is stored together; before it, none is.
            await transaction.CommitAsync(CancellationToken.None);
            Succeeded();
            return result;
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            throw Unavailable(e);
        }
    }

    public SqlDialect Dialect => PostgresDialect.Instance;

    Task<T> IRelationalDatabase.ReadAsync<T>(Func<DbConnection, Task<T>> read, CancellationToken cancellationToken) =>
        ReadAsync<T>(connection => read(connection), cancellationToken);

    Task<T> IRelationalDatabase.WriteAsync<T>(Func<DbConnection, Task<T>> write, CancellationToken cancellationToken) =>
        WriteAsync<T>(connection => write(connection), cancellationToken);

    Task<T> IRelationalDatabase.TransactAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken) =>
        TransactAsync<T>((connection, transaction) => work(connection, transaction), cancellationToken);

    /// <summary>
    /// A plain transaction: PostgreSQL keeps the row versions it replaced until vacuum reuses their space,
    /// and offers no way to zero them sooner.
    /// </summary>
    public Task<int> OverwriteSecretsAsync(Func<DbConnection, DbTransaction, Task<int>> work, CancellationToken cancellationToken) =>
        TransactAsync<int>((connection, transaction) => work(connection, transaction), cancellationToken);

    /// <summary>
    /// True when the database, not the statement, is at fault: it cannot be reached or went away
    /// (connection refused, reset, timed out, shutting down), it is out of resources, or it gave up on a
    /// lock or a serialization conflict that a later try would not meet.
    /// </summary>
    public static bool IsUnavailable(Exception e) => e switch
    {
        PostgresException p => p.SqlState.StartsWith("08", StringComparison.Ordinal) // connection exception
            || p.SqlState.StartsWith("53", StringComparison.Ordinal) // insufficient resources (disk full, too many connections)
            || p.SqlState.StartsWith("57P", StringComparison.Ordinal) // admin shutdown, crash shutdown, cannot connect now
            || p.SqlState.StartsWith("58", StringComparison.Ordinal) // system error (I/O)
            || p.SqlState is "55P03" or "40001" or "40P01" or "25006", // lock not available, serialization, deadlock, read-only
        NpgsqlException => true,
        _ => false,
    };

    /// <summary>The domain's view of a database that cannot be reached; the first one of an outage is logged.</summary>
    public StoreUnavailableException Unavailable(Exception e)
    {
        var (reason, message) = e switch
        {
            PostgresException { SqlState: "53100" } => (StoreUnavailableReason.Full, "the disk holding the PostgreSQL database is full"),
            PostgresException p when p.SqlState.StartsWith("58", StringComparison.Ordinal) => (StoreUnavailableReason.IoError, "the PostgreSQL server failed a read or write"),
            PostgresException { SqlState: "25006" } => (StoreUnavailableReason.ReadOnly, "the PostgreSQL server is read-only (a standby?)"),
            PostgresException { SqlState: "40001" or "40P01" or "55P03" } => (StoreUnavailableReason.Busy, "the database is busy: a conflicting transaction held the rows"),
            _ => (StoreUnavailableReason.CannotOpen, "the PostgreSQL server cannot be reached"),
        };
        if (Interlocked.Exchange(ref _failing, 1) == 0)
        {
            LogUnavailable(_logger, $"{message} ({e.Message.TrimEnd('.')})");
        }

        return new StoreUnavailableException(reason, message, RetryAfter, e);
    }

    /// <summary>A write went through: if the database was failing, it no longer is.</summary>
    public void Succeeded()
    {
        if (Volatile.Read(ref _failing) == 1 && Interlocked.Exchange(ref _failing, 0) == 1)
        {
            LogRecovered(_logger);
        }
    }

    /// <summary>
    /// Applies every migration not yet applied, in order, in one transaction that holds an advisory lock:
    /// instances starting together take turns, and each later one finds the schema already at its version.
    /// </summary>
    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Taken before anything is read: a second instance waits here until the first has committed.
        await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(@key)", new { key = MigrationLockKey }, transaction, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(
            "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, applied_at bigint NOT NULL)", transaction: transaction, cancellationToken: cancellationToken));
        var current = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version", transaction: transaction, cancellationToken: cancellationToken));
        for (var version = current + 1; version <= PostgresSchema.Migrations.Count; version++)
        {
            await connection.ExecuteAsync(new CommandDefinition(PostgresSchema.Migrations[version - 1], transaction: transaction, cancellationToken: cancellationToken));
            await connection.ExecuteAsync(new CommandDefinition(
                $"INSERT INTO schema_version (version, applied_at) VALUES (@version, {NowMs})", new { version }, transaction, cancellationToken: cancellationToken));
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();

    /// <summary>Whether the operator's connection string names <paramref name="key"/> itself (Npgsql's builder cannot tell a default from a given value).</summary>
    private static bool HasSetting(string connectionString, string key) =>
        connectionString.Split(';').Any(part => part.Split('=')[0].Trim().Replace(" ", "", StringComparison.Ordinal)
            .Equals(key.Replace(" ", "", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase));

    [LoggerMessage(Level = LogLevel.Warning, Message = "The database cannot be used: {Reason}. Requests answer 503 and workers back off until it can")]
    private static partial void LogUnavailable(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "The database answers again")]
    private static partial void LogRecovered(ILogger logger);
}
