using System.Collections.Concurrent;

namespace Reelay.Engine;

/// <summary>
/// Tasks an upstream reported a change of (a callback, a provider's change feed) while a poll of them
/// may be running. The report's nudge is an unfenced write of the task's next poll time, and a poll in
/// flight then writes its own schedule over it; the poller takes the mark after that write and makes
/// the task due once more, so the report still gets its poll. In process: a report taken in by another
/// instance than the one polling is left to the fallback poll.
/// </summary>
public sealed class ReportedChanges
{
    private readonly ConcurrentDictionary<string, bool> _marks = new(StringComparer.Ordinal);

    /// <summary>Marks the task; call before the nudge, so a poll in flight finds the mark after its own write.</summary>
    public void Mark(string taskId) => _marks[taskId] = true;

    /// <summary>Removes the mark; true when there was one.</summary>
    public bool Take(string taskId) => _marks.TryRemove(taskId, out _);
}
