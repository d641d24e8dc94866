using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Dapper;
using Microsoft.Data.Sqlite;

namespace Reelay.Storage.Sqlite;

/// <summary>
/// Connections to the SQLite file with the settings every connection needs, the schema migrations,
/// a pool of sessions that keep their hot statements prepared, and the in-process write gate.
/// WAL lets readers run beside the one writer; synchronous=NORMAL in WAL mode survives a killed
/// process (the guarantee tasks need) and syncs at checkpoints.
/// </summary>
public sealed class SqliteDatabase : IDisposable
{
    /// <summary>Idle sessions kept for reuse; more than this are closed when returned.</summary>
    private const int MaxIdleSessions = 32;

    private readonly string _connectionString;
    private readonly string _sessionConnectionString;
    private readonly ConditionalWeakTable<object, object> _configured = [];
    private readonly ConcurrentBag<SqliteSession> _idle = [];
    private readonly SemaphoreSlim _writeGate = new(1, 1);

    public SqliteDatabase(string path)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        };
        _connectionString = builder.ToString();
        builder.Pooling = false;
        _sessionConnectionString = builder.ToString();
    }

    /// <summary>A pooled connection, configured once per physical connection.</summary>
    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        if (!_configured.TryGetValue(connection.Handle!, out _))
        {
            Configure(connection);
            _configured.AddOrUpdate(connection.Handle!, this);
        }

        return connection;
    }

    /// <summary>A session whose statements stay prepared between uses: for the request hot paths.</summary>
    public async ValueTask<SqliteSession> RentSessionAsync(CancellationToken cancellationToken)
    {
        if (_idle.TryTake(out var session))
        {
            return session;
        }

        var connection = new SqliteConnection(_sessionConnectionString);
        await connection.OpenAsync(cancellationToken);
        Configure(connection);
        return new SqliteSession(connection, this);
    }

    internal void Return(SqliteSession session)
    {
        if (_idle.Count < MaxIdleSessions)
        {
            _idle.Add(session);
        }
        else
        {
            session.Close();
        }
    }

    /// <summary>
    /// Holds the in-process write gate. SQLite admits one writer at a time anyway; queueing here
    /// rather than in SQLite's busy handler (which sleeps in steps of up to 100 ms) keeps write
    /// latency even under load.
    /// </summary>
    public async ValueTask<WriteGate> EnterWriteAsync(CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken);
        return new WriteGate(_writeGate);
    }

    /// <summary>Applies every migration not yet applied, in order, each in its own transaction.</summary>
    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await connection.ExecuteAsync("PRAGMA journal_mode=WAL;");
        await connection.ExecuteAsync("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
        for (var version = 1; version <= SqliteSchema.Migrations.Count; version++)
        {
            // BEGIN IMMEDIATE takes the write lock first, so two instances starting together apply each step once.
            await connection.ExecuteAsync("BEGIN IMMEDIATE");
            try
            {
                var applied = await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM schema_migrations WHERE version = @version", new { version });
                if (applied == 0)
                {
                    await connection.ExecuteAsync(SqliteSchema.Migrations[version - 1]);
                    await connection.ExecuteAsync("INSERT INTO schema_migrations (version, applied_at) VALUES (@version, @now)",
                        new { version, now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() });
                }

                await connection.ExecuteAsync("COMMIT");
            }
            catch
            {
                await connection.ExecuteAsync("ROLLBACK");
                throw;
            }
        }
    }

    /// <summary>Copies committed WAL pages into the database file without blocking writers.</summary>
    public async Task CheckpointAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public void Dispose()
    {
        while (_idle.TryTake(out var session))
        {
            session.Close();
        }

        // Microsoft.Data.Sqlite pools connections process-wide by connection string: a later
        // instance over the same path must not inherit handles to this one's file.
        using (var connection = new SqliteConnection(_connectionString))
        {
            SqliteConnection.ClearPool(connection);
        }

        _writeGate.Dispose();
    }

    private static void Configure(SqliteConnection connection)
    {
        using var pragmas = connection.CreateCommand();
        // busy_timeout: another process's writer (a second instance, the sqlite3 shell) is waited for, not failed on.
        // wal_autocheckpoint=0: checkpoints (which sync the database file) run in the background
        // checkpointer instead of stalling whichever commit crosses the threshold.
        pragmas.CommandText = "PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000; PRAGMA foreign_keys=ON; PRAGMA wal_autocheckpoint=0;";
        pragmas.ExecuteNonQuery();
    }

    /// <summary>Releases the write gate when disposed.</summary>
    public readonly struct WriteGate(SemaphoreSlim gate) : IDisposable
    {
        public void Dispose() => gate.Release();
    }
}

/// <summary>An open connection with its prepared statements, rented from <see cref="SqliteDatabase"/>.</summary>
public sealed class SqliteSession : IDisposable
{
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
    private readonly SqliteDatabase _owner;

    internal SqliteSession(SqliteConnection connection, SqliteDatabase owner)
    {
        Connection = connection;
        _owner = owner;
    }

    public SqliteConnection Connection { get; }

    /// <summary>The prepared command for this SQL, its parameters cleared for the caller to fill.</summary>
    public SqliteCommand Command(string sql)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = Connection.CreateCommand();
            command.CommandText = sql;
            command.Prepare();
            _commands[sql] = command;
        }

        command.Parameters.Clear();
        return command;
    }

    /// <summary>Back to the pool.</summary>
    public void Dispose() => _owner.Return(this);

    internal void Close()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }

        Connection.Dispose();
    }
}
