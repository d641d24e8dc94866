namespace Reelay.Tasks;

/// <summary>
/// The one seam every wait on a task goes through (long-polls, <c>Prefer: wait</c>, event streams):
/// whoever commits a change to a task's status or progress publishes its id, and whoever waits on the
/// task is woken. A notice says only "look again", never what changed: waiters re-read the store, which
/// stays the truth, so a spurious or merged notice costs a read and nothing else. In one process
/// <see cref="InProcessTaskChanges"/> is enough; several instances put a shared bus (PostgreSQL
/// <c>LISTEN/NOTIFY</c>, Redis pub/sub) behind this interface, and the routes do not change.
/// </summary>
public interface ITaskChanges
{
    /// <summary>A change to the task was committed; wakes everyone waiting on it. Cheap when nobody is.</summary>
    void Publish(string taskId);

    /// <summary>Starts watching a task; dispose the watch when done waiting.</summary>
    ITaskWatch Watch(string taskId);
}

/// <summary>One waiter's interest in one task.</summary>
public interface ITaskWatch : IDisposable
{
    /// <summary>
    /// Completes at the first change published after this call. Take it <em>before</em> reading the
    /// task: a change committed between the read and the wait then still wakes the waiter.
    /// </summary>
    Task NextChange();
}

/// <summary>Waiting on a watch without exceptions: long-polls time out far more often than anything fails.</summary>
public static class TaskWatchExtensions
{
    /// <summary>True when <paramref name="change"/> completed within <paramref name="timeout"/>; false on timeout or cancellation.</summary>
    public static async Task<bool> ArrivesWithinAsync(this Task change, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        if (change.IsCompleted)
        {
            return true;
        }

        if (timeout <= TimeSpan.Zero)
        {
            return false;
        }

        await change.WaitAsync(timeout, time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return change.IsCompleted;
    }
}
