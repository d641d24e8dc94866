using System.Net.Http.Json;
using System.Text.Json;
using Reelay.Testing;
using Reelay.Testing.Fakes;
using static Reelay.IntegrationTests.Channels.UpstreamGateway;

namespace Reelay.IntegrationTests.Channels;

/// <summary>
/// The gateway end to end against each further upstream, through both surfaces: created, polled
/// through queued and running, mirrored into Reelay's storage byte for byte.
/// </summary>
public class MoreUpstreamsFlowTests
{
    public static TheoryData<string, string> Providers => new()
    {
        { "seedance", "seedance-1.0-pro" },
        { "kling", "kling-v2.1" },
        { "wan", "wan2.6-t2v" },
        { "minimax", "hailuo-02" },
        { "runway", "gen4_turbo" },
        { "luma", "ray-2" },
        { "fal", "fal-kling-v2.1-master" },
        { "replicate", "replicate-kling-v2.1" },
        { "comfyui", "wan2.2-5b-comfyui" },
    };

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task CreateUnified_LiveKey_CompletesWithTheFakesMp4(string provider, string model)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await StartFakeAsync(provider, ct);
        fake.Scenario = FakeScenario.Slow;
        await using var app = Start([new ChannelSpec("main", provider, fake)]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        var id = await client.CreateAsync(new { model, prompt = "a cat eating fish" }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);

        Assert.Equal("completed", task.GetProperty("status").GetString());
        Assert.Equal(1, fake.Submissions);
        Assert.True(fake.Polls >= fake.SlowPolls, $"polled {fake.Polls} times");
        using var anonymous = app.CreateClient();
        Assert.Equal(fake.Video, await anonymous.GetByteArrayAsync(task.GetProperty("video_url").GetString(), ct));
        var admin = await app.AdminTaskAsync(id, ct);
        Assert.Equal("main", admin.GetProperty("channel").GetString());
        Assert.EndsWith(fake.Jobs.Single().Id, admin.GetProperty("upstream_id").GetString(), StringComparison.Ordinal);
    }

    /// <summary>The OpenAI surface names pixels; its default (720x1280) is a shape some of these models lack.</summary>
    private static readonly Dictionary<string, string> OpenAiSizes = new() { ["fal-kling-v2.1-master"] = "1920x1080" };

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task CreateOpenAi_LiveKey_CompletesWithTheFakesMp4(string provider, string model)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await StartFakeAsync(provider, ct);
        await using var app = Start([new ChannelSpec("main", provider, fake)]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        using var created = await client.PostAsJsonAsync("/v1/videos", new { model, prompt = "a paper boat", size = OpenAiSizes.GetValueOrDefault(model, "1280x720") }, ct);
        var text = await created.Content.ReadAsStringAsync(ct);
        Assert.True(created.IsSuccessStatusCode, text);
        var id = JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
        var video = await WaitForVideoAsync(client, id, ct);

        Assert.Equal("completed", video.GetProperty("status").GetString());
        Assert.Equal(fake.Video, await client.GetByteArrayAsync($"/v1/videos/{Uri.EscapeDataString(id)}/content", ct));
        Assert.Equal(1, fake.Submissions);
    }

    [Fact]
    public async Task Create_SeedanceAccountRefusesKey_RelayServingTheSameModelTakesOver()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var ark = await FakeSeedanceServer.StartNewAsync(ct);
        await using var relay = await FakeUnifiedRelayServer.StartNewAsync(ct);
        ark.Scenario = FakeScenario.Unauthorized;
        await using var app = Start([new ChannelSpec("ark", "seedance", ark, Priority: 0), new ChannelSpec("relay", "unified", relay, Priority: 1)]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        var id = await client.CreateAsync(new { model = "seedance-1.0-pro", prompt = "a cat" }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);

        Assert.Equal("completed", task.GetProperty("status").GetString());
        var admin = await app.AdminTaskAsync(id, ct);
        var route = admin.GetProperty("route").EnumerateArray().Select(s => (s.GetProperty("channel").GetString(), s.GetProperty("outcome").GetString())).ToList();
        Assert.Equal([("ark", "upstream_auth"), ("relay", "submitted")], route);
        using var sent = System.Text.Json.JsonDocument.Parse(relay.LastSubmit!.Body);
        Assert.Equal("seedance-1.0-pro", sent.RootElement.GetProperty("model").GetString());
    }

    [Fact]
    public async Task Create_KlingContentRefusal_IsFinalAndNotFailedOver()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var first = await FakeKlingServer.StartNewAsync(ct);
        await using var second = await FakeKlingServer.StartNewAsync(ct);
        first.Scenario = FakeScenario.RefuseAtSubmit;
        await using var app = Start([new ChannelSpec("first", "kling", first, Priority: 0), new ChannelSpec("second", "kling", second, Priority: 1)]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        var id = await client.CreateAsync(new { model = "kling-v2.1", prompt = "a cat" }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);

        Assert.Equal("failed", task.GetProperty("status").GetString());
        Assert.Equal("content_policy", task.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(0, second.Submissions);
    }

    [Fact]
    public async Task Create_ComfyUiWithWebSocket_QueuedPromptWaitsUnpolledAndItsEndIsReadOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeComfyUiServer.StartNewAsync(ct, webSocket: true);
        fake.Scenario = FakeScenario.Slow;
        await using var app = Start([new ChannelSpec("gpu", "comfyui", fake)]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        var id = await client.CreateAsync(new { model = "wan2.2-5b-comfyui", prompt = "a cat eating fish" }, ct);
        // The first poll finds it queued on the socket; the engine then waits for the socket's reports.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((await app.AdminTaskAsync(id, ct)).GetProperty("polls").GetInt32() == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "The task was never polled.");
            await Task.Delay(20, ct);
        }

        var prompt = fake.Jobs.Single().Id;
        await fake.SendStartAsync(prompt);
        await fake.SendProgressAsync(prompt, 10, 20);
        await fake.SendEndAsync(prompt);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(30), ct);

        Assert.Equal("completed", task.GetProperty("status").GetString());
        // Only the end was read over HTTP; queued and running were the socket's.
        Assert.Equal(1, fake.Polls);
        Assert.Equal(1, fake.SocketConnections);
        using var anonymous = app.CreateClient();
        Assert.Equal(fake.Video, await anonymous.GetByteArrayAsync(task.GetProperty("video_url").GetString(), ct));
    }

    internal static async Task<FakeUpstreamServer> StartFakeAsync(string provider, CancellationToken ct) => provider switch
    {
        "seedance" => await FakeSeedanceServer.StartNewAsync(ct),
        "kling" => await FakeKlingServer.StartNewAsync(ct),
        "wan" => await FakeWanServer.StartNewAsync(ct),
        "minimax" => await FakeMiniMaxServer.StartNewAsync(ct),
        "runway" => await FakeRunwayServer.StartNewAsync(ct),
        "luma" => await FakeLumaServer.StartNewAsync(ct),
        "fal" => await FakeFalServer.StartNewAsync(ct),
        "replicate" => await FakeReplicateServer.StartNewAsync(ct),
        "comfyui" => await FakeComfyUiServer.StartNewAsync(ct),
        _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, "no fake for this provider"),
    };

    private static async Task<JsonElement> WaitForVideoAsync(HttpClient client, string id, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            using var document = JsonDocument.Parse(await client.GetStringAsync($"/v1/videos/{Uri.EscapeDataString(id)}", ct));
            var video = document.RootElement.Clone();
            if (video.GetProperty("status").GetString() is "completed" or "failed")
            {
                return video;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Video {id} did not finish: {video}");
            }

            await Task.Delay(100, ct);
        }
    }
}
