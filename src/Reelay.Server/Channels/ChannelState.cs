using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace Reelay.Channels;

/// <summary>Settings of the per-channel circuit breaker (section <c>ChannelHealth</c>).</summary>
public sealed class ChannelHealthOptions
{
    /// <summary>Consecutive failures (refused submissions, unreachable polls) that open the breaker.</summary>
    public int FailuresToOpen { get; set; } = 5;

    /// <summary>How long an open breaker keeps the channel out of rotation before one trial request is let through.</summary>
    public TimeSpan CoolDown { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Circuit breaker position.</summary>
public enum BreakerState
{
    Closed,
    Open,
    HalfOpen,
}

/// <summary>
/// Runtime state of one channel on this instance: its circuit breaker, its rate budgets and the tasks
/// it has in flight. Kept apart from the immutable <see cref="Channel"/> so a config reload does not
/// forget health.
/// </summary>
public sealed class ChannelState : IDisposable
{
    /// <summary>
    /// How long past its next look a task still counts as in flight: the poll may be claimed late, and
    /// a task that ended where this instance did not see it (cancelled, timed out, polled by another
    /// instance) must stop counting on its own.
    /// </summary>
    public static readonly TimeSpan InFlightGrace = TimeSpan.FromMinutes(1);

    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<string, long> _inFlight = new(StringComparer.Ordinal);
    private readonly ChannelHealthOptions _health;
    private readonly TimeProvider _time;
    private int _consecutiveFailures;
    private DateTimeOffset _openUntil;
    private bool _open;
    private bool _trialInFlight;

    /// <param name="latency">The recent call times to keep (those of the state this one replaces); new when null.</param>
    public ChannelState(Channel channel, ChannelHealthOptions health, TimeProvider time, UpstreamLatency? latency = null)
    {
        _health = health;
        Latency = latency ?? new UpstreamLatency();
        _time = time;
        SubmitsPerMinute = channel.SubmitsPerMinute;
        PollsPerMinute = channel.PollsPerMinute;
        SubmitBudget = NewBudget(channel.SubmitsPerMinute);
        PollBudget = NewBudget(channel.PollsPerMinute);
    }

    public int SubmitsPerMinute { get; }

    /// <summary>How long this channel's recent upstream calls took, per operation.</summary>
    public UpstreamLatency Latency { get; }

    public int PollsPerMinute { get; }

    /// <summary>Submissions left this minute; null when unlimited.</summary>
    public RateLimiter? SubmitBudget { get; }

    /// <summary>Polls left this minute; null when unlimited.</summary>
    public RateLimiter? PollBudget { get; }

    public int ConsecutiveFailures
    {
        get
        {
            lock (_gate)
            {
                return _consecutiveFailures;
            }
        }
    }

    public BreakerState Breaker
    {
        get
        {
            lock (_gate)
            {
                return !_open ? BreakerState.Closed : _time.GetUtcNow() < _openUntil ? BreakerState.Open : BreakerState.HalfOpen;
            }
        }
    }

    /// <summary>
    /// Whether a request may go to this channel now. A half-open breaker lets exactly one trial
    /// through; its outcome closes or re-opens the breaker.
    /// </summary>
    public bool TryEnter()
    {
        lock (_gate)
        {
            if (!_open)
            {
                return true;
            }

            if (_time.GetUtcNow() < _openUntil || _trialInFlight)
            {
                return false;
            }

            _trialInFlight = true;
            return true;
        }
    }

    public void RecordSuccess()
    {
        lock (_gate)
        {
            _consecutiveFailures = 0;
            _open = false;
            _trialInFlight = false;
        }
    }

    public void RecordFailure()
    {
        lock (_gate)
        {
            _consecutiveFailures++;
            _trialInFlight = false;
            if (_open || _consecutiveFailures >= _health.FailuresToOpen)
            {
                _open = true;
                _openUntil = _time.GetUtcNow() + _health.CoolDown;
            }
        }
    }

    /// <summary>
    /// Tasks this instance has submitted to or polled on the channel that have not ended, counted while
    /// each is due to be looked at again (plus <see cref="InFlightGrace"/>). Other instances' tasks count
    /// once this one polls them.
    /// </summary>
    public int InFlight
    {
        get
        {
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            var count = 0;
            foreach (var (taskId, until) in _inFlight)
            {
                if (until >= now)
                {
                    count++;
                }
                else
                {
                    // Only if unchanged: a poll that just extended it keeps it.
                    _inFlight.TryRemove(new KeyValuePair<string, long>(taskId, until));
                }
            }

            return count;
        }
    }

    /// <summary>The task runs on this channel and will be looked at again by <paramref name="nextLookAt"/> (Unix ms).</summary>
    public void RunningUntil(string taskId, long nextLookAt) =>
        _inFlight[taskId] = nextLookAt + (long)InFlightGrace.TotalMilliseconds;

    /// <summary>The task no longer occupies the channel: it ended, or the channel did not take it.</summary>
    public void Ended(string taskId) => _inFlight.TryRemove(taskId, out _);

    /// <summary>Takes one unit of a budget; null budget means unlimited. Returns how long to wait when none is left.</summary>
    public static bool TryTake(RateLimiter? budget, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        if (budget is null)
        {
            return true;
        }

        using var lease = budget.AttemptAcquire();
        if (lease.IsAcquired)
        {
            return true;
        }

        retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
        return false;
    }

    public void Dispose()
    {
        SubmitBudget?.Dispose();
        PollBudget?.Dispose();
    }

    /// <summary>
    /// A per-minute budget as a token bucket refilled evenly (1/n of a minute per token). The burst
    /// is ten seconds' worth: a full minute's burst would be spent in the first seconds on jobs not
    /// yet done, leaving finished ones to queue.
    /// </summary>
    private static TokenBucketRateLimiter? NewBudget(int perMinute) =>
        perMinute <= 0
            ? null
            : new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
            {
                TokenLimit = Math.Max(1, (perMinute + 5) / 6),
                TokensPerPeriod = 1,
                ReplenishmentPeriod = TimeSpan.FromMinutes(1) / perMinute,
                QueueLimit = 0,
                AutoReplenishment = true,
            });
}
