namespace Reelay.Storage;

/// <summary>
/// A background loop's view of a store that keeps failing: the first failure of an episode is the
/// one to log, each further one doubles the wait before the next try (up to <see cref="LongestWait"/>),
/// and the first success ends the episode (log the recovery). Safe to share between concurrent handlers.
/// </summary>
public sealed class StoreOutage
{
    /// <summary>The wait after the first failure.</summary>
    public static readonly TimeSpan FirstWait = TimeSpan.FromMilliseconds(500);

    /// <summary>The wait never grows past this: a store that comes back is noticed within it.</summary>
    public static readonly TimeSpan LongestWait = TimeSpan.FromSeconds(30);

    private int _failures;

    /// <summary>True between a failure and the next success.</summary>
    public bool Ongoing => Volatile.Read(ref _failures) > 0;

    /// <summary>How long to wait before trying again; zero when there is no outage.</summary>
    public TimeSpan Wait => WaitAfter(Volatile.Read(ref _failures));

    /// <summary>Counts a failure; true for the first of an episode, the one to log.</summary>
    public bool Failed() => Interlocked.Increment(ref _failures) == 1;

    /// <summary>Counts a success; true when it ends an episode, the recovery to log.</summary>
    public bool Succeeded() => Volatile.Read(ref _failures) > 0 && Interlocked.Exchange(ref _failures, 0) > 0;

    private static TimeSpan WaitAfter(int failures) => failures <= 0
        ? TimeSpan.Zero
        : TimeSpan.FromMilliseconds(Math.Min(FirstWait.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 16)), LongestWait.TotalMilliseconds));
}
