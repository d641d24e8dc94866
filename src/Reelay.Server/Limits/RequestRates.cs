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
/// Counts create requests against the per-minute limits of the caller's key and account. One
/// implementation per place the buckets live: this process (<see cref="RequestRates"/>) or Redis,
/// shared by every instance.
/// </summary>
public interface IRequestRates
{
    /// <summary>Takes one request from the key's and the account's buckets (those that have a limit); null when neither has one.</summary>
    ValueTask<RateDecision?> AcquireAsync(Caller caller, CancellationToken cancellationToken);
}

/// <summary>One bucket a request is counted in: whose it is, and its limit (part of its identity, so a changed limit starts a fresh bucket).</summary>
/// <param name="Scope"><c>key</c> or <c>account</c>.</param>
internal readonly record struct RateBucket(string Scope, string Id, int PerMinute)
{
    /// <summary>The caller's buckets in the order they are counted (the key's, then the account's); those without a limit are left out.</summary>
    public static IReadOnlyList<RateBucket> Of(Caller caller)
    {
        var buckets = new List<RateBucket>(2);
        foreach (var (scope, id, perMinute) in ((string, string, int?)[])[("key", caller.KeyId, caller.KeyLimits.RequestsPerMinute), ("account", caller.AccountId, caller.AccountLimits.RequestsPerMinute)])
        {
            if (perMinute is { } rpm && rpm > 0)
            {
                buckets.Add(new RateBucket(scope, id, rpm));
            }
        }

        return buckets;
    }

    /// <summary>Until the bucket is full again, as both implementations report it: whole refill periods for what is missing.</summary>
    public TimeSpan Reset(TokenBucketRateLimiterOptions options, int remaining) =>
        options.ReplenishmentPeriod * Math.Ceiling((double)(PerMinute - remaining) / options.TokensPerPeriod);
}

/// <summary>
/// Create requests per minute, per key and per account, as token buckets refilled evenly (a burst of a
/// whole minute's worth, then one request every 60/rpm seconds), partitioned by key id and by account
/// id. A partition is keyed by its limit too, so a changed limit starts a fresh bucket. In process:
/// with several instances each one allows the rate (Redis shares it; while Redis is down, this is
/// what counts).
/// </summary>
public sealed class RequestRates : IRequestRates, IDisposable
{
    /// <summary>The partitioned limiter tops partitions up on a 100 ms tick; shorter periods would lose tokens.</summary>
    private static readonly TimeSpan ShortestPeriod = TimeSpan.FromMilliseconds(100);

    private readonly PartitionedRateLimiter<RateBucket> _limiter = PartitionedRateLimiter.Create<RateBucket, RateBucket>(key =>
        RateLimitPartition.GetTokenBucketLimiter(key, k => Bucket(k.PerMinute)));

    public ValueTask<RateDecision?> AcquireAsync(Caller caller, CancellationToken cancellationToken) => ValueTask.FromResult(Acquire(caller));

    /// <summary>Takes one request from the key's and the account's buckets (those that have a limit); null when neither has one.</summary>
    public RateDecision? Acquire(Caller caller)
    {
        RateDecision? tightest = null;
        foreach (var bucket in RateBucket.Of(caller))
        {
            using var lease = _limiter.AttemptAcquire(bucket);
            var options = Bucket(bucket.PerMinute);
            var remaining = (int)Math.Max(0, _limiter.GetStatistics(bucket)?.CurrentAvailablePermits ?? 0);
            if (!lease.IsAcquired)
            {
                var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : options.ReplenishmentPeriod;
                return new RateDecision(false, bucket.PerMinute, 0, bucket.Reset(options, 0), retryAfter, bucket.Scope);
            }

            tightest = Tighter(tightest, new RateDecision(true, bucket.PerMinute, remaining, bucket.Reset(options, remaining), TimeSpan.Zero, bucket.Scope));
        }

        return tightest;
    }

    public void Dispose() => _limiter.Dispose();

    /// <summary>Of two allowed decisions, the one with fewer requests left: its headers are the ones a client must heed.</summary>
    internal static RateDecision Tighter(RateDecision? tightest, RateDecision decision) =>
        tightest is null || decision.Remaining < tightest.Remaining ? decision : tightest;

    /// <summary>A bucket's shape, for both implementations: they must refill alike, so a Redis outage changes only where the count is kept.</summary>
    internal static TokenBucketRateLimiterOptions Bucket(int perMinute)
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
}
