using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Reelay.Testing;
using Reelay.Testing.Fakes;
using static Reelay.IntegrationTests.Channels.UpstreamGateway;

namespace Reelay.IntegrationTests.Channels;

/// <summary>
/// Google's video models where they live now, end to end: Veo on Vertex AI (a service-account key,
/// Reelay's own token), Gemini Omni on the Interactions API (an AI Studio key, or Vertex), through both
/// surfaces and mirrored byte for byte; and the retired Gemini-API ids.
/// </summary>
public class GoogleFlowTests
{
    [Fact]
    public async Task CreateUnified_VertexVeoWithBucket_CompletesWithTheFakesMp4()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeVertexVeoServer.StartNewAsync(ct);
        using var key = Trust(fake.Tokens, fake.TokenUri);
        fake.Scenario = FakeScenario.Slow;
        await using var app = Start([new ChannelSpec("vertex", "vertex-veo", fake, ApiKey: key.Json)],
            new Dictionary<string, string?> { ["Channels:0:Bucket"] = "gs://reelay-out/videos" });
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        var id = await client.CreateAsync(new { model = "veo3.1", prompt = "a cat eating fish", size = "1080P" }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);

        Assert.Equal("completed", task.GetProperty("status").GetString());
        using var anonymous = app.CreateClient();
        Assert.Equal(fake.Video, await anonymous.GetByteArrayAsync(task.GetProperty("video_url").GetString(), ct));
        Assert.Equal(1, fake.Submissions);
        Assert.Equal(1, fake.Tokens.Exchanges);
        Assert.Contains("/storage/v1/b/reelay-out/o/videos%2F", fake.LastDownload!.Path, StringComparison.Ordinal);
        var admin = await app.AdminTaskAsync(id, ct);
        Assert.Equal("veo-3.1-generate-001", admin.GetProperty("upstream_model").GetString());
        Assert.DoesNotContain("PRIVATE KEY", admin.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateOpenAi_VertexVeoInline_CompletesWithTheFakesMp4()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeVertexVeoServer.StartNewAsync(ct);
        using var key = Trust(fake.Tokens, fake.TokenUri);
        await using var app = Start([new ChannelSpec("vertex", "vertex-veo", fake, ApiKey: key.Json)]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        var id = await CreateOpenAiAsync(client, new { model = "veo3.1-fast", prompt = "a paper boat", size = "1280x720", seconds = "8" }, ct);
        var video = await WaitForVideoAsync(client, id, ct);

        Assert.Equal("completed", video.GetProperty("status").GetString());
        Assert.Equal(fake.Video, await client.GetByteArrayAsync($"/v1/videos/{Uri.EscapeDataString(id)}/content", ct));
        Assert.Null(fake.StorageUriOf(fake.Jobs.Single().Id));
        Assert.Contains("veo-3.1-fast-generate-001:predictLongRunning", fake.LastSubmit!.Path, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateUnified_GeminiOmniWithApiKey_CompletesThroughTheFilesApi()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeGeminiOmniServer.StartNewAsync(ct);
        fake.Scenario = FakeScenario.Slow;
        await using var app = Start([new ChannelSpec("omni", "gemini-omni", fake, ApiKey: "AIza-studio-key")]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        var id = await client.CreateAsync(new { model = "gemini-omni", prompt = "a fox in the snow", size = "1080P", duration = 12, negative_prompt = "blur" }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);

        Assert.Equal("completed", task.GetProperty("status").GetString());
        Assert.StartsWith("gemini-omni:", id, StringComparison.Ordinal);
        using var anonymous = app.CreateClient();
        Assert.Equal(fake.Video, await anonymous.GetByteArrayAsync(task.GetProperty("video_url").GetString(), ct));
        var body = fake.BodyOf(fake.Jobs.Single().Id);
        Assert.Equal("gemini-omni-1.2-flash", body.GetProperty("model").GetString());
        Assert.Equal("12s", body.GetProperty("response_format").GetProperty("duration").GetString());
        Assert.EndsWith("Avoid: blur", body.GetProperty("input")[0].GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Equal("AIza-studio-key", fake.LastDownload!.Header("x-goog-api-key"));
    }

    [Fact]
    public async Task CreateOpenAi_GeminiOmniOnVertex_CompletesInline()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeGeminiOmniServer.StartNewAsync(ct);
        using var key = Trust(fake.Tokens, fake.TokenUri);
        await using var app = Start([new ChannelSpec("omni-vertex", "gemini-omni", fake, ApiKey: key.Json)]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        var id = await CreateOpenAiAsync(client, new { model = "gemini-omni-1.1-flash", prompt = "a lighthouse", size = "720x1280", seconds = "6" }, ct);
        var video = await WaitForVideoAsync(client, id, ct);

        Assert.Equal("completed", video.GetProperty("status").GetString());
        Assert.Equal(fake.Video, await client.GetByteArrayAsync($"/v1/videos/{Uri.EscapeDataString(id)}/content", ct));
        Assert.Equal("/v1beta1/projects/reelay-test/locations/global/interactions", fake.LastSubmit!.Path);
        Assert.Equal("inline", fake.BodyOf(fake.Jobs.Single().Id).GetProperty("response_format").GetProperty("delivery").GetString());
    }

    [Theory]
    [InlineData("/v1/video/create", "a fox --generate_audio=false", "generate_audio", "only true")]
    [InlineData("/v1/videos", "a fox --n=2", "n", "only 1")]
    [InlineData("/v1/video/create", "a fox --fps=30", "fps", "only 24")]
    public async Task Create_OptionOmniDoesNotHave_Answers400NamingItBeforeAnythingIsStored(string path, string prompt, string option, string takes)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeGeminiOmniServer.StartNewAsync(ct);
        await using var app = Start([new ChannelSpec("omni", "gemini-omni", fake, ApiKey: "AIza-studio-key")]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        using var answer = await client.PostAsJsonAsync(path, new { model = "gemini-omni-1.1-flash", prompt }, ct);
        var text = await answer.Content.ReadAsStringAsync(ct);

        Assert.True(answer.StatusCode == HttpStatusCode.BadRequest, text);
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
        Assert.Equal(option, error.GetProperty("param").GetString());
        Assert.Equal("unsupported_value", error.GetProperty("code").GetString());
        Assert.Contains($"channel 'omni' (gemini-omni) renders '{option}' {takes}", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(fake.Jobs);
        using var admin = app.AdminClient();
        var tasks = await admin.GetFromJsonAsync<JsonElement>("/admin/tasks", ct);
        Assert.Equal(0, tasks.GetProperty("data").GetArrayLength());
    }

    [Fact]
    public async Task Create_BudgetExceeded_FailsWithItsOwnCode()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeGeminiOmniServer.StartNewAsync(ct);
        fake.EndStatus = "budget_exceeded";
        await using var app = Start([new ChannelSpec("omni", "gemini-omni", fake, ApiKey: "AIza-studio-key")]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        var id = await client.CreateAsync(new { model = "gemini-omni-1.1-flash", prompt = "a fox" }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);

        Assert.Equal("failed", task.GetProperty("status").GetString());
        Assert.Equal("budget_exceeded", task.GetProperty("error").GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("veo3", "veo3.1", "2026-06-30")]
    [InlineData("veo-3.0-fast-generate-001", "veo3.1-fast", "2026-06-30")]
    [InlineData("veo-3.1-generate-preview", "veo3.1", "2026-10-22")]
    [InlineData("gemini-omni-flash-preview", "gemini-omni-1.1-flash", "2026-09-30")]
    public async Task Create_RetiredModel_Answers400NamingTheReplacementOnBothSurfaces(string model, string replacement, string date)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        using var unified = await client.PostAsJsonAsync("/v1/video/create", new { model, prompt = "a cat" }, ct);
        using var openAi = await client.PostAsJsonAsync("/v1/videos", new { model, prompt = "a cat" }, ct);

        foreach (var response in new[] { unified, openAi })
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
            var error = body.RootElement.GetProperty("error");
            Assert.Equal("model_retired", error.GetProperty("code").GetString());
            Assert.Equal("model", error.GetProperty("param").GetString());
            Assert.Contains($"retired on {date}: use '{replacement}' instead", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ListModels_RetiredModels_AreLeftOutUnlessRedirected()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["Catalog:Models:veo2:Retired:Redirect"] = "true" });
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        using var document = JsonDocument.Parse(await client.GetStringAsync("/v1/models", ct));
        var ids = document.RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToList();

        Assert.Contains("veo3.1", ids);
        Assert.Contains("gemini-omni-1.2-flash", ids);
        Assert.Contains("veo2", ids);
        Assert.DoesNotContain("veo3", ids);
        Assert.DoesNotContain("veo-3.1-generate-preview", ids);
        Assert.DoesNotContain("gemini-omni-flash-preview", ids);
    }

    [Fact]
    public async Task Create_RetiredModelTheOperatorRedirects_RunsOnTheReplacementAndSaysSo()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeVertexVeoServer.StartNewAsync(ct);
        using var key = Trust(fake.Tokens, fake.TokenUri);
        await using var app = Start([new ChannelSpec("vertex", "vertex-veo", fake, ApiKey: key.Json)],
            new Dictionary<string, string?> { ["Catalog:Models:veo3:Retired:Redirect"] = "true" });
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        using var created = await client.PostAsJsonAsync("/v1/video/create", new { model = "veo-3.0-generate-001", prompt = "a cat" }, ct);
        var text = await created.Content.ReadAsStringAsync(ct);
        Assert.True(created.IsSuccessStatusCode, text);
        var id = JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);

        Assert.Equal("veo3; replaced-by=veo3.1; retired=2026-06-30", Assert.Single(created.Headers.GetValues("Reelay-Model-Redirect")));
        Assert.Equal("completed", task.GetProperty("status").GetString());
        Assert.Equal("veo3.1", task.GetProperty("model").GetString());
        Assert.Contains("veo-3.1-generate-001:predictLongRunning", fake.LastSubmit!.Path, StringComparison.Ordinal);
        var route = (await app.AdminTaskAsync(id, ct)).GetProperty("route").EnumerateArray()
            .Select(s => (s.GetProperty("channel").GetString(), s.GetProperty("upstream_model").GetString(), s.GetProperty("outcome").GetString())).ToList();
        Assert.Equal([("veo3", "veo3.1", "redirected"), ("vertex", "veo-3.1-generate-001", "submitted")], route);
    }

    [Fact]
    public async Task Create_UpstreamSaysTheModelIsNoLongerAvailable_FailsOverToTheNextChannel()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var gone = await FakeVertexVeoServer.StartNewAsync(ct);
        await using var second = await FakeVertexVeoServer.StartNewAsync(ct);
        using var goneKey = Trust(gone.Tokens, gone.TokenUri);
        using var secondKey = Trust(second.Tokens, second.TokenUri);
        gone.RetiredModels.Add("veo-3.1-generate-001");
        await using var app = Start([new ChannelSpec("old-project", "vertex-veo", gone, Priority: 0, ApiKey: goneKey.Json), new ChannelSpec("new-project", "vertex-veo", second, Priority: 1, ApiKey: secondKey.Json)]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        var id = await client.CreateAsync(new { model = "veo3.1", prompt = "a cat" }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);

        Assert.Equal("completed", task.GetProperty("status").GetString());
        var route = (await app.AdminTaskAsync(id, ct)).GetProperty("route").EnumerateArray().Select(s => (s.GetProperty("channel").GetString(), s.GetProperty("outcome").GetString())).ToList();
        Assert.Equal([("old-project", "model_retired"), ("new-project", "submitted")], route);
    }

    [Fact]
    public async Task Create_EveryChannelRetiredTheModel_FailsAtOnceWithModelRetired()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var gone = await FakeVertexVeoServer.StartNewAsync(ct);
        using var key = Trust(gone.Tokens, gone.TokenUri);
        gone.RetiredModels.Add("veo-3.1-generate-001");
        await using var app = Start([new ChannelSpec("old-project", "vertex-veo", gone, ApiKey: key.Json)]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        var id = await client.CreateAsync(new { model = "veo3.1", prompt = "a cat" }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);

        Assert.Equal("failed", task.GetProperty("status").GetString());
        Assert.Equal("model_retired", task.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(1, gone.Submissions);
    }

    [Fact]
    public async Task AdminChannels_ServiceAccountKey_IsWriteOnlyAndEncryptedLikeAnApiKey()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeVertexVeoServer.StartNewAsync(ct);
        using var key = Trust(fake.Tokens, fake.TokenUri);
        await using var app = ReelayApp.Start();
        using var admin = app.AdminClient();
        var body = $$"""{"name":"vertex-rt","provider":"vertex-veo","base_url":"{{fake.BaseUrl}}","service_account_key":{{key.Json}},"project":"other-project","location":"europe-west4","bucket":"gs://out","poll_interval_ms":100}""";

        using var created = await admin.PostAsync("/admin/channels", new StringContent(body, Encoding.UTF8, "application/json"), ct);
        var text = await created.Content.ReadAsStringAsync(ct);
        using var listed = await admin.GetAsync("/admin/channels/vertex-rt", ct);
        var view = await listed.Content.ReadAsStringAsync(ct);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var document = JsonDocument.Parse(view);
        Assert.True(document.RootElement.GetProperty("has_api_key").GetBoolean());
        Assert.Equal("other-project", document.RootElement.GetProperty("project").GetString());
        Assert.Equal("europe-west4", document.RootElement.GetProperty("location").GetString());
        Assert.Equal("gs://out", document.RootElement.GetProperty("bucket").GetString());
        Assert.DoesNotContain("PRIVATE KEY", text + view, StringComparison.Ordinal);
        Assert.DoesNotContain(key.ClientEmail, text + view, StringComparison.Ordinal);
        // At rest only the ciphertext: the database file holds no part of the key.
        var database = await File.ReadAllBytesAsync(app.DatabasePath, ct);
        Assert.DoesNotContain(key.ClientEmail, Encoding.UTF8.GetString(database), StringComparison.Ordinal);

        using var client = await app.CreateClientWithKeyAsync("live", ct);
        var id = await client.CreateAsync(new { model = "veo3.1", prompt = "a cat" }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);
        Assert.Equal("completed", task.GetProperty("status").GetString());
        Assert.StartsWith("/v1/projects/other-project/locations/europe-west4/", fake.LastSubmit!.Path, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"name":"g1","provider":"veo","api_key":"AIza-x"}""", "base_url", "use provider vertex-veo")]
    [InlineData("""{"name":"g2","provider":"vertex-veo","api_key":"AIza-x"}""", "service_account_key", "not an API key")]
    [InlineData("""{"name":"g3","provider":"vertex-veo","service_account_key":"{\"type\":\"service_account\",\"client_email\":\"a@b\"}"}""", "service_account_key", "no \"private_key\"")]
    [InlineData("""{"name":"g4","provider":"gemini-omni","api_key":"AIza-x","location":"us-central1"}""", "location", "'global' only")]
    [InlineData("""{"name":"g5","provider":"xai","api_key":"k","bucket":"b-1"}""", "service_account_key", "not 'xai'")]
    public async Task AdminChannels_BadGoogleFields_Answer400NamingTheField(string body, string param, string message)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var admin = app.AdminClient();

        using var response = await admin.PostAsync("/admin/channels", new StringContent(body, Encoding.UTF8, "application/json"), ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        Assert.Equal(param, document.RootElement.GetProperty("error").GetProperty("param").GetString());
        Assert.Contains(message, document.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    private static GoogleTestKey Trust(FakeGoogleTokens tokens, Uri tokenUri)
    {
        var key = GoogleTestKey.Create(tokenUri);
        tokens.TrustedKey = key;
        return key;
    }

    private static async Task<string> CreateOpenAiAsync(HttpClient client, object body, CancellationToken ct)
    {
        using var created = await client.PostAsJsonAsync("/v1/videos", body, ct);
        var text = await created.Content.ReadAsStringAsync(ct);
        Assert.True(created.IsSuccessStatusCode, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
    }

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
