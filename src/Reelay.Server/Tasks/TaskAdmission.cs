using Microsoft.Extensions.Options;
using Reelay.Catalog;
using Reelay.Keys;
using Reelay.Providers.Local;

namespace Reelay.Tasks;

/// <summary>
/// Backpressure at the door: a local render that could not start before its model's lifetime runs
/// out is refused now (429 with Retry-After) rather than queued to fail later with <c>timeout</c>.
/// The backlog comes from the store at most once a second and is kept up in memory in between, so a
/// create costs no extra query in the common case. (How many tasks a key or an account may have
/// unfinished is checked by the store, in the transaction that inserts the task.)
/// </summary>
public sealed class TaskAdmission(ITaskStore store, LocalRenderLoad load, IOptions<LimitsOptions> limits, TimeProvider time)
{
    /// <summary>How stale a count may be before the store is asked again.</summary>
    private static readonly TimeSpan Refresh = TimeSpan.FromSeconds(1);

    private readonly Count _localBacklog = new();

    /// <summary>What a client refused for tasks in flight should wait: about one render, when test keys render locally.</summary>
    public TimeSpan InFlightRetryAfter(KeyMode mode) => mode == KeyMode.Test ? load.AverageRenderTime : TimeSpan.FromSeconds(5);

    /// <summary>Null when the task may be stored; counts it as queued when so.</summary>
    /// <param name="model">Its catalog entry.</param>
    /// <param name="rendersLocally">Whether the local renderer is where it will run.</param>
    public async ValueTask<TaskProblem?> AdmitAsync(ModelEntry model, bool rendersLocally, CancellationToken cancellationToken)
    {
        if (rendersLocally && limits.Value.LocalAdmission)
        {
            // A render with k others ahead starts after floor(k / slots) renders' time; it must also end
            // within the lifetime, so at most floor(lifetime / average) × slots may be ahead of it.
            var backlog = await _localBacklog.ReadAsync(time, store.CountLocalBacklogAsync, cancellationToken);
            var average = load.AverageRenderTime;
            var room = (int)Math.Min(int.MaxValue, Math.Floor(model.MaxLifetime / average) * load.Slots);
            if (backlog >= room)
            {
                return new TaskProblem(TaskProblemKind.Busy, null, "renderer_busy",
                    $"The local renderer is busy: {backlog} renders are queued, so this one could not finish within {model.Name}'s {model.MaxLifetime.TotalMinutes:0.#} minute lifetime. Try again later.",
                    average * (backlog - room + 1) / load.Slots);
            }

            _localBacklog.Add();
        }

        return null;
    }

    /// <summary>A count read from the store now and then, and moved up in memory by each admission in between.</summary>
    private sealed class Count
    {
        private int _value;
        private long _readAt;
        private volatile bool _read;
        private int _refreshing;

        /// <summary>The count; one caller refreshes a stale one while the others go on with the value they see.</summary>
        public async ValueTask<int> ReadAsync(TimeProvider time, Func<CancellationToken, Task<int>> read, CancellationToken cancellationToken)
        {
            if ((!_read || time.GetElapsedTime(Volatile.Read(ref _readAt)) >= Refresh)
                && (Interlocked.CompareExchange(ref _refreshing, 1, 0) == 0 || !_read))
            {
                try
                {
                    Volatile.Write(ref _value, await read(cancellationToken));
                    Volatile.Write(ref _readAt, time.GetTimestamp());
                    _read = true;
                }
                finally
                {
                    Volatile.Write(ref _refreshing, 0);
                }
            }

            return Volatile.Read(ref _value);
        }

        public void Add() => Interlocked.Increment(ref _value);
    }
}
