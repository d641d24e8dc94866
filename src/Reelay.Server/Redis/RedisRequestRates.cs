using Reelay.Keys;
using Reelay.Limits;
using StackExchange.Redis;

namespace Reelay.Redis;

/// <summary>
/// <see cref="IRequestRates"/> shared by every instance: the same token buckets as <see cref="RequestRates"/>
/// (same limit, same refill per period, same <c>x-ratelimit-*</c> figures), kept in Redis and counted by one
/// Lua script, so the check and the take are one atomic step however many instances ask at once. Time is
/// Redis's own clock, so instances whose clocks differ still share one bucket. While Redis cannot be reached
/// the in-process buckets count instead (each instance then allows the rate on its own), and the shared ones
/// take over again once it is back.
/// </summary>
public sealed class RedisRequestRates(RedisConnection redis, RequestRates local) : IRequestRates
{
    /// <summary>
    /// One take from each bucket in turn, stopping at the first that is empty, exactly as the in-process
    /// limiter takes them (a request refused by the account's bucket has still used the key's token). A
    /// bucket is a hash (tokens, start of the current refill period in ms); whole periods elapsed since add
    /// their tokens, up to the limit; a full bucket starts its period at its next take. The key expires once
    /// the bucket would be full again anyway, so idle keys cost no memory. Per bucket the answer is
    /// allowed (1/0), tokens left, and when refused the milliseconds until the next refill.
    /// </summary>
    internal const string Script = """
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local answer = {}
        for i, key in ipairs(KEYS) do
          local limit = tonumber(ARGV[i * 3 - 2])
          local per = tonumber(ARGV[i * 3 - 1])
          local period = tonumber(ARGV[i * 3])
          local state = redis.call('HMGET', key, 'tokens', 'at')
          local tokens = tonumber(state[1])
          local at = tonumber(state[2])
          if tokens == nil or at == nil then
            tokens = limit
            at = now
          end
          local periods = math.floor((now - at) / period)
          if periods > 0 then
            tokens = math.min(limit, tokens + periods * per)
            at = at + periods * period
          end
          if tokens >= limit then
            at = now
          end
          local allowed = 0
          if tokens >= 1 then
            tokens = tokens - 1
            allowed = 1
          end
          redis.call('HSET', key, 'tokens', tokens, 'at', at)
          redis.call('PEXPIRE', key, math.ceil((limit - tokens) / per) * period + period)
          answer[#answer + 1] = allowed
          answer[#answer + 1] = tokens
          answer[#answer + 1] = math.max(1, at + period - now)
          if allowed == 0 then
            return answer
          end
        end
        return answer
        """;

    public async ValueTask<RateDecision?> AcquireAsync(Caller caller, CancellationToken cancellationToken)
    {
        var buckets = RateBucket.Of(caller);
        if (buckets.Count == 0)
        {
            return null;
        }

        if (!redis.IsConnected)
        {
            redis.FellBack("rate", "not connected");
            return local.Acquire(caller);
        }

        try
        {
            var decision = await TakeAsync(redis.Database, buckets).WaitAsync(cancellationToken);
            redis.Succeeded();
            return decision;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // RedisTimeoutException is a TimeoutException: Redis answered too slowly, which is an outage too.
            redis.FellBack("rate", e.Message);
            return local.Acquire(caller);
        }
    }

    /// <summary>The key of a bucket in Redis: its limit is part of it, as in process, so a changed limit starts a fresh bucket.</summary>
    internal static RedisKey KeyOf(RateBucket bucket) => $"reelay:rate:{bucket.Scope}:{bucket.Id}:{bucket.PerMinute}";

    /// <summary>Runs the script over the buckets and reads the decision as <see cref="RequestRates"/> makes it.</summary>
    internal static async Task<RateDecision> TakeAsync(IDatabaseAsync database, IReadOnlyList<RateBucket> buckets)
    {
        var keys = new RedisKey[buckets.Count];
        var arguments = new RedisValue[buckets.Count * 3];
        for (var i = 0; i < buckets.Count; i++)
        {
            var options = RequestRates.Bucket(buckets[i].PerMinute);
            keys[i] = KeyOf(buckets[i]);
            arguments[i * 3] = options.TokenLimit;
            arguments[(i * 3) + 1] = options.TokensPerPeriod;
            arguments[(i * 3) + 2] = (long)options.ReplenishmentPeriod.TotalMilliseconds;
        }

        var answer = (long[]?)await database.ScriptEvaluateAsync(Script, keys, arguments)
            ?? throw new RedisException("The rate script answered nothing.");
        RateDecision? tightest = null;
        for (var i = 0; i * 3 < answer.Length; i++)
        {
            var bucket = buckets[i];
            var options = RequestRates.Bucket(bucket.PerMinute);
            var remaining = (int)answer[(i * 3) + 1];
            if (answer[i * 3] == 0)
            {
                return new RateDecision(false, bucket.PerMinute, 0, bucket.Reset(options, 0), TimeSpan.FromMilliseconds(answer[(i * 3) + 2]), bucket.Scope);
            }

            tightest = RequestRates.Tighter(tightest, new RateDecision(true, bucket.PerMinute, remaining, bucket.Reset(options, remaining), TimeSpan.Zero, bucket.Scope));
        }

        return tightest ?? throw new RedisException("The rate script answered for no bucket.");
    }
}
