using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Reelay.Providers;
using Reelay.Testing.Fakes;

namespace Reelay.Tests.Providers.VertexVeo;

public sealed class VertexVeoProviderTests : UpstreamProviderContract<FakeVertexVeoServer>
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private GoogleTestKey _key = null!;

    protected override string ProviderName => ProviderNames.VertexVeo;

    protected override async Task<FakeVertexVeoServer> StartFakeAsync(CancellationToken cancellationToken)
    {
        var fake = await FakeVertexVeoServer.StartNewAsync(cancellationToken);
        _key = GoogleTestKey.Create(fake.TokenUri);
        fake.Tokens.TrustedKey = _key;
        fake.Tokens.Now = _time.GetUtcNow;
        return fake;
    }

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<TimeProvider>(_time);

    // Results go to a bucket, so the contract's download facts meet Cloud Storage's answers.
    protected override ChannelSettings ChannelAt(Uri baseUrl) =>
        new("test-channel", ProviderName, baseUrl, _key.Json) { Location = "us-central1", Bucket = "reelay-results/out" };

    private ChannelSettings Inline => Channel with { Bucket = null };

    protected override VideoJobRequest NewRequest(params ReferenceImage[] images) => new()
    {
        TaskId = "veo3.1:task-1",
        Model = "veo-3.1-generate-001",
        Prompt = "Waves breaking on a rocky shore",
        NegativePrompt = "cartoon, low quality",
        AspectRatio = "16:9",
        Size = "1080P",
        Width = 1920,
        Height = 1080,
        DurationSeconds = 8,
        Seed = 42,
        Images = images,
    };

    [Fact]
    public async Task Submit_TextToVideo_SendsDocumentedBodyWithBearerToken()
    {
        await SubmitAsync();

        var sent = Fake.LastSubmit!;
        Assert.Equal("/v1/projects/reelay-test/locations/us-central1/publishers/google/models/veo-3.1-generate-001:predictLongRunning", sent.Path);
        Assert.StartsWith("Bearer ya29.fake-", sent.Header("Authorization"), StringComparison.Ordinal);
        Assert.Null(sent.Header("x-goog-api-key"));
        using var body = JsonDocument.Parse(sent.Body);
        var instance = Assert.Single(body.RootElement.GetProperty("instances").EnumerateArray());
        Assert.Equal("Waves breaking on a rocky shore", instance.GetProperty("prompt").GetString());
        Assert.False(instance.TryGetProperty("image", out _));
        var parameters = body.RootElement.GetProperty("parameters");
        Assert.Equal("16:9", parameters.GetProperty("aspectRatio").GetString());
        Assert.Equal("1080p", parameters.GetProperty("resolution").GetString());
        Assert.Equal(8, parameters.GetProperty("durationSeconds").GetInt32());
        Assert.Equal(1, parameters.GetProperty("sampleCount").GetInt32());
        Assert.True(parameters.GetProperty("generateAudio").GetBoolean());
        Assert.Equal(42, parameters.GetProperty("seed").GetInt64());
        Assert.Equal("cartoon, low quality", parameters.GetProperty("negativePrompt").GetString());
        Assert.Equal("gs://reelay-results/out/veo3.1-task-1/", parameters.GetProperty("storageUri").GetString());
        // Left out, Vertex applies its own default (allow_adult); the Gemini API's allow_all is not sent here.
        Assert.False(parameters.TryGetProperty("personGeneration", out _));
    }

    [Fact]
    public async Task Submit_ProjectOnChannel_OverridesTheKeysProject()
    {
        var request = NewRequest();
        await Provider.SubmitAsync(request, Channel with { Project = "billing-project", Location = "europe-west4" }, Cancel);

        Assert.Equal("/v1/projects/billing-project/locations/europe-west4/publishers/google/models/veo-3.1-generate-001:predictLongRunning", Fake.LastSubmit!.Path);
    }

    [Fact]
    public async Task Token_Assertion_CarriesTheDocumentedClaimsAndIsCachedAcrossCalls()
    {
        var job = await SubmitAsync();
        await PollUntilDoneAsync(job);

        Assert.Equal(1, Fake.Tokens.Exchanges);
        var claims = Fake.Tokens.LastClaims!.Value;
        Assert.Equal(_key.ClientEmail, claims.GetProperty("iss").GetString());
        Assert.Equal(Fake.TokenUri.ToString(), claims.GetProperty("aud").GetString());
        Assert.Equal("https://www.googleapis.com/auth/cloud-platform", claims.GetProperty("scope").GetString());
        Assert.Equal(3600, claims.GetProperty("exp").GetInt64() - claims.GetProperty("iat").GetInt64());
        var tokenCall = Fake.Requests.Single(r => r.Path == "/token");
        Assert.Equal("application/x-www-form-urlencoded", tokenCall.Header("Content-Type"));
    }

    [Fact]
    public async Task Token_NearItsExpiry_IsRenewedBeforeTheNextCall()
    {
        await SubmitAsync();
        // Tokens last 3599 s; at 55 minutes it is inside the five minutes Reelay renews early in.
        _time.Advance(TimeSpan.FromMinutes(55));

        await SubmitAsync();

        Assert.Equal(2, Fake.Tokens.Exchanges);
    }

    [Fact]
    public async Task Token_RevokedMidway_IsRenewedOnceOnThe401AndTheCallSucceeds()
    {
        var job = await SubmitAsync();
        Fake.Tokens.RevokeAll();

        var result = await Provider.PollAsync(job, Channel, Cancel);

        Assert.Equal(UpstreamState.Succeeded, result.State);
        Assert.Equal(2, Fake.Tokens.Exchanges);
        Assert.Equal(2, Fake.Requests.Count(r => r.Kind == FakeRequestKind.Poll));
    }

    [Fact]
    public async Task Token_SignedWithAnotherKey_IsRefusedAsUpstreamAuthBeforeAnySubmission()
    {
        using var other = GoogleTestKey.Create(Fake.TokenUri);
        Fake.Tokens.TrustedKey = other;

        var error = await Assert.ThrowsAsync<UpstreamException>(() => Provider.SubmitAsync(NewRequest(), Channel, Cancel));

        Assert.Equal(UpstreamFailureStage.Unauthorized, error.Stage);
        Assert.Equal("upstream_auth", error.Code);
        Assert.Contains("Invalid JWT Signature", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, Fake.Submissions);
        Assert.DoesNotContain("PRIVATE KEY", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_NotAServiceAccountKey_IsChannelMisconfiguredAndNotSent()
    {
        var error = await Assert.ThrowsAsync<UpstreamException>(() => Provider.SubmitAsync(NewRequest(), Channel with { ApiKey = "AIzaSy-an-api-key" }, Cancel));

        Assert.Equal("channel_misconfigured", error.Code);
        Assert.True(error.ProvablyNotAccepted);
        Assert.DoesNotContain("AIzaSy-an-api-key", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, Fake.Submissions);
    }

    [Fact]
    public async Task Poll_NoBucket_ResultIsInlineAndReadAgainFromTheOperation()
    {
        var request = NewRequest();
        var submitted = await Provider.SubmitAsync(request, Inline, Cancel);
        var job = new UpstreamJob(submitted.UpstreamId, request.TaskId, request.Model);
        var done = await Provider.PollAsync(job, Inline, Cancel);

        await using var content = await Provider.OpenResultAsync(job, done.ResultLocation!, Inline, Cancel);
        using var copy = new MemoryStream();
        await content.Content.CopyToAsync(copy, Cancel);

        Assert.Null(Fake.StorageUriOf(Assert.Single(Fake.Jobs).Id));
        Assert.Equal("vertex-inline:0", done.ResultLocation);
        Assert.DoesNotContain(Convert.ToBase64String(Fake.Video)[..64], done.Raw!, StringComparison.Ordinal);
        Assert.Equal(Fake.Video, copy.ToArray());
        Assert.Equal("video/mp4", content.ContentType);
    }

    [Fact]
    public async Task OpenResult_Bucket_DownloadsTheObjectThroughTheStorageJsonApiWithTheSameToken()
    {
        var job = await SubmitAsync();
        var done = (await PollUntilDoneAsync(job))[^1];

        await using var content = await Provider.OpenResultAsync(job, done.ResultLocation!, Channel, Cancel);

        var fakeJob = Assert.Single(Fake.Jobs);
        Assert.Equal($"gs://reelay-results/out/veo3.1-task-1/{fakeJob.Id}/sample_0.mp4", done.ResultLocation);
        var download = Fake.LastDownload!;
        Assert.Equal($"/storage/v1/b/reelay-results/o/out%2Fveo3.1-task-1%2F{fakeJob.Id}%2Fsample_0.mp4", download.Path);
        Assert.Equal("?alt=media", download.Query);
        Assert.Equal(Fake.LastSubmit!.Header("Authorization"), download.Header("Authorization"));
        Assert.Equal(1, Fake.Tokens.Exchanges);
    }

    [Fact]
    public async Task Poll_UsesFetchPredictOperationWithTheOperationName()
    {
        var job = await SubmitAsync();

        await Provider.PollAsync(job, Channel, Cancel);

        var poll = Fake.LastPoll!;
        Assert.Equal("POST", poll.Method);
        Assert.Equal("/v1/projects/reelay-test/locations/us-central1/publishers/google/models/veo-3.1-generate-001:fetchPredictOperation", poll.Path);
        using var body = JsonDocument.Parse(poll.Body);
        Assert.Equal(job.UpstreamId, body.RootElement.GetProperty("operationName").GetString());
    }

    [Fact]
    public async Task Submit_RetiredModel_ThrowsModelRetiredThatFailsOver()
    {
        Fake.RetiredModels.Add("veo-3.0-generate-001");

        var error = await Assert.ThrowsAsync<UpstreamException>(() => Provider.SubmitAsync(NewRequest() with { Model = "veo-3.0-generate-001" }, Channel, Cancel));

        Assert.Equal("model_retired", error.Code);
        Assert.Equal(UpstreamFailureStage.ModelRetired, error.Stage);
        Assert.True(error.ProvablyNotAccepted);
        Assert.Contains("is no longer available", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_TwoImages_SendsFirstAndLastFrameAsVertexImages()
    {
        var first = Image(1);
        var last = Image(2);

        await SubmitAsync(NewRequest(first, last));

        using var body = JsonDocument.Parse(Fake.LastSubmit!.Body);
        var instance = body.RootElement.GetProperty("instances")[0];
        Assert.Equal(Convert.ToBase64String(first.Content.Span), instance.GetProperty("image").GetProperty("bytesBase64Encoded").GetString());
        Assert.Equal("image/png", instance.GetProperty("image").GetProperty("mimeType").GetString());
        Assert.Equal(Convert.ToBase64String(last.Content.Span), instance.GetProperty("lastFrame").GetProperty("bytesBase64Encoded").GetString());
    }

    [Fact]
    public async Task Submit_ComponentsMode_SendsAssetReferenceImages()
    {
        var request = NewRequest(Image(1), Image(2), Image(3)) with
        {
            Options = new Dictionary<string, string> { ["image_mode"] = "components", ["generate_audio"] = "false" },
        };

        await SubmitAsync(request);

        using var body = JsonDocument.Parse(Fake.LastSubmit!.Body);
        var instance = body.RootElement.GetProperty("instances")[0];
        Assert.False(instance.TryGetProperty("image", out _));
        var references = instance.GetProperty("referenceImages").EnumerateArray().ToList();
        Assert.Equal(3, references.Count);
        Assert.All(references, r => Assert.Equal("asset", r.GetProperty("referenceType").GetString()));
        Assert.False(body.RootElement.GetProperty("parameters").GetProperty("generateAudio").GetBoolean());
    }

    [Theory]
    [InlineData("veo-3.1-generate-001", "16:9", "4K", 8, null)]
    [InlineData("veo-3.1-lite-generate-001", "16:9", "4K", 8, RenderField.Size)]
    [InlineData("veo-3.1-generate-001", "16:9", "1080P", 6, RenderField.Duration)]
    [InlineData("veo-3.1-fast-generate-001", "1:1", "720P", 8, RenderField.AspectRatio)]
    [InlineData("veo-3.1-fast-generate-001", "9:16", "720P", 4, null)]
    public void CheckRender_VertexTable_RefusesWhatVeoCannotRender(string model, string ratio, string size, int seconds, RenderField? refused)
    {
        var problem = Provider.CheckRender(new RenderSpec(model, ratio, size, 1280, 720, seconds));

        Assert.Equal(refused, problem?.Field);
    }
}
