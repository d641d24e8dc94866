namespace Reelay.Storage;

/// <summary>Why a store cannot take a write right now.</summary>
public enum StoreUnavailableReason
{
    /// <summary>Another writer (another process, the sqlite3 shell) held the database longer than the busy timeout.</summary>
    Busy,

    /// <summary>The disk (or the filesystem's quota) is full.</summary>
    Full,

    /// <summary>The disk failed a read or a write.</summary>
    IoError,

    /// <summary>The database file or its directory is read-only.</summary>
    ReadOnly,

    /// <summary>The database file cannot be opened (missing directory, permissions, too many open files).</summary>
    CannotOpen,
}

/// <summary>
/// The store cannot carry out a call right now for a reason outside Reelay (a lock held elsewhere, a
/// full or failing disk); the same call may succeed after <see cref="RetryAfter"/>. A failed write
/// stored nothing. Callers answer 503 (the API) or back off and try again (the workers); it is never
/// a reason to fail a task.
/// </summary>
public sealed class StoreUnavailableException : Exception
{
    public StoreUnavailableException(StoreUnavailableReason reason, string message, TimeSpan retryAfter, Exception? innerException = null)
        : base(message, innerException)
    {
        Reason = reason;
        RetryAfter = retryAfter;
    }

    public StoreUnavailableException()
        : this(StoreUnavailableReason.Busy, "The store is unavailable.", TimeSpan.FromSeconds(1))
    {
    }

    public StoreUnavailableException(string message)
        : this(StoreUnavailableReason.Busy, message, TimeSpan.FromSeconds(1))
    {
    }

    public StoreUnavailableException(string message, Exception innerException)
        : this(StoreUnavailableReason.Busy, message, TimeSpan.FromSeconds(1), innerException)
    {
    }

    public StoreUnavailableReason Reason { get; }

    /// <summary>How long to wait before trying again.</summary>
    public TimeSpan RetryAfter { get; }
}
