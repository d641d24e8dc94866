using System.Collections.Concurrent;
using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Dapper;
using Microsoft.Data.Sqlite;
using Reelay.Storage.Relational;
using SQLitePCL;

namespace Reelay.Storage.Sqlite;

/// <summary>
/// Connections to the SQLite file with the settings every connection needs, the schema migrations,
/// a pool of sessions that keep their hot statements prepared, and the in-process write gate.
/// WAL lets readers run beside the one writer; synchronous=NORMAL in WAL mode survives a killed
/// process (the guarantee tasks need) and syncs at checkpoints.
/// It also keeps the write health readiness reports: a write that fails because the database cannot
/// take writes (locked elsewhere past the busy timeout, disk full, I/O error, read-only) marks it
/// failing until the next write succeeds.
/// </summary>
public sealed partial class SqliteDatabase : IRelationalDatabase, IDisposable
{
    /// <summary>
    /// Once the WAL has been emptied, the next writer starts it over and cuts the file back to this
    /// size: without a limit SQLite keeps the file at its largest ever size for reuse. Above the size at
    /// which the checkpointer empties it (16 MiB, plus what a busy writer adds before it looks), so the
    /// file a steady load fills is reused whole rather than cut and grown again.
    /// </summary>
    public const long JournalSizeLimitBytes = 32 * 1024 * 1024;

    private const long WalHeaderBytes = 32;
    private const long WalFrameHeaderBytes = 24;

    /// <summary>Idle sessions kept for reuse; more than this are closed when returned.</summary>
    private const int MaxIdleSessions = 32;

    /// <summary>Migrations wait longer than requests: starting late beats not starting because another instance was migrating.</summary>
    private static readonly TimeSpan MigrationBusyTimeout = TimeSpan.FromSeconds(30);

    private readonly string _connectionString;
    private readonly string _sessionConnectionString;
    private readonly ConditionalWeakTable<object, object> _configured = [];
    private readonly ConcurrentBag<SqliteSession> _idle = [];

    /// <summary>
    /// The writer's session (the group commit's and the task store's other writes), idle between writes.
    /// One connection keeps its page cache from one write to the next; a pooled one finds its cache stale
    /// after any other connection's write and reads every page of the table and its indexes again (about
    /// three reads per create under load).
    /// </summary>
    private SqliteSession? _writer;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly TimeProvider _time;
    private readonly ILogger<SqliteDatabase> _logger;
    private readonly SqliteWalFrames _walFrames = new();
    private long _pageSize = 4096;
    private StoreWriteFailure? _writeFailure;

    public SqliteDatabase(string path, StorageOptions options, TimeProvider time, ILogger<SqliteDatabase> logger)
    {
        BusyTimeout = options.BusyTimeout;
        _time = time;
        _logger = logger;
        WalPath = path + "-wal";
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            // Microsoft.Data.Sqlite retries a busy statement (sleeping 150 ms at a time) until this many
            // whole seconds have passed since it started; at or below the busy timeout it adds no wait of
            // its own once SQLite's busy handler has given up.
            DefaultTimeout = Math.Max(1, (int)BusyTimeout.TotalSeconds),
        };
        _connectionString = builder.ToString();
        builder.Pooling = false;
        _sessionConnectionString = builder.ToString();
    }

    /// <summary>How long a write waits for another writer before it fails with <see cref="StoreUnavailableException"/>.</summary>
    public TimeSpan BusyTimeout { get; }

    /// <summary>What a client should wait before trying a refused write again: the busy timeout, at least a second.</summary>
    public TimeSpan RetryAfter => TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(BusyTimeout.TotalSeconds)));

    /// <summary>Why writes are failing and since when; null while the last write succeeded.</summary>
    public StoreWriteFailure? WriteFailure => Volatile.Read(ref _writeFailure);
    /// <summary>The write-ahead log beside it, whose size the checkpointer watches.</summary>
    public string WalPath { get; }

    /// <summary>A pooled connection, configured once per physical connection.</summary>
    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            if (!_configured.TryGetValue(connection.Handle!, out _))
            {
                Configure(connection);
                _configured.AddOrUpdate(connection.Handle!, this);
            }
        }
        catch (SqliteException e) when (IsUnavailable(e))
        {
            await connection.DisposeAsync();
            throw ReadFailed(e);
        }

        return connection;
    }

    /// <summary>Runs a read on a pooled connection; a failure of the database's surroundings becomes <see cref="StoreUnavailableException"/>.</summary>
    public async Task<T> ReadAsync<T>(Func<SqliteConnection, Task<T>> read, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        try
        {
            return await read(connection);
        }
        catch (SqliteException e) when (IsUnavailable(e))
        {
            throw ReadFailed(e);
        }
    }

    /// <summary>Runs a write on a pooled connection and records its outcome in the write health readiness reports.</summary>
    public async Task<T> WriteAsync<T>(Func<SqliteConnection, Task<T>> write, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        try
        {
            var result = await write(connection);
            WriteSucceeded();
            return result;
        }
        catch (SqliteException e) when (IsUnavailable(e))
        {
            throw WriteFailed(e);
        }
    }

    public SqlDialect Dialect => SqliteDialect.Instance;

    Task<T> IRelationalDatabase.ReadAsync<T>(Func<DbConnection, Task<T>> read, CancellationToken cancellationToken) =>
        ReadAsync<T>(connection => read(connection), cancellationToken);

    Task<T> IRelationalDatabase.WriteAsync<T>(Func<DbConnection, Task<T>> write, CancellationToken cancellationToken) =>
        WriteAsync<T>(connection => write(connection), cancellationToken);

    /// <summary>Runs <paramref name="work"/> in one transaction on a pooled connection and commits it; anything thrown rolls it back.</summary>
    public Task<T> TransactAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken) =>
        WriteAsync(async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var result = await work(connection, transaction);
            await transaction.CommitAsync(cancellationToken);
            return result;
        }, cancellationToken);

    /// <summary>
    /// The transaction with secure_delete on, so the bytes the old values occupied are zeroed rather than
    /// left in free space; when it changed anything, the WAL that still holds the old pages is emptied
    /// afterwards: no copy of the file keeps a usable secret.
    /// </summary>
    public async Task<int> OverwriteSecretsAsync(Func<DbConnection, DbTransaction, Task<int>> work, CancellationToken cancellationToken)
    {
        var changed = await WriteAsync(async connection =>
        {
            await connection.ExecuteAsync("PRAGMA secure_delete = ON");
            try
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                var count = await work(connection, transaction);
                await transaction.CommitAsync(cancellationToken);
                return count;
            }
            finally
            {
                // The connection goes back to the pool: later writes need not pay for zeroing.
                await connection.ExecuteAsync("PRAGMA secure_delete = OFF");
            }
        }, cancellationToken);

        if (changed > 0)
        {
            await TruncateWalAsync(BusyTimeout, cancellationToken);
        }

        return changed;
    }

    /// <summary>A session whose statements stay prepared between uses: for the request hot paths.</summary>
    public ValueTask<SqliteSession> RentSessionAsync(CancellationToken cancellationToken) =>
        _idle.TryTake(out var session) ? ValueTask.FromResult(session) : OpenSessionAsync(writer: false, cancellationToken);

    /// <summary>The writer's session, for the holder of the write gate only (so there is never more than one in use).</summary>
    public ValueTask<SqliteSession> RentWriterSessionAsync(CancellationToken cancellationToken) =>
        Interlocked.Exchange(ref _writer, null) is { } session ? ValueTask.FromResult(session) : OpenSessionAsync(writer: true, cancellationToken);

    private async ValueTask<SqliteSession> OpenSessionAsync(bool writer, CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_sessionConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            Configure(connection);
        }
        catch (SqliteException e) when (IsUnavailable(e))
        {
            await connection.DisposeAsync();
            throw ReadFailed(e);
        }

        return new SqliteSession(connection, this, writer);
    }

    internal void Return(SqliteSession session)
    {
        if (session.Broken)
        {
            session.Close();
        }
        else if (session.IsWriter)
        {
            // Back to its slot, which only the write gate's holder empties.
            if (Interlocked.CompareExchange(ref _writer, session, null) is not null)
            {
                session.Close();
            }
        }
        else if (_idle.Count < MaxIdleSessions)
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
    /// latency even under load. A caller queued longer than the busy timeout gets
    /// <see cref="StoreUnavailableException"/>: the writer ahead of it is stuck behind another process.
    /// </summary>
    public async ValueTask<WriteGate> EnterWriteAsync(CancellationToken cancellationToken) =>
        await TryEnterWriteAsync(BusyTimeout, cancellationToken) ?? throw QueuedTooLong();

    /// <summary>
    /// The write gate and, while it is held, the writer's session (<see cref="_writer"/>): the task store's
    /// writes beside the group commit run on the same connection (about 95 page reads per dispatched task
    /// when each took a pooled one, 15 now).
    /// </summary>
    public async ValueTask<Writer> EnterWriterAsync(CancellationToken cancellationToken)
    {
        var gate = await EnterWriteAsync(cancellationToken);
        try
        {
            return new Writer(gate, await RentWriterSessionAsync(cancellationToken));
        }
        catch
        {
            gate.Dispose();
            throw;
        }
    }

    /// <summary>The refusal for a write that waited in this process's queue past the busy timeout.</summary>
    public StoreUnavailableException QueuedTooLong() =>
        Unavailable(StoreUnavailableReason.Busy, $"the database is busy: writes waited longer than the busy timeout ({Seconds(BusyTimeout)})");

    /// <summary>The write gate if it is free this instant, else null; nothing is queued or allocated.</summary>
    public WriteGate? TryEnterWriteNow() => _writeGate.Wait(0) ? new WriteGate(_writeGate) : null;

    /// <summary>The write gate, or null when it was not free within <paramref name="wait"/>.</summary>
    public async Task<WriteGate?> TryEnterWriteAsync(TimeSpan wait, CancellationToken cancellationToken) =>
        await _writeGate.WaitAsync(wait < TimeSpan.Zero ? TimeSpan.Zero : wait, cancellationToken) ? new WriteGate(_writeGate) : null;

    /// <summary>
    /// <c>BEGIN IMMEDIATE</c>, waiting for another connection's writer until <paramref name="deadline"/>
    /// (a <see cref="Stopwatch"/> timestamp). It waits asynchronously in short steps: SQLite's busy
    /// handler would block the thread, and Microsoft.Data.Sqlite's retry loop would also run on for a
    /// whole second past any deadline shorter than that. Real time, not <see cref="TimeProvider"/>:
    /// the lock it waits for is held by another process.
    /// </summary>
    public async Task BeginImmediateAsync(SqliteConnection connection, long deadline)
    {
        var handle = connection.Handle!;
        _ = raw.sqlite3_busy_timeout(handle, 0);
        try
        {
            var pause = TimeSpan.FromMilliseconds(2);
            int rc;
            while ((rc = raw.sqlite3_exec(handle, "BEGIN IMMEDIATE")) is raw.SQLITE_BUSY or raw.SQLITE_LOCKED)
            {
                var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
                if (left <= TimeSpan.Zero)
                {
                    break;
                }

                await Task.Delay(left < pause ? left : pause, CancellationToken.None);
                pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, 50));
            }

            SqliteException.ThrowExceptionForRC(rc, handle);
        }
        finally
        {
            _ = raw.sqlite3_busy_timeout(handle, (int)BusyTimeout.TotalMilliseconds);
        }
    }

    /// <summary>
    /// Ends the connection's transaction if one is still open, and says whether the connection is
    /// clean. After FULL, IOERR, NOMEM and some BUSY errors SQLite has already rolled back by
    /// itself, and an unconditional ROLLBACK would fail with "no transaction is active".
    /// </summary>
    public static bool RollBack(SqliteConnection connection)
    {
        var handle = connection.Handle!;
        if (raw.sqlite3_get_autocommit(handle) == 0)
        {
            _ = raw.sqlite3_exec(handle, "ROLLBACK");
        }

        return raw.sqlite3_get_autocommit(handle) != 0;
    }

    /// <summary>True when SQLite refused because of the database's surroundings (locks, disk, file), not the statement.</summary>
    public static bool IsUnavailable(SqliteException e) => (e.SqliteErrorCode & 0xFF) is raw.SQLITE_BUSY or raw.SQLITE_LOCKED
        or raw.SQLITE_READONLY or raw.SQLITE_IOERR or raw.SQLITE_FULL or raw.SQLITE_CANTOPEN or raw.SQLITE_PROTOCOL;

    /// <summary>A write failed because the database cannot take writes: readiness turns not-ready until a write succeeds.</summary>
    public StoreUnavailableException WriteFailed(SqliteException e)
    {
        var failure = ReadFailed(e);
        var detail = $"{failure.Message} ({e.Message.TrimEnd('.')})";
        if (Interlocked.CompareExchange(ref _writeFailure, new StoreWriteFailure(failure.Reason, detail, _time.GetUtcNow()), null) is null)
        {
            LogWritesFailing(_logger, detail);
        }

        return failure;
    }

    /// <summary>A write succeeded: if writes were failing, they no longer are.</summary>
    public void WriteSucceeded()
    {
        if (Volatile.Read(ref _writeFailure) is { } failure && Interlocked.CompareExchange(ref _writeFailure, null, failure) == failure)
        {
            var seconds = (_time.GetUtcNow() - failure.Since).TotalSeconds;
            LogWritesRecovered(_logger, seconds);
        }
    }

    /// <summary>The domain's view of a failure that is not the statement's fault, without touching write health.</summary>
    public StoreUnavailableException ReadFailed(SqliteException e)
    {
        var reason = (e.SqliteErrorCode & 0xFF) switch
        {
            raw.SQLITE_FULL => StoreUnavailableReason.Full,
            raw.SQLITE_IOERR => StoreUnavailableReason.IoError,
            raw.SQLITE_READONLY => StoreUnavailableReason.ReadOnly,
            raw.SQLITE_CANTOPEN => StoreUnavailableReason.CannotOpen,
            _ => StoreUnavailableReason.Busy,
        };
        var message = reason switch
        {
            StoreUnavailableReason.Full => "the disk holding the database is full",
            StoreUnavailableReason.IoError => "the disk holding the database failed a read or write",
            StoreUnavailableReason.ReadOnly => "the database file is read-only",
            StoreUnavailableReason.CannotOpen => "the database file cannot be opened",
            _ => $"the database is busy: another writer held it longer than the busy timeout ({Seconds(BusyTimeout)})",
        };
        return new StoreUnavailableException(reason, message, RetryAfter, e);
    }

    private StoreUnavailableException Unavailable(StoreUnavailableReason reason, string message) => new(reason, message, RetryAfter);

    /// <summary>
    /// One small real write, run while writes are failing, so readiness recovers without traffic.
    /// It leaves the write gate alone: it waits in SQLite's busy handler like any other process.
    /// </summary>
    public async Task ProbeWriteAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var probe = connection.CreateCommand();
            probe.CommandText = "INSERT INTO store_probe (id, probed_at) VALUES (1, $now) ON CONFLICT (id) DO UPDATE SET probed_at = excluded.probed_at";
            probe.Parameters.AddWithValue("$now", _time.GetUtcNow().ToUnixTimeMilliseconds());
            await probe.ExecuteNonQueryAsync(cancellationToken);
            WriteSucceeded();
        }
        catch (SqliteException e) when (IsUnavailable(e))
        {
            _ = WriteFailed(e);
        }
        catch (StoreUnavailableException)
        {
            // Could not even open the file: still failing, and the readiness check says why.
        }
    }

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";

    /// <summary>Applies every migration not yet applied, in order, each in its own transaction.</summary>
    public Task MigrateAsync(CancellationToken cancellationToken) => MigrateAsync(SqliteSchema.Migrations.Count, cancellationToken);

    /// <summary>Applies the migrations up to <paramref name="lastVersion"/>: tests make the schema of an earlier version with it.</summary>
    internal async Task MigrateAsync(int lastVersion, CancellationToken cancellationToken)
    {
        await using var connection = new SqliteConnection(_sessionConnectionString) { DefaultTimeout = (int)MigrationBusyTimeout.TotalSeconds };
        await connection.OpenAsync(cancellationToken);
        Configure(connection);
        _ = raw.sqlite3_busy_timeout(connection.Handle!, (int)MigrationBusyTimeout.TotalMilliseconds);
        await connection.ExecuteAsync("PRAGMA journal_mode=WAL;");
        _pageSize = await connection.ExecuteScalarAsync<long>("PRAGMA page_size;");
        await connection.ExecuteAsync("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
        for (var version = 1; version <= lastVersion; version++)
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
                _ = RollBack(connection);
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
    public Task<CheckpointResult> TruncateWalAsync(TimeSpan busyTimeout, CancellationToken cancellationToken) =>
        EmptyWalAsync("TRUNCATE", busyTimeout, cancellationToken);

    /// <summary>
    /// As <see cref="TruncateWalAsync"/>, but the file is kept at its size: the next commit writes over
    /// it from the start. Overwriting pages the kernel already holds costs far less than growing the
    /// file anew after every truncation (allocating its blocks and page cache), which under a steady
    /// write load the checkpointer would otherwise make it do every few seconds.
    /// </summary>
    public Task<CheckpointResult> RestartWalAsync(TimeSpan busyTimeout, CancellationToken cancellationToken) =>
        EmptyWalAsync("RESTART", busyTimeout, cancellationToken);

    private async Task<CheckpointResult> EmptyWalAsync(string mode, TimeSpan busyTimeout, CancellationToken cancellationToken)
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
            var result = await RunCheckpointAsync(connection, mode, cancellationToken);
            if (!result.Busy)
            {
                _walFrames.Emptied();
            }

            return result;
        }
        finally
        {
            // The connection goes back to the pool: later users expect the usual timeout.
            await using var usual = connection.CreateCommand();
            usual.CommandText = $"PRAGMA busy_timeout={(long)BusyTimeout.TotalMilliseconds};";
            await usual.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// The bytes the WAL's frames take, as of this process's last commit: how full the log is. The file
    /// can be larger (a restarted log is written over from its start) or fuller (another process's commits).
    /// </summary>
    public long WalLogBytes() => _walFrames.Frames is var frames and > 0 ? WalHeaderBytes + (frames * (WalFrameHeaderBytes + _pageSize)) : 0;

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

        Interlocked.Exchange(ref _writer, null)?.Close();

        // Microsoft.Data.Sqlite pools connections process-wide by connection string: a later
        // instance over the same path must not inherit handles to this one's file.
        using (var connection = new SqliteConnection(_connectionString))
        {
            SqliteConnection.ClearPool(connection);
        }

        _writeGate.Dispose();
    }

    private void Configure(SqliteConnection connection)
    {
        using var pragmas = connection.CreateCommand();
        // busy_timeout: another process's writer (a second instance, the sqlite3 shell) is waited for,
        // up to the configured bound; past it the write fails and the caller answers 503 or backs off.
        // wal_autocheckpoint=0: checkpoints (which sync the database file) run in the background
        // checkpointer instead of stalling whichever commit crosses the threshold.
        // journal_size_limit: applies to whichever connection restarts the WAL, so every connection sets it.
        pragmas.CommandText = $"PRAGMA synchronous=NORMAL; PRAGMA busy_timeout={(long)BusyTimeout.TotalMilliseconds}; PRAGMA foreign_keys=ON; PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit={JournalSizeLimitBytes};";
        pragmas.ExecuteNonQuery();
        // After the pragmas: wal_autocheckpoint sets the hook this replaces.
        _walFrames.Watch(connection);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The database cannot take writes: {Reason}. Writes answer 503 and workers back off until it can")]
    private static partial void LogWritesFailing(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "The database takes writes again, after {Seconds:0.#} s")]
    private static partial void LogWritesRecovered(ILogger logger, double seconds);

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

    /// <summary>The write gate held, with the writer's session (<see cref="EnterWriterAsync"/>).</summary>
    public readonly struct Writer(WriteGate gate, SqliteSession session) : IDisposable
    {
        public SqliteSession Session => session;

        /// <summary>The session goes back to its slot before the gate opens for the next writer.</summary>
        public void Dispose()
        {
            session.Dispose();
            gate.Dispose();
        }
    }
}

/// <summary>Writes are failing: why (as readiness reports it) and since when.</summary>
public sealed record StoreWriteFailure(StoreUnavailableReason Reason, string Detail, DateTimeOffset Since);

/// <summary>An open connection with its prepared statements, rented from <see cref="SqliteDatabase"/>.</summary>
public sealed class SqliteSession : IDisposable
{
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
    private readonly Dictionary<string, sqlite3_stmt> _statements = new(StringComparer.Ordinal);
    private readonly SqliteDatabase _owner;

    internal SqliteSession(SqliteConnection connection, SqliteDatabase owner, bool writer)
    {
        Connection = connection;
        _owner = owner;
        IsWriter = writer;
    }

    public SqliteConnection Connection { get; }

    /// <summary>The writer's session: returned to its own slot rather than the pool.</summary>
    internal bool IsWriter { get; }

    /// <summary>Set when the connection may still hold a transaction it could not end: closed instead of pooled.</summary>
    public bool Broken { get; set; }

    /// <summary>
    /// The prepared command for this SQL, its parameters cleared for the caller to fill; or, with
    /// <paramref name="keepParameters"/>, as the last use left them, for a caller that sets their values.
    /// </summary>
    public SqliteCommand Command(string sql, bool keepParameters = false)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = Connection.CreateCommand();
            command.CommandText = sql;
            command.Prepare();
            _commands[sql] = command;
        }

        if (!keepParameters)
        {
            command.Parameters.Clear();
        }

        return command;
    }

    /// <summary>
    /// This SQL prepared once on this session's connection, for a caller that binds its parameters by
    /// number (SQLitePCL's raw API). <paramref name="parameters"/> are its parameter names in order:
    /// checked when it is prepared, so that binding by number cannot drift from the SQL.
    /// </summary>
    public sqlite3_stmt Statement(string sql, IReadOnlyList<string> parameters)
    {
        if (!_statements.TryGetValue(sql, out var statement))
        {
            SqliteException.ThrowExceptionForRC(raw.sqlite3_prepare_v3(Connection.Handle, sql, raw.SQLITE_PREPARE_PERSISTENT, out statement, out _), Connection.Handle);
            var names = Enumerable.Range(1, raw.sqlite3_bind_parameter_count(statement)).Select(i => raw.sqlite3_bind_parameter_name(statement, i).utf8_to_string());
            if (!names.SequenceEqual(parameters))
            {
                statement.Dispose();
                throw new InvalidOperationException($"The statement's parameters are not those given, in that order: {sql}");
            }

            _statements[sql] = statement;
        }

        return statement;
    }

    /// <summary>Back to the pool.</summary>
    public void Dispose() => _owner.Return(this);

    internal void Close()
    {
        // Finalized before the connection closes, which it otherwise could not.
        foreach (var statement in _statements.Values)
        {
            statement.Dispose();
        }

        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }

        Connection.Dispose();
    }
}
