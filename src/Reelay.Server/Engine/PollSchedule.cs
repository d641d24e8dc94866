using Reelay.Channels;

namespace Reelay.Engine;

/// <summary>When to ask an upstream again: shared by the poller (job status) and the finisher (result download retries).</summary>
public static class PollSchedule
{
    /// <summary>
    /// The provider's interval, growing by half each poll up to its maximum, with ±20% jitter so
    /// tasks submitted together do not poll in lockstep.
    /// </summary>
    public static TimeSpan NextInterval(RouteCandidate route, int polls)
    {
        var grown = route.PollInterval.TotalMilliseconds * Math.Pow(1.5, Math.Min(polls, 20));
        var capped = Math.Min(grown, route.MaxPollInterval.TotalMilliseconds);
        var jitter = 0.8 + (Random.Shared.NextDouble() * 0.4);
        return TimeSpan.FromMilliseconds(capped * jitter);
    }

    /// <summary>
    /// When the upstream reports progress, the time the job has run so far says roughly how long
    /// it has left (elapsed × remaining / done): poll near then, within the channel's bounds,
    /// instead of guessing. Null without usable progress.
    /// </summary>
    public static TimeSpan? FromProgress(RouteCandidate route, int? progress, TimeSpan elapsed)
    {
        if (Remaining(progress, elapsed) is not { } remaining)
        {
            return null;
        }

        var bounded = Math.Clamp(remaining.TotalMilliseconds, route.PollInterval.TotalMilliseconds, route.MaxPollInterval.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(bounded * (1.0 + (Random.Shared.NextDouble() * 0.1)));
    }

    /// <summary>
    /// The predicted time a job has left, from how long it has run and how far it got (elapsed × remaining /
    /// done); null without usable progress. The poller schedules by it, and clients are told to poll by it.
    /// </summary>
    public static TimeSpan? Remaining(int? progress, TimeSpan elapsed) =>
        progress is > 0 and < 100 && elapsed > TimeSpan.Zero
            ? TimeSpan.FromMilliseconds(elapsed.TotalMilliseconds * (100 - progress.Value) / progress.Value)
            : null;
}
