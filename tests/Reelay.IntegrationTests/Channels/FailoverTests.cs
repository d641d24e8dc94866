using System.Net.Http.Json;
using System.Text.Json;
using Reelay.Testing;
using Reelay.Testing.Fakes;
using static Reelay.IntegrationTests.Channels.UpstreamGateway;

namespace Reelay.IntegrationTests.Channels;

/// <summary>Failover only when the upstream provably did not take the job; breakers; poll budgets.</summary>
public class FailoverTests
{
    [Fact]
    public async Task Create_FirstChannelUnauthorized_SecondChannelTakesOver()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var first = await FakeXaiServer.StartNewAsync(ct);
        await using var second = await FakeXaiServer.StartNewAsync(ct);
        first.Scenario = FakeScenario.Unauthorized;
        await using var app = Start([new ChannelSpec("first", "xai", first, Priority: 0), new ChannelSpec("second", "xai", second, Priority: 1)]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        var id = await client.CreateAsync(new { model = "grok-video-3", prompt = "a cat" }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);

        Assert.Equal("completed", task.GetProperty("status").GetString());
        Assert.Equal(1, first.Submissions);
        Assert.Equal(1, second.Submissions);
        var admin = await app.AdminTaskAsync(id, ct);
        Assert.Equal("second", admin.GetProperty("channel").GetString());
        var route = admin.GetProperty("route").EnumerateArray().Select(s => (s.GetProperty("channel").GetString(), s.GetProperty("outcome").GetString())).ToList();
        Assert.Equal([("first", "upstream_auth"), ("second", "submitted")], route);
    }

    [Fact]
    public async Task Create_FirstChannelUnreachable_SecondChannelTakesOver()
    {
        var ct = TestContext.Current.CancellationToken;
        var closed = await FakeXaiServer.StartNewAsync(ct);
        await closed.DisposeAsync();
        await using var second = await FakeXaiServer.StartNewAsync(ct);
        await using var app = Start([new ChannelSpec("gone", "xai", closed, Priority: 0), new ChannelSpec("second", "xai", second, Priority: 1)]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        var id = await client.CreateAsync(new { model = "grok-video-3", prompt = "a cat" }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);

        Assert.Equal("completed", task.GetProperty("status").GetString());
        Assert.Equal(1, second.Submissions);
    }

    [Fact]
    public async Task Create_ContentPolicyRefusal_IsFinalAndNotFailedOver()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var first = await FakeXaiServer.StartNewAsync(ct);
        await using var second = await FakeXaiServer.StartNewAsync(ct);
        first.Scenario = FakeScenario.RefuseAtSubmit;
        await using var app = Start([new ChannelSpec("first", "xai", first, Priority: 0), new ChannelSpec("second", "xai", second, Priority: 1)]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        var id = await client.CreateAsync(new { model = "grok-video-3", prompt = "something refused" }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);

        Assert.Equal("content_policy", task.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(0, second.Submissions);
    }

    [Fact]
    public async Task Breaker_ConsecutiveFailures_OpensAndSkipsTheChannel()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broken = await FakeXaiServer.StartNewAsync(ct);
        await using var healthy = await FakeXaiServer.StartNewAsync(ct);
        broken.Scenario = FakeScenario.Unauthorized;
        await using var app = Start([new ChannelSpec("broken", "xai", broken, Priority: 0), new ChannelSpec("healthy", "xai", healthy, Priority: 1)]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        for (var i = 0; i < 5; i++)
        {
            var id = await client.CreateAsync(new { model = "grok-video-3", prompt = "a cat " + i }, ct);
            var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);
            Assert.Equal("completed", task.GetProperty("status").GetString());
        }

        // FailuresToOpen is 3 in these tests: the broken channel saw three submissions, then none.
        Assert.Equal(3, broken.Submissions);
        Assert.Equal(5, healthy.Submissions);
        using var admin = app.AdminClient();
        var channel = await admin.GetFromJsonAsync<JsonElement>("/admin/channels/broken", ct);
        Assert.Equal("open", channel.GetProperty("breaker").GetString());
        Assert.Equal(3, channel.GetProperty("consecutive_failures").GetInt32());
    }

    [Fact]
    public async Task Breaker_AfterCoolDown_HalfOpensAndClosesOnSuccess()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var flaky = await FakeXaiServer.StartNewAsync(ct);
        flaky.Scenario = FakeScenario.Unauthorized;
        await using var app = Start(
            [new ChannelSpec("flaky", "xai", flaky)],
            new Dictionary<string, string?> { ["ChannelHealth:FailuresToOpen"] = "1", ["ChannelHealth:CoolDown"] = "00:00:01" });
        using var client = await app.CreateClientWithKeyAsync("live", ct);
        using var admin = app.AdminClient();

        var first = await client.CreateAsync(new { model = "grok-video-3", prompt = "a cat" }, ct);
        await WaitUntilAsync(async () => (await admin.GetFromJsonAsync<JsonElement>("/admin/channels/flaky", ct)).GetProperty("breaker").GetString() == "open", ct);
        flaky.Scenario = FakeScenario.Success;

        // The waiting task is retried once the cool-down lets a trial through; success closes the breaker.
        var task = await client.WaitForEndAsync(first, TimeSpan.FromSeconds(60), ct);
        Assert.Equal("completed", task.GetProperty("status").GetString());
        var channel = await admin.GetFromJsonAsync<JsonElement>("/admin/channels/flaky", ct);
        Assert.Equal("closed", channel.GetProperty("breaker").GetString());
    }

    [Fact]
    public async Task Poll_ManyTasksOnBudgetedChannel_NeverExceedsTheBudget()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeUnifiedRelayServer.StartNewAsync(ct);
        fake.Scenario = FakeScenario.Slow;
        fake.SlowPolls = 1000;
        const int budget = 6;
        await using var app = Start([new ChannelSpec("relay", "unified", fake, PollsPerMinute: budget)]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        for (var i = 0; i < 10; i++)
        {
            await client.CreateAsync(new { model = "grok-video-3", prompt = "a cat " + i }, ct);
        }

        // Ten tasks polled every 100 ms would make ~100 polls in these seconds. The budget refills one
        // poll every 10 s and bursts to a tenth of its minute (one poll here).
        await WaitUntilAsync(() => Task.FromResult(fake.Submissions == 10 && fake.Polls >= 1), ct);
        var started = DateTime.UtcNow;
        while (DateTime.UtcNow - started < TimeSpan.FromSeconds(4))
        {
            var allowed = 1 + (int)Math.Ceiling((DateTime.UtcNow - started).TotalMinutes * budget);
            Assert.True(fake.Polls <= allowed, $"{fake.Polls} polls with a budget of {budget} per minute");
            await Task.Delay(100, ct);
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 30 s");
            await Task.Delay(50, ct);
        }
    }
}
