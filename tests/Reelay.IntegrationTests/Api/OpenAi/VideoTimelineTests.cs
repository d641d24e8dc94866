using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Reelay.Testing;
using Reelay.Testing.Fakes;
using static Reelay.IntegrationTests.Channels.UpstreamGateway;

namespace Reelay.IntegrationTests.Api.OpenAi;

/// <summary>
/// Reelay's per-video extensions an owner reads on the task page: <c>GET /v1/videos/{id}/timeline</c>
/// (each change, refusals retried elsewhere included, never a channel name) and
/// <c>GET /v1/videos/{id}/webhooks</c> (the deliveries of its events); another key's video is a 404.
/// </summary>
public sealed class VideoTimelineTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Timeline_FirstChannelRefusesThenSecondRenders_ShowsEachChangeInOrderWithoutChannelNames()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var first = await FakeXaiServer.StartNewAsync(ct);
        await using var second = await FakeXaiServer.StartNewAsync(ct);
        first.Scenario = FakeScenario.Unauthorized;
        await using var app = Start([new ChannelSpec("first-secret-name", "xai", first, Priority: 0), new ChannelSpec("second-secret-name", "xai", second, Priority: 1)]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);
        var id = await client.CreateAsync(new { model = "grok-video-3", prompt = "a kite" }, ct);
        await client.WaitForEndAsync(id, Timeout, ct);

        using var response = await client.GetAsync($"/v1/videos/{id}/timeline", ct);
        var text = await response.Content.ReadAsStringAsync(ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var timeline = JsonDocument.Parse(text).RootElement;
        Assert.Equal("video.timeline", timeline.GetProperty("object").GetString());
        Assert.Equal(id, timeline.GetProperty("id").GetString());
        var entries = timeline.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(
            [("queued", "created", null), ("queued", "refused", "upstream_auth"), ("in_progress", "submitted", null), ("completed", "completed", null)],
            entries.Select(e => (e.GetProperty("status").GetString(), e.GetProperty("event").GetString(), e.GetProperty("detail").GetString())));
        var times = entries.Select(e => e.GetProperty("at").GetInt64()).ToList();
        Assert.Equal(times.Order(), times);
        Assert.InRange(times[0], DateTimeOffset.UtcNow.AddMinutes(-2).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        Assert.DoesNotContain("secret-name", text, StringComparison.Ordinal);
        Assert.DoesNotContain("xai", text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Timeline_FailedVideo_EndsWithTheErrorCode()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var upstream = await FakeXaiServer.StartNewAsync(ct);
        upstream.Scenario = FakeScenario.RefuseAtSubmit;
        await using var app = Start([new ChannelSpec("only", "xai", upstream)]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);
        var id = await client.CreateAsync(new { model = "grok-video-3", prompt = "something refused" }, ct);
        await client.WaitForEndAsync(id, Timeout, ct);

        var entries = (await client.GetFromJsonAsync<JsonElement>($"/v1/videos/{id}/timeline", ct)).GetProperty("data").EnumerateArray().ToList();

        Assert.Equal(("failed", "failed", "content_policy"),
            (entries[^1].GetProperty("status").GetString(), entries[^1].GetProperty("event").GetString(), entries[^1].GetProperty("detail").GetString()));
        Assert.Equal("created", entries[0].GetProperty("event").GetString());
    }

    [Fact]
    public async Task TimelineAndWebhooks_AnotherKeysVideoOrAnUnknownId_Are404WithTheEnvelope()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var owner = await app.CreateClientWithKeyAsync("test", ct);
        using var stranger = await app.CreateClientWithKeyAsync("test", ct);
        var id = await owner.CreateAsync(new { model = "reelay-preview", prompt = "mine", duration = 1 }, ct);

        foreach (var path in (string[])[$"/v1/videos/{id}/timeline", $"/v1/videos/{id}/webhooks", "/v1/videos/video_unknown/timeline", "/v1/videos/video_unknown/webhooks"])
        {
            using var response = await (path.Contains(id, StringComparison.Ordinal) ? stranger : owner).GetAsync(path, ct);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            var error = (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error");
            Assert.Equal("video_not_found", error.GetProperty("code").GetString());
        }

        using var badLimit = await owner.GetAsync($"/v1/videos/{id}/webhooks?limit=0", ct);
        Assert.Equal(HttpStatusCode.BadRequest, badLimit.StatusCode);
        Assert.Equal("limit", (await badLimit.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Webhooks_CallbackUrlDelivered_OwnerReadsEachDeliveryAndItsTries()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var receiver = await WebhookReceiver.StartAsync(ct);
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["Webhooks:IdleDelay"] = "00:00:00.100" });
        var (_, key, secret) = await app.CreateWebhookAccountAsync(cancellationToken: ct);
        receiver.Secrets = [secret];
        using var client = app.ClientFor(key.Key);
        var id = await client.CreateAsync(new { model = "reelay-preview", prompt = "a harbour", duration = 1, callback_url = receiver.Url.ToString() }, ct);
        await client.WaitForEndAsync(id, Timeout, ct);
        await receiver.WaitForEventsAsync(2, Timeout, ct);

        // The log records each answer just after the receiver has the event: read until both are delivered.
        var deadline = DateTime.UtcNow + Timeout;
        List<JsonElement> deliveries;
        do
        {
            await Task.Delay(100, ct);
            deliveries = [.. (await client.GetFromJsonAsync<JsonElement>($"/v1/videos/{id}/webhooks", ct)).GetProperty("data").EnumerateArray()];
        }
        while (deliveries.Count(d => d.GetProperty("state").GetString() == "delivered") < 2 && DateTime.UtcNow < deadline);

        Assert.Equal(["video.completed", "video.processing"], deliveries.Select(d => d.GetProperty("event_type").GetString()));
        Assert.All(deliveries, d =>
        {
            Assert.Equal("delivered", d.GetProperty("state").GetString());
            Assert.Equal(receiver.Url.ToString(), d.GetProperty("url").GetString());
            Assert.Equal(id, d.GetProperty("task_id").GetString());
            var attempt = Assert.Single(d.GetProperty("attempts").EnumerateArray());
            Assert.Equal(200, attempt.GetProperty("status_code").GetInt32());
        });
    }

    [Fact]
    public async Task AdminChannels_AfterUpstreamCalls_ShowEachOperationsRecentLatency()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var upstream = await FakeXaiServer.StartNewAsync(ct);
        upstream.SubmitDelay = TimeSpan.FromMilliseconds(300);
        await using var app = Start([new ChannelSpec("timed", "xai", upstream)]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);
        using var admin = app.AdminClient();
        var before = await admin.GetFromJsonAsync<JsonElement>("/admin/channels/timed", ct);
        Assert.Empty(before.GetProperty("latency").EnumerateObject());

        for (var i = 0; i < 2; i++)
        {
            var id = await client.CreateAsync(new { model = "grok-video-3", prompt = "timed " + i }, ct);
            await client.WaitForEndAsync(id, Timeout, ct);
        }

        var latency = (await admin.GetFromJsonAsync<JsonElement>("/admin/channels/timed", ct)).GetProperty("latency");
        var submit = latency.GetProperty("submit");
        Assert.Equal(2, submit.GetProperty("calls").GetInt32());
        // The fake's delay is timed by the runtime's coarse timer, which may end a millisecond or two before 300 ms by the stopwatch.
        Assert.InRange(submit.GetProperty("p50_ms").GetDouble(), 290, 30_000);
        Assert.True(submit.GetProperty("p95_ms").GetDouble() >= submit.GetProperty("p50_ms").GetDouble());
        Assert.True(latency.GetProperty("poll").GetProperty("calls").GetInt32() >= 2);
        Assert.InRange(latency.GetProperty("poll").GetProperty("p50_ms").GetDouble(), 0, 300);
    }
}
