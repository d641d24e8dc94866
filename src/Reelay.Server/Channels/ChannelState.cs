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
/// Runtime state of one channel on this instance: its circuit breaker and its rate budgets. Kept
/// apart from the immutable <see cref="Channel"/> so a config reload does not forget health.
/// </summary>
public sealed class ChannelState : IDisposable
{
    private readonly Lock _gate = new();
    private readonly ChannelHealthOptions _health;
    private readonly TimeProvider _time;
    private int _consecutiveFailures;
    private DateTimeOffset _openUntil;
    private bool _open;
    private bool _trialInFlight;

    public ChannelState(Channel channel, ChannelHealthOptions health, TimeProvider time)
    {
        _health = health;
        _time = time;
        SubmitsPerMinute = channel.SubmitsPerMinute;
        PollsPerMinute = channel.PollsPerMinute;
        SubmitBudget = NewBudget(channel.SubmitsPerMinute);
        PollBudget = NewBudget(channel.PollsPerMinute);
    }

    public int SubmitsPerMinute { get; }

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
