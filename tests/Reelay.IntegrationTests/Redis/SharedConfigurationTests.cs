using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
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

    private static object HousePreview => new
    {
        description = "A house preview added at run time.",
        aspect_ratios = new[] { "16:9" },
        sizes = new[] { "480P" },
        durations = new[] { 1 },
        default_duration = 1,
        max_images = 0,
        max_lifetime_seconds = 300,
        upstream_models = new Dictionary<string, string> { ["local"] = "reelay-preview" },
    };

    private static async Task<ReelayApp[]> StartTwoAsync(RedisServer? redis, CancellationToken ct)
    {
        var database = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync(ct);
        var settings = new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "postgres",
            ["Storage:Postgres:ConnectionString"] = database,
            ["Redis:Configuration"] = redis?.Configuration,
            ["Engine:Enabled"] = "false",
        };
        var a = ReelayApp.Start(settings);
        try
        {
            return [a, ReelayApp.Start(settings)];
        }
        catch
        {
            await a.DisposeAsync();
            throw;
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

        await JsonAsync(await onA.PutAsJsonAsync("/admin/models/house-preview", HousePreview, ct), HttpStatusCode.OK, ct);
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
        await using var redis = await RedisServer.StartAsync(ct);
        var apps = await StartTwoAsync(redis, ct);
        await using var a = apps[0];
        await using var b = apps[1];

        var (channel, price, model) = await ChangeThroughAAsync(a, b, Periodic, ct);

        Assert.True(channel < Pushed, $"the disabled channel took {channel.TotalMilliseconds} ms");
        Assert.True(price < Pushed, $"the new price took {price.TotalMilliseconds} ms");
        Assert.True(model < Pushed, $"the new catalog entry took {model.TotalMilliseconds} ms");
    }

    [Fact]
    public async Task AdminChanges_RedisDown_AreAnsweredAndReachTheOtherInstanceByThePeriodicReread()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var redis = await RedisServer.StartAsync(ct);
        var apps = await StartTwoAsync(redis, ct);
        await using var a = apps[0];
        await using var b = apps[1];
        await redis.StopAsync();

        // Each write is answered 2xx (checked inside) although its notice cannot be sent.
        await ChangeThroughAAsync(a, b, Periodic, ct);
    }

    [Fact]
    public async Task AdminChanges_WithoutRedis_ReachTheOtherInstanceByThePeriodicReread()
    {
        var ct = TestContext.Current.CancellationToken;
        var apps = await StartTwoAsync(redis: null, ct);
        await using var a = apps[0];
        await using var b = apps[1];

        // Each change is polled on the other instance until it is in force (at most the re-read and room).
        await ChangeThroughAAsync(a, b, Periodic, ct);
    }
}
