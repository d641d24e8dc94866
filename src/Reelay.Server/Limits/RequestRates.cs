using System.Globalization;
using System.Threading.RateLimiting;
using Reelay.Keys;

namespace Reelay.Limits;

/// <summary>What a rate check decided, with the figures for the <c>x-ratelimit-*</c> headers.</summary>
/// <param name="Allowed">False: the request is over its limit and must be refused with 429.</param>
/// <param name="Limit">Requests per minute of the tightest limit that applies.</param>
/// <param name="Remaining">Requests left in the bucket after this one.</param>
/// <param name="Reset">Until the bucket is full again.</param>
/// <param name="RetryAfter">When refused: until a request would be let through.</param>
/// <param name="Scope">Whose limit it is: <c>key</c> or <c>account</c>.</param>
public sealed record RateDecision(bool Allowed, int Limit, int Remaining, TimeSpan Reset, TimeSpan RetryAfter, string Scope)
{
    /// <summary>How OpenAI writes a reset time: <c>20ms</c>, <c>1.5s</c>, <c>6m0s</c>.</summary>
    public static string FormatDuration(TimeSpan span)
    {
        if (span < TimeSpan.FromSeconds(1))
        {
            return string.Create(CultureInfo.InvariantCulture, $"{Math.Max(0, (int)Math.Ceiling(span.TotalMilliseconds))}ms");
        }

        return span < TimeSpan.FromMinutes(1)
            ? string.Create(CultureInfo.InvariantCulture, $"{Math.Round(span.TotalSeconds, 3):0.###}s")
            : string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalMinutes}m{span.Seconds}s");
    }
}

/// <summary>
/// Create requests per minute, per key and per account, as token buckets refilled evenly (a burst of a
/// whole minute's worth, then one request every 60/rpm seconds), partitioned by key id and by account
/// id. A partition is keyed by its limit too, so a changed limit starts a fresh bucket. In process:
/// with several instances each one allows the rate.
/// </summary>
public sealed class RequestRates : IDisposable
{
    /// <summary>The partitioned limiter tops partitions up on a 100 ms tick; shorter periods would lose tokens.</summary>
    private static readonly TimeSpan ShortestPeriod = TimeSpan.FromMilliseconds(100);

    private readonly PartitionedRateLimiter<RateKey> _limiter = PartitionedRateLimiter.Create<RateKey, RateKey>(key =>
        RateLimitPartition.GetTokenBucketLimiter(key, k => Bucket(k.PerMinute)));

    /// <summary>Takes one request from the key's and the account's buckets (those that have a limit); null when neither has one.</summary>
    public RateDecision? Acquire(Caller caller)
    {
        RateDecision? tightest = null;
        foreach (var (scope, id, perMinute) in ((string, string, int?)[])[("key", caller.KeyId, caller.KeyLimits.RequestsPerMinute), ("account", caller.AccountId, caller.AccountLimits.RequestsPerMinute)])
        {
            if (perMinute is not { } rpm || rpm <= 0)
            {
                continue;
            }

            var key = new RateKey(scope, id, rpm);
            using var lease = _limiter.AttemptAcquire(key);
            var options = Bucket(rpm);
            var remaining = (int)Math.Max(0, _limiter.GetStatistics(key)?.CurrentAvailablePermits ?? 0);
            var reset = options.ReplenishmentPeriod * Math.Ceiling((double)(rpm - remaining) / options.TokensPerPeriod);
            if (!lease.IsAcquired)
            {
                var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : options.ReplenishmentPeriod;
                return new RateDecision(false, rpm, 0, reset, retryAfter, scope);
            }

            var decision = new RateDecision(true, rpm, remaining, reset, TimeSpan.Zero, scope);
            if (tightest is null || decision.Remaining < tightest.Remaining)
            {
                tightest = decision;
            }
        }

        return tightest;
    }

    public void Dispose() => _limiter.Dispose();

    private static TokenBucketRateLimiterOptions Bucket(int perMinute)
    {
        var tokens = (int)Math.Ceiling(perMinute * ShortestPeriod.TotalMinutes);
        return new TokenBucketRateLimiterOptions
        {
            TokenLimit = perMinute,
            TokensPerPeriod = Math.Max(1, tokens),
            ReplenishmentPeriod = TimeSpan.FromMinutes(1) * Math.Max(1, tokens) / perMinute,
            QueueLimit = 0,
            AutoReplenishment = true,
        };
    }

    private sealed record RateKey(string Scope, string Id, int PerMinute);
}
