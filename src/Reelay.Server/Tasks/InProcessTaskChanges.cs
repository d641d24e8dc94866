using System.Collections.Concurrent;

namespace Reelay.Tasks;

/// <summary>
/// <see cref="ITaskChanges"/> within one process. A task somebody waits on has one entry holding the
/// promise of its next change; a publish completes that promise and puts a fresh one in its place, so
/// every waiter of the task wakes from one completion however many there are. The entry lives while
/// watches on the task are open and goes with the last one, so tasks nobody waits on cost nothing
/// (a publish for them is one failed dictionary lookup).
/// </summary>
public sealed class InProcessTaskChanges : ITaskChanges
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>Tasks with at least one open watch (the bench reads it to show waits are released).</summary>
    public int WatchedTasks => _entries.Count;

    public void Publish(string taskId)
    {
        if (_entries.TryGetValue(taskId, out var entry))
        {
            entry.Signal();
        }
    }

    public ITaskWatch Watch(string taskId)
    {
        while (true)
        {
            var entry = _entries.GetOrAdd(taskId, static _ => new Entry());
            if (entry.TryAddWatcher())
            {
                return new TaskWatch(this, taskId, entry);
            }

            // The last watch of that entry was closing: it is being removed, so make a new one.
            _entries.TryRemove(new KeyValuePair<string, Entry>(taskId, entry));
        }
    }

    private void Close(string taskId, Entry entry)
    {
        if (entry.RemoveWatcher())
        {
            // Removed only if it is still this entry: a newer one for the task belongs to newer watches.
            _entries.TryRemove(new KeyValuePair<string, Entry>(taskId, entry));
        }
    }

    private sealed class Entry
    {
        private readonly Lock _lock = new();
        private TaskCompletionSource _next = NewPromise();

        /// <summary>Open watches; -1 once closed for good (the entry is on its way out of the dictionary).</summary>
        private int _watchers;

        public Task Next
        {
            get
            {
                lock (_lock)
                {
                    return _next.Task;
                }
            }
        }

        public void Signal()
        {
            TaskCompletionSource fired;
            lock (_lock)
            {
                fired = _next;
                _next = NewPromise();
            }

            // Outside the lock, and (RunContinuationsAsynchronously) without running any waiter on this
            // thread: the publisher is an engine worker that must not pay for the waiters' writes.
            fired.TrySetResult();
        }

        public bool TryAddWatcher()
        {
            lock (_lock)
            {
                if (_watchers < 0)
                {
                    return false;
                }

                _watchers++;
                return true;
            }
        }

        /// <summary>True when that was the last watch: the entry is closed and must leave the dictionary.</summary>
        public bool RemoveWatcher()
        {
            lock (_lock)
            {
                if (--_watchers > 0)
                {
                    return false;
                }

                _watchers = -1;
                return true;
            }
        }

        private static TaskCompletionSource NewPromise() => new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class TaskWatch(InProcessTaskChanges owner, string taskId, Entry entry) : ITaskWatch
    {
        private int _disposed;

        public Task NextChange() => entry.Next;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Close(taskId, entry);
            }
        }
    }
}
