using System.Net;
using System.Text.Json;
using Reelay.Testing;
using Reelay.Testing.Fakes;
using static Reelay.IntegrationTests.Channels.UpstreamGateway;

namespace Reelay.IntegrationTests.Channels;

/// <summary>The whole gateway against each fake upstream: submitted, polled, mirrored into Reelay's storage.</summary>
public class UpstreamFlowTests
{
    public static TheoryData<string, string> Providers => new()
    {
        { "xai", "grok-video-3" },
        { "veo", "veo3.1-fast" },
        { "sora", "sora-2" },
        { "unified", "grok-video-3" },
    };

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Create_LiveKeyWithChannel_CompletesWithMirroredVideo(string provider, string model)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await StartFakeAsync(provider, ct);
        fake.Scenario = FakeScenario.Slow;
        await using var app = Start([new ChannelSpec("main", provider, fake)]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        var id = await client.CreateAsync(new { model, prompt = "a cat eating fish --mode=custom", images = Array.Empty<string>() }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);

        Assert.Equal("completed", task.GetProperty("status").GetString());
        Assert.Equal(1, fake.Submissions);
        Assert.True(fake.Polls >= fake.SlowPolls, $"polled {fake.Polls} times");
        Assert.Equal("Bearer upstream-secret-key", provider == "veo" ? "Bearer " + fake.LastSubmit!.Header("x-goog-api-key") : fake.LastSubmit!.Header("Authorization"));
        using var anonymous = app.CreateClient();
        var mirrored = await anonymous.GetByteArrayAsync(task.GetProperty("video_url").GetString(), ct);
        Assert.Equal(fake.Video, mirrored);
        Assert.Equal(320, task.GetProperty("width").GetInt32());
        Assert.Equal(240, task.GetProperty("height").GetInt32());
        using var thumbnail = await anonymous.GetAsync(task.GetProperty("thumbnail_url").GetString(), ct);
        Assert.Equal("image/jpeg", thumbnail.Content.Headers.ContentType?.MediaType);

        var admin = await app.AdminTaskAsync(id, ct);
        Assert.Equal("main", admin.GetProperty("channel").GetString());
        Assert.Equal(1, admin.GetProperty("attempts").GetInt32());
        Assert.EndsWith(fake.Jobs.Single().Id, admin.GetProperty("upstream_id").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Remix_SoraVideo_GoesToTheSourcesChannelAsARemix()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeSoraServer.StartNewAsync(ct);
        await using var app = Start([new ChannelSpec("sora", "sora", fake)]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);
        var sourceId = await client.CreateAsync(new { model = "sora-2", prompt = "a paper boat" }, ct);
        await client.WaitForEndAsync(sourceId, TimeSpan.FromSeconds(60), ct);
        var sourceUpstreamId = (await app.AdminTaskAsync(sourceId, ct)).GetProperty("upstream_id").GetString();

        using var response = await client.PostAsync($"/v1/videos/{Uri.EscapeDataString(sourceId)}/remix",
            new StringContent("""{"prompt":"the boat sails at night"}""", System.Text.Encoding.UTF8, "application/json"), ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var remix = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        Assert.Equal(sourceId, remix.RootElement.GetProperty("remixed_from_video_id").GetString());
        Assert.Equal(JsonValueKind.Null, remix.RootElement.GetProperty("video_url").ValueKind);
        var remixId = remix.RootElement.GetProperty("id").GetString()!;
        var task = await client.WaitForEndAsync(remixId, TimeSpan.FromSeconds(60), ct);

        Assert.Equal("completed", task.GetProperty("status").GetString());
        using (var remixed = JsonDocument.Parse(await client.GetStringAsync($"/v1/videos/{Uri.EscapeDataString(remixId)}", ct)))
        using (var anonymous = app.CreateClient())
        {
            Assert.Equal(fake.Video, await anonymous.GetByteArrayAsync(remixed.RootElement.GetProperty("video_url").GetString(), ct));
        }

        Assert.Equal($"/v1/videos/{sourceUpstreamId}/remix", fake.LastSubmit!.Path);
        using var body = JsonDocument.Parse(fake.LastSubmit.Body);
        Assert.Equal("the boat sails at night", body.RootElement.GetProperty("prompt").GetString());
    }

    [Fact]
    public async Task Create_UnifiedRelay_EnhancedPromptReachesQuery()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeUnifiedRelayServer.StartNewAsync(ct);
        fake.EnhancedPrompt = "A kitten eats a fish, cinematic";
        await using var app = Start([new ChannelSpec("relay", "unified", fake)]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        var id = await client.CreateAsync(new { model = "veo3.1", prompt = "小猫在吃鱼" }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);

        Assert.Equal("completed", task.GetProperty("status").GetString());
        Assert.Equal("A kitten eats a fish, cinematic", task.GetProperty("enhanced_prompt").GetString());
        Assert.StartsWith("veo3.1:", id, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(FakeScenario.RefuseAtSubmit, "content_policy")]
    [InlineData(FakeScenario.RefuseAtPoll, "content_policy")]
    [InlineData(FakeScenario.ResultNotVideo, "upstream_result_invalid")]
    [InlineData(FakeScenario.ResultNotFound, "upstream_result_invalid")]
    [InlineData(FakeScenario.MalformedJson, "upstream_malformed_response")]
    public async Task Create_UpstreamFailure_EndsFailedWithCode(FakeScenario scenario, string code)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeXaiServer.StartNewAsync(ct);
        fake.Scenario = scenario;
        await using var app = Start([new ChannelSpec("xai", "xai", fake)]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        var id = await client.CreateAsync(new { model = "grok-video-3", prompt = "a cat" }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);

        Assert.Equal("failed", task.GetProperty("status").GetString());
        Assert.Equal(code, task.GetProperty("error").GetProperty("code").GetString());
        Assert.DoesNotContain("upstream-secret-key", task.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, fake.Submissions);
    }

    [Theory]
    [InlineData("xai", "grok-video-3")]
    [InlineData("seedance", "seedance-1.0-pro")]
    public async Task Create_ResultLinkExpired_FailsExpiredWithoutRetryingTheDownload(string provider, string model)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = provider == "xai" ? await FakeXaiServer.StartNewAsync(ct) : await MoreUpstreamsFlowTests.StartFakeAsync(provider, ct);
        fake.Scenario = FakeScenario.ResultExpired;
        await using var app = Start([new ChannelSpec("main", provider, fake)]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        var id = await client.CreateAsync(new { model, prompt = "a cat" }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);

        Assert.Equal("failed", task.GetProperty("status").GetString());
        Assert.Equal("expired", task.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("expired", task.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        // Asking the same signed link again cannot help.
        Assert.Equal(1, fake.Downloads);
    }

    [Theory]
    [InlineData(FakeScenario.RateLimitedThenSuccess)]
    [InlineData(FakeScenario.ServerErrorThenSuccess)]
    public async Task Create_TransientRefusalOnOnlyChannel_RetriesAndCompletes(FakeScenario scenario)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeXaiServer.StartNewAsync(ct);
        fake.Scenario = scenario;
        fake.RetryAfter = TimeSpan.FromSeconds(1);
        await using var app = Start([new ChannelSpec("xai", "xai", fake)]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        var id = await client.CreateAsync(new { model = "grok-video-3", prompt = "a cat" }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);

        Assert.Equal("completed", task.GetProperty("status").GetString());
        Assert.Equal(2, fake.Submissions);
        var admin = await app.AdminTaskAsync(id, ct);
        var route = admin.GetProperty("route").EnumerateArray().Select(step => step.GetProperty("outcome").GetString()).ToList();
        Assert.Equal(["submitted"], route.Skip(1));
        Assert.NotEqual("submitted", route[0]);
    }

    [Fact]
    public async Task Create_ModelNotInChannelModels_Answers503()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeXaiServer.StartNewAsync(ct);
        await using var app = Start([new ChannelSpec("xai", "xai", fake, Models: "grok-video-3=grok-imagine-video-1.5")]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        using var response = await client.PostAsync("/v1/video/create",
            new StringContent("""{"model":"veo3.1","prompt":"a cat"}""", System.Text.Encoding.UTF8, "application/json"), ct);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);

        var id = await client.CreateAsync(new { model = "grok-video-3", prompt = "a cat" }, ct);
        await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);
        using var submitted = JsonDocument.Parse(fake.LastSubmit!.Body);
        Assert.Equal("grok-imagine-video-1.5", submitted.RootElement.GetProperty("model").GetString());
    }

    internal static async Task<FakeUpstreamServer> StartFakeAsync(string provider, CancellationToken ct) => provider switch
    {
        "xai" => await FakeXaiServer.StartNewAsync(ct),
        "veo" => await FakeVeoServer.StartNewAsync(ct),
        "sora" => await FakeSoraServer.StartNewAsync(ct),
        _ => await FakeUnifiedRelayServer.StartNewAsync(ct),
    };
}
