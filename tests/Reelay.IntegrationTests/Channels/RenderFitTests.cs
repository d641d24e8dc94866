using System.Net.Http.Json;
using System.Text.Json;
using Reelay.IntegrationTests.Api.OpenAi;
using Reelay.Testing;
using Reelay.Testing.Fakes;
using static Reelay.IntegrationTests.Channels.UpstreamGateway;

namespace Reelay.IntegrationTests.Channels;

/// <summary>
/// A value the catalog accepts but a channel's upstream cannot render is never quietly changed
/// into another one that is billed differently: that channel is passed over, and with none left
/// the client is told what the configured upstreams take.
/// </summary>
public class RenderFitTests
{
    [Fact]
    public async Task Create_DurationTheOnlyUpstreamLacks_Returns400NamingWhatItTakes()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var sora = await FakeSoraServer.StartNewAsync(ct);
        await using var app = Start([new ChannelSpec("sora-gw", "sora", sora)]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        using var unified = await client.PostAsJsonAsync("/v1/video/create", new { model = "sora-2", prompt = "a cat", duration = 10 }, ct);
        var error = await unified.ErrorAsync(400, ct);
        Assert.Equal("duration", error.GetProperty("param").GetString());
        Assert.Equal("unsupported_value", error.GetProperty("code").GetString());
        Assert.Equal("'duration' 10 is not rendered by any upstream configured for sora-2: channel 'sora-gw' (sora) renders 'duration' 4, 8, 12 seconds.", error.GetProperty("message").GetString());

        using var openAi = await client.PostAsJsonAsync("/v1/videos", new { model = "sora-2", prompt = "a cat", seconds = "15" }, ct);
        var openAiError = await openAi.ErrorAsync(400, ct);
        Assert.Equal("seconds", openAiError.GetProperty("param").GetString());
        Assert.Equal("'seconds' 15 is not rendered by any upstream configured for sora-2: channel 'sora-gw' (sora) renders 'seconds' 4, 8, 12 seconds.", openAiError.GetProperty("message").GetString());

        Assert.Equal(0, sora.Submissions);
    }

    [Fact]
    public async Task Create_ValueOneChannelLacks_SkipsItForOneThatRendersIt()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var sora = await FakeSoraServer.StartNewAsync(ct);
        await using var relay = await FakeUnifiedRelayServer.StartNewAsync(ct);
        await using var app = Start([new ChannelSpec("sora-gw", "sora", sora, Priority: 0), new ChannelSpec("relay", "unified", relay, Priority: 1)]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        // The Sora app's 10 s: the Sora API takes 4/8/12 and is passed over; the relay takes it as it is.
        var id = await client.CreateAsync(new { model = "sora-2", prompt = "a cat", duration = 10, orientation = "portrait", watermark = false, @private = true, style = "anime" }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);

        Assert.Equal("completed", task.GetProperty("status").GetString());
        Assert.Equal(0, sora.Submissions);
        var route = (await app.AdminTaskAsync(id, ct)).GetProperty("route").EnumerateArray().Select(s => s.GetProperty("channel").GetString()).ToList();
        Assert.Equal(["relay"], route);
        using (var sent = JsonDocument.Parse(relay.LastSubmit!.Body))
        {
            var body = sent.RootElement;
            Assert.Equal(10, body.GetProperty("duration").GetInt32());
            Assert.Equal("9:16", body.GetProperty("aspect_ratio").GetString());
            // The stored Sora-app fields reach the relay in its own words.
            Assert.Equal("small", body.GetProperty("size").GetString());
            Assert.Equal("portrait", body.GetProperty("orientation").GetString());
            Assert.False(body.GetProperty("watermark").GetBoolean());
            Assert.True(body.GetProperty("private").GetBoolean());
            Assert.Equal("anime", body.GetProperty("style").GetString());
            Assert.Equal("a cat", body.GetProperty("prompt").GetString());
        }

        // A duration both take goes to the first channel, as before.
        var video = await client.CreateVideoAsync(new { model = "sora-2", prompt = "a dog", seconds = "8", size = "1280x720", @private = true }, ct);
        Assert.Equal("completed", (await client.WaitForEndAsync(video.GetProperty("id").GetString()!, TimeSpan.FromSeconds(60), ct)).GetProperty("status").GetString());
        Assert.Equal(1, sora.Submissions);
        Assert.Equal("8", sora.LastSubmit!.Form["seconds"]);
        Assert.Equal("1280x720", sora.LastSubmit.Form["size"]);
    }

    [Fact]
    public async Task Create_SoraProLargeOnSoraChannel_GoesOutAsTheSameTiersSize()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var sora = await FakeSoraServer.StartNewAsync(ct);
        await using var app = Start([new ChannelSpec("sora-gw", "sora", sora)]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        var large = await client.CreateAsync(new { model = "sora-2-pro", prompt = "a cat", size = "large", orientation = "portrait" }, ct);
        Assert.Equal("completed", (await client.WaitForEndAsync(large, TimeSpan.FromSeconds(60), ct)).GetProperty("status").GetString());
        Assert.Equal("1024x1792", sora.LastSubmit!.Form["size"]);

        var exact = await client.CreateVideoAsync(new { model = "sora-2-pro", prompt = "a cat", size = "1792x1024", seconds = 12 }, ct);
        Assert.Equal("completed", (await client.WaitForEndAsync(exact.GetProperty("id").GetString()!, TimeSpan.FromSeconds(60), ct)).GetProperty("status").GetString());
        Assert.Equal("1792x1024", sora.LastSubmit!.Form["size"]);
        Assert.Equal("12", sora.LastSubmit.Form["seconds"]);
    }

    [Fact]
    public async Task Create_ValueNoChannelRenders_Returns400ListingEachChannel()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var sora = await FakeSoraServer.StartNewAsync(ct);
        await using var xai = await FakeXaiServer.StartNewAsync(ct);
        // sora-2-pro's 25 s (the Sora app's longest): the Sora API stops at 12, xAI at 15.
        await using var app = Start([
            new ChannelSpec("sora-gw", "sora", sora, Priority: 0),
            new ChannelSpec("xai-b", "xai", xai, Priority: 1, Models: "sora-2-pro=grok-imagine-video"),
        ]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        using var response = await client.PostAsJsonAsync("/v1/video/create", new { model = "sora-2-pro", prompt = "a cat", duration = 25 }, ct);
        var error = await response.ErrorAsync(400, ct);

        Assert.Equal("duration", error.GetProperty("param").GetString());
        Assert.Equal(
            "'duration' 25 is not rendered by any upstream configured for sora-2-pro: channel 'sora-gw' (sora) renders 'duration' 4, 8, 12 seconds; channel 'xai-b' (xai) renders 'duration' 1–15 seconds.",
            error.GetProperty("message").GetString());
        Assert.Equal((0, 0), (sora.Submissions, xai.Submissions));

        // 15 s: xAI renders it, so the Sora channel is passed over for it.
        var id = await client.CreateAsync(new { model = "sora-2-pro", prompt = "a cat", duration = 15 }, ct);
        Assert.Equal("completed", (await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct)).GetProperty("status").GetString());
        Assert.Equal((0, 1), (sora.Submissions, xai.Submissions));
    }
}
