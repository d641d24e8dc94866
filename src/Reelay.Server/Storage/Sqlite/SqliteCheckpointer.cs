using Microsoft.Data.Sqlite;

namespace Reelay.Storage.Sqlite;

/// <summary>
/// Keeps the WAL small, off the request path (connections do not auto-checkpoint). A PASSIVE
/// checkpoint every second never blocks anyone, but while some writer is always busy it never
/// empties the log, so SQLite never starts it over and the file grows without end. So once the log
/// holds more than <see cref="EmptyAboveBytes"/>, a RESTART empties it, holding this process's writers
/// for the moment it takes (a PASSIVE just before it has copied most of the log already); the next
/// commit writes the log over from the start of the file, which keeps its size instead of being cut
/// and grown again. A TRUNCATE on start (a killed process leaves the WAL as large as it was) and on
/// the way out leaves no file behind.
/// </summary>
internal sealed partial class SqliteCheckpointer(SqliteDatabase database, TimeProvider time, ILogger<SqliteCheckpointer> logger) : BackgroundService
{
    /// <summary>How full the log may get before it is emptied: well under the 64 MiB it must never reach, with room for what a busy writer adds between two looks.</summary>
    public const long EmptyAboveBytes = 16 * 1024 * 1024;

    /// <summary>How often the WAL's fill is looked at: a stat call and a number the commits keep, cheap; a busy writer adds a few MiB in this time.</summary>
    private static readonly TimeSpan CheckInterval = TimeSpan.FromMilliseconds(250);

    private static readonly TimeSpan PassiveInterval = TimeSpan.FromSeconds(1);

    /// <summary>How long emptying the log waits for readers of older snapshots; this process's writers wait that long at worst.</summary>
    private static readonly TimeSpan EmptyBusyTimeout = TimeSpan.FromSeconds(2);

    /// <summary>After emptying the log was held up, the next try waits at least this long, doubling up to a minute: writers are not stalled every tick by a reader that stays.</summary>
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMinutes(1);

    // One failing episode is logged once when it starts and once when a checkpoint completes again.
    private int _failedAttempts;
    private TimeSpan _retryDelay = FirstRetryDelay;
    private DateTimeOffset _nextEmptyAt = DateTimeOffset.MinValue;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Hosted services start one after another: this completes before the engine writes and the server answers.
        await EmptyAsync(restart: false, cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(CheckInterval, time);
        var lastPassive = time.GetUtcNow();
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var now = time.GetUtcNow();
                if (WalFill() > EmptyAboveBytes && now >= _nextEmptyAt)
                {
                    // PASSIVE first copies the bulk while writers carry on; the RESTART that holds
                    // them then has only what was appended meanwhile left to copy.
                    lastPassive = now;
                    await PassiveAsync(stoppingToken);
                    await EmptyAsync(restart: true, stoppingToken);
                }
                else if (now - lastPassive >= PassiveInterval)
                {
                    lastPassive = now;
                    await PassiveAsync(stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        // The engine has stopped (hosted services stop in reverse order): the WAL is left empty between runs.
        await EmptyAsync(restart: false, CancellationToken.None);
    }

    private async Task PassiveAsync(CancellationToken cancellationToken)
    {
        try
        {
            await database.CheckpointAsync(cancellationToken);
        }
        catch (SqliteException e)
        {
            Failed(WalFill(), e);
            return;
        }

        // A failed PASSIVE episode ends here; a WAL still too full waits for its RESTART.
        if (WalFill() is var walBytes && walBytes <= EmptyAboveBytes)
        {
            Succeeded(walBytes);
        }
    }

    /// <summary>Empties the WAL: under load by a RESTART, which keeps the file for the writers to fill again; on start and on the way out by a TRUNCATE, which leaves none.</summary>
    private async Task EmptyAsync(bool restart, CancellationToken cancellationToken)
    {
        var before = WalFill();
        try
        {
            var result = restart
                ? await database.RestartWalAsync(EmptyBusyTimeout, cancellationToken)
                : await database.TruncateWalAsync(EmptyBusyTimeout, cancellationToken);
            if (result.Busy)
            {
                Failed(before, null);
                return;
            }
        }
        catch (SqliteException e)
        {
            Failed(before, e);
            return;
        }

        Succeeded(before);
    }

    /// <summary>
    /// How full the log is: its frames as this process's commits report them, or the file's size once it
    /// has grown past the size a restarted log is reused at (another process's commits, or a log no
    /// checkpoint could empty).
    /// </summary>
    private long WalFill() => database.WalBytes() is var file && file > SqliteDatabase.JournalSizeLimitBytes ? file : database.WalLogBytes();

    private void Succeeded(long walBytes)
    {
        if (_failedAttempts > 0)
        {
            LogRecovered(logger, _failedAttempts, walBytes);
        }

        _failedAttempts = 0;
        _retryDelay = FirstRetryDelay;
        _nextEmptyAt = DateTimeOffset.MinValue;
    }

    private void Failed(long walBytes, SqliteException? error)
    {
        if (_failedAttempts++ == 0)
        {
            LogCannotComplete(logger, error, walBytes, EmptyBusyTimeout.TotalSeconds);
        }

        _nextEmptyAt = time.GetUtcNow() + _retryDelay;
        _retryDelay = _retryDelay * 2 < MaxRetryDelay ? _retryDelay * 2 : MaxRetryDelay;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "WAL checkpoint could not complete (WAL {WalBytes} bytes): a reader kept an old snapshot or another process held the database for over {TimeoutSeconds} s, or the checkpoint failed. It is retried with backoff; logged again once it completes")]
    private static partial void LogCannotComplete(ILogger logger, Exception? exception, long walBytes, double timeoutSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "WAL checkpoint completed again after {Attempts} failed attempts (WAL {WalBytes} bytes before it)")]
    private static partial void LogRecovered(ILogger logger, int attempts, long walBytes);
}
