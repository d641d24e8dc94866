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
    /// <summary>
    /// Once the WAL has been emptied, the next writer starts it over and cuts the file back to this
    /// size: without a limit SQLite keeps the file at its largest ever size for reuse.
    /// </summary>
    public const long JournalSizeLimitBytes = 4 * 1024 * 1024;

    /// <summary>Idle sessions kept for reuse; more than this are closed when returned.</summary>
    private const int MaxIdleSessions = 32;

    /// <summary>The busy timeout of ordinary statements: another process's writer is waited for, not failed on.</summary>
    private static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(30);

    private readonly string _connectionString;
    private readonly string _sessionConnectionString;
    private readonly ConditionalWeakTable<object, object> _configured = [];
    private readonly ConcurrentBag<SqliteSession> _idle = [];
    private readonly SemaphoreSlim _writeGate = new(1, 1);

    public SqliteDatabase(string path)
    {
        WalPath = path + "-wal";
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

    /// <summary>The write-ahead log beside it, whose size the checkpointer watches.</summary>
    public string WalPath { get; }

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

    /// <summary>Copies committed WAL pages into the database file without blocking writers; under load it may not get through them all.</summary>
    public async Task<CheckpointResult> CheckpointAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await RunCheckpointAsync(connection, "PASSIVE", cancellationToken);
    }

    /// <summary>
    /// Copies the whole WAL into the database file and truncates it to nothing. Holds the write gate
    /// meanwhile, so this process's writers queue behind it instead of appending to the log being
    /// emptied; readers of older snapshots are waited for up to <paramref name="busyTimeout"/>
    /// (new readers read the database file and do not hold it up). Busy when a reader (or another
    /// process) held it up past that: the WAL was copied as far as possible and is left in place.
    /// </summary>
    public async Task<CheckpointResult> TruncateWalAsync(TimeSpan busyTimeout, CancellationToken cancellationToken)
    {
        using var gate = await EnterWriteAsync(cancellationToken);
        await using var connection = await OpenAsync(cancellationToken);
        await using (var shorter = connection.CreateCommand())
        {
            shorter.CommandText = $"PRAGMA busy_timeout={(long)busyTimeout.TotalMilliseconds};";
            await shorter.ExecuteNonQueryAsync(cancellationToken);
        }

        try
        {
            return await RunCheckpointAsync(connection, "TRUNCATE", cancellationToken);
        }
        finally
        {
            // The connection goes back to the pool: later users expect the usual timeout.
            await using var usual = connection.CreateCommand();
            usual.CommandText = $"PRAGMA busy_timeout={(long)BusyTimeout.TotalMilliseconds};";
            await usual.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    /// <summary>The WAL file's size in bytes; 0 when there is none.</summary>
    public long WalBytes()
    {
        var wal = new FileInfo(WalPath);
        return wal.Exists ? wal.Length : 0;
    }

    private static async Task<CheckpointResult> RunCheckpointAsync(SqliteConnection connection, string mode, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA wal_checkpoint({mode});";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new CheckpointResult(reader.GetInt64(0) != 0, reader.GetInt64(1), reader.GetInt64(2));
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
        // journal_size_limit: applies to whichever connection restarts the WAL, so every connection sets it.
        pragmas.CommandText = $"PRAGMA synchronous=NORMAL; PRAGMA busy_timeout={(long)BusyTimeout.TotalMilliseconds}; PRAGMA foreign_keys=ON; PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit={JournalSizeLimitBytes};";
        pragmas.ExecuteNonQuery();
    }

    /// <summary>What <c>PRAGMA wal_checkpoint</c> answered.</summary>
    /// <param name="Busy">A reader or writer kept the checkpoint from finishing what its mode asks.</param>
    /// <param name="LogFrames">Frames in the WAL afterwards (0 once truncated).</param>
    /// <param name="CheckpointedFrames">Of those, the frames already copied into the database file.</param>
    public readonly record struct CheckpointResult(bool Busy, long LogFrames, long CheckpointedFrames);

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
