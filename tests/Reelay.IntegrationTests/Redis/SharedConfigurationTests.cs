using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Reelay.IntegrationTests.Api.Admin;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Redis;

/// <summary>
/// Two Reelay instances sharing one PostgreSQL database, as two replicas behind a load balancer: a channel
/// disabled, a price changed and a catalog entry added through one instance are in force on the other at
/// once when they share Redis (well before the 10 s re-read), and by that re-read when they do not or Redis
/// is down, where the admin writes still succeed.
/// </summary>
public sealed class SharedConfigurationTests
{
    /// <summary>Far below the 10 s periodic re-read, with room for a loaded machine.</summary>
    private static readonly TimeSpan Pushed = TimeSpan.FromSeconds(3);

    /// <summary>The periodic re-read (10 s) and room for a loaded machine.</summary>
    private static readonly TimeSpan Periodic = TimeSpan.FromSeconds(30);

    /// <summary>Two instances on one fresh PostgreSQL database, sharing a redis-server of their own when asked.</summary>
    private sealed class TwoInstances : IAsyncDisposable
    {
        private TwoInstances(RedisServer? redis, ReelayApp a, ReelayApp b) => (Redis, A, B) = (redis, a, b);

        public RedisServer? Redis { get; }

        public ReelayApp A { get; }

        public ReelayApp B { get; }

        public static async Task<TwoInstances> StartAsync(bool withRedis, CancellationToken ct)
        {
            var redis = withRedis ? await RedisServer.StartAsync(ct) : null;
            var database = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync(ct);
            var settings = new Dictionary<string, string?>
            {
                ["Storage:Provider"] = "postgres",
                ["Storage:Postgres:ConnectionString"] = database,
                ["Redis:Configuration"] = redis?.Configuration,
                ["Engine:Enabled"] = "false",
            };
            var a = ReelayApp.Start(settings);
            return new TwoInstances(redis, a, ReelayApp.Start(settings));
        }

        public async ValueTask DisposeAsync()
        {
            await A.DisposeAsync();
            await B.DisposeAsync();
            if (Redis is not null)
            {
                await Redis.DisposeAsync();
            }
        }
    }

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response, HttpStatusCode expected, CancellationToken ct)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(ct);
            Assert.True(response.StatusCode == expected, $"{(int)response.StatusCode}: {text}");
            using var json = JsonDocument.Parse(text);
            return json.RootElement.Clone();
        }
    }

    /// <summary>Asks <paramref name="inForce"/> every 20 ms until it holds or <paramref name="limit"/> passes; the time it took.</summary>
    private static async Task<TimeSpan> UntilAsync(Func<Task<bool>> inForce, TimeSpan limit, string what, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        while (!await inForce())
        {
            Assert.True(Stopwatch.GetElapsedTime(started) < limit, $"{what} was not in force on the other instance after {limit.TotalSeconds} s");
            await Task.Delay(20, ct);
        }

        return Stopwatch.GetElapsedTime(started);
    }

    /// <summary>
    /// Through <paramref name="a"/>: adds a channel and disables it, sets a price, adds a catalog entry; each
    /// answered 2xx. Returns how long each took to be in force on <paramref name="b"/>, each polled there up to <paramref name="limit"/>.
    /// </summary>
    private static async Task<(TimeSpan Channel, TimeSpan Price, TimeSpan Model)> ChangeThroughAAsync(ReelayApp a, ReelayApp b, TimeSpan limit, CancellationToken ct)
    {
        using var onA = a.AdminClient();
        using var onB = b.AdminClient();
        var channel = "shared-" + Guid.NewGuid().ToString("N")[..8];
        await JsonAsync(await onA.PostAsJsonAsync("/admin/channels", new { name = channel, provider = "xai", api_key = "xai-secret-4711", models = new[] { "grok-video-3" } }, ct), HttpStatusCode.Created, ct);
        await UntilAsync(async () => (await onB.GetAsync($"/admin/channels/{channel}", ct)).StatusCode == HttpStatusCode.OK, limit, "the new channel", ct);

        await JsonAsync(await onA.PatchAsJsonAsync($"/admin/channels/{channel}", new { enabled = false }, ct), HttpStatusCode.OK, ct);
        var disabled = await UntilAsync(async () =>
            !(await JsonAsync(await onB.GetAsync($"/admin/channels/{channel}", ct), HttpStatusCode.OK, ct)).GetProperty("enabled").GetBoolean(), limit, "the disabled channel", ct);

        var price = await JsonAsync(await onA.PutAsJsonAsync("/admin/prices/reelay-preview", new { per_video = 1.25 }, ct), HttpStatusCode.OK, ct);
        var priced = await UntilAsync(async () =>
            (await JsonAsync(await onB.GetAsync("/admin/prices/reelay-preview", ct), HttpStatusCode.OK, ct)).GetRawText() == price.GetRawText(), limit, "the new price", ct);

        await JsonAsync(await onA.PutAsJsonAsync("/admin/models/house-preview", AdminModelsApiTests.HousePreview, ct), HttpStatusCode.OK, ct);
        var listed = await UntilAsync(async () =>
        {
            using var read = await onB.GetAsync("/admin/models/house-preview", ct);
            return read.StatusCode == HttpStatusCode.OK;
        }, limit, "the new catalog entry", ct);
        return (disabled, priced, listed);
    }

    [Fact]
    public async Task AdminChanges_ThroughOneInstance_AreInForceOnTheOtherWellBeforeThePeriodicReread()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var two = await TwoInstances.StartAsync(withRedis: true, ct);

        var (channel, price, model) = await ChangeThroughAAsync(two.A, two.B, Periodic, ct);

        Assert.True(channel < Pushed, $"the disabled channel took {channel.TotalMilliseconds} ms");
        Assert.True(price < Pushed, $"the new price took {price.TotalMilliseconds} ms");
        Assert.True(model < Pushed, $"the new catalog entry took {model.TotalMilliseconds} ms");
    }

    [Fact]
    public async Task AdminChanges_RedisDown_AreAnsweredAndReachTheOtherInstanceByThePeriodicReread()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var two = await TwoInstances.StartAsync(withRedis: true, ct);
        await two.Redis!.StopAsync();

        // Each write is answered 2xx (checked inside) although its notice cannot be sent.
        await ChangeThroughAAsync(two.A, two.B, Periodic, ct);
    }

    [Fact]
    public async Task AdminChanges_WithoutRedis_ReachTheOtherInstanceByThePeriodicReread()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var two = await TwoInstances.StartAsync(withRedis: false, ct);

        // Each change is polled on the other instance until it is in force (at most the re-read and room).
        await ChangeThroughAAsync(two.A, two.B, Periodic, ct);
    }
}
