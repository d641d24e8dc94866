using Reelay.Accounts;
using Reelay.Keys;
using Reelay.Limits;
using Reelay.Redis;
using Reelay.Testing;
using StackExchange.Redis;

namespace Reelay.IntegrationTests.Redis;

/// <summary>
/// The Lua token bucket against a real redis-server: the burst, the refill by whole periods up to the
/// limit, the figures for the headers, the expiry of idle buckets, and that it decides as the in-process
/// limiter does. Refills are made by moving the bucket's period start back in Redis, not by waiting.
/// </summary>
public sealed class RedisRequestRatesTests
{
    /// <summary>3 per minute: one token every 20 s.</summary>
    private static readonly Caller ThreePerMinute = new("key-3", KeyMode.Test) { AccountId = "account-3", KeyLimits = new AccessLimits { RequestsPerMinute = 3 } };

    private static readonly TimeSpan Period = TimeSpan.FromSeconds(20);

    private static async Task<RateDecision> TakeAsync(IDatabase database, Caller caller) =>
        await RedisRequestRates.TakeAsync(database, RateBucket.Of(caller));

    private static RedisKey KeyOf(Caller caller) => RedisRequestRates.KeyOf(RateBucket.Of(caller)[0]);

    [Fact]
    public async Task Take_FreshBucket_AllowsTheLimitThenRefusesUntilTheNextRefill()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var redis = await RedisServer.StartAsync(ct);
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var database = connection.GetDatabase();

        var taken = new List<RateDecision>();
        for (var i = 0; i < 4; i++)
        {
            taken.Add(await TakeAsync(database, ThreePerMinute));
        }

        Assert.Equal([true, true, true, false], taken.Select(d => d.Allowed));
        Assert.Equal([2, 1, 0, 0], taken.Select(d => d.Remaining));
        // Until full again: one period per missing token, as the in-process limiter reports it.
        Assert.Equal([Period, 2 * Period, 3 * Period, 3 * Period], taken.Select(d => d.Reset));
        Assert.All(taken, d => Assert.Equal((3, "key"), (d.Limit, d.Scope)));
        Assert.InRange(taken[3].RetryAfter, TimeSpan.FromMilliseconds(1), Period);
    }

    [Fact]
    public async Task Take_PeriodsElapsed_AddTheirTokensUpToTheLimit()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var redis = await RedisServer.StartAsync(ct);
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var database = connection.GetDatabase();
        for (var i = 0; i < 3; i++)
        {
            await TakeAsync(database, ThreePerMinute);
        }

        // Two periods pass: two tokens come back, and this take uses one.
        await database.HashIncrementAsync(KeyOf(ThreePerMinute), "at", -2 * (long)Period.TotalMilliseconds);
        var afterTwo = await TakeAsync(database, ThreePerMinute);
        // Ten periods pass: the bucket fills to its limit, never beyond.
        await database.HashIncrementAsync(KeyOf(ThreePerMinute), "at", -10 * (long)Period.TotalMilliseconds);
        var afterTen = await TakeAsync(database, ThreePerMinute);

        Assert.True(afterTwo.Allowed);
        Assert.Equal(1, afterTwo.Remaining);
        Assert.True(afterTen.Allowed);
        Assert.Equal(2, afterTen.Remaining);
        Assert.Equal(Period, afterTen.Reset);
    }

    [Fact]
    public async Task Take_IdleBucket_ExpiresOnceItWouldBeFullAgain()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var redis = await RedisServer.StartAsync(ct);
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var database = connection.GetDatabase();

        await TakeAsync(database, ThreePerMinute);
        var ttl = await database.KeyTimeToLiveAsync(KeyOf(ThreePerMinute));

        // Full again after one period; kept one period more, so a bucket is never dropped while it still counts.
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, Period, 2 * Period);
    }

    [Fact]
    public async Task Take_AccountEmpty_RefusesForTheAccountAfterTakingFromTheKey()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var redis = await RedisServer.StartAsync(ct);
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var database = connection.GetDatabase();
        var caller = new Caller("key-5", KeyMode.Test)
        {
            AccountId = "account-1",
            KeyLimits = new AccessLimits { RequestsPerMinute = 5 },
            AccountLimits = new AccessLimits { RequestsPerMinute = 1 },
        };

        var first = await TakeAsync(database, caller);
        var second = await TakeAsync(database, caller);

        // The tightest bucket's figures go in the headers: the account's, with nothing left.
        Assert.Equal((true, 1, 0, "account"), (first.Allowed, first.Limit, first.Remaining, first.Scope));
        Assert.Equal((false, 1, "account"), (second.Allowed, second.Limit, second.Scope));
        // As in process: the key's token is spent before the account's bucket refuses.
        Assert.Equal(3, (int)await database.HashGetAsync(KeyOf(caller), "tokens"));
    }

    /// <summary>Limits whose refill period is 5 s or more, so neither limiter refills while the loop runs.</summary>
    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(12)]
    public async Task Take_EveryLimit_DecidesAsTheInProcessLimiter(int perMinute)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var redis = await RedisServer.StartAsync(ct);
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var database = connection.GetDatabase();
        using var local = new RequestRates();
        var caller = new Caller("key", KeyMode.Test) { AccountId = "account", KeyLimits = new AccessLimits { RequestsPerMinute = perMinute } };

        for (var i = 0; i <= perMinute; i++)
        {
            var shared = await TakeAsync(database, caller);
            var inProcess = local.Acquire(caller)!;

            Assert.Equal((inProcess.Allowed, inProcess.Limit, inProcess.Remaining, inProcess.Reset, inProcess.Scope), (shared.Allowed, shared.Limit, shared.Remaining, shared.Reset, shared.Scope));
        }
    }
}
