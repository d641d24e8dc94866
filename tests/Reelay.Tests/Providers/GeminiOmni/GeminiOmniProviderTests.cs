using System.Text.Json;
using Reelay.Providers;
using Reelay.Testing.Fakes;

namespace Reelay.Tests.Providers.GeminiOmni;

/// <summary>Gemini Omni on the Gemini API, with an AI Studio key.</summary>
public sealed class GeminiOmniProviderTests : UpstreamProviderContract<FakeGeminiOmniServer>
{
    protected override string ProviderName => ProviderNames.GeminiOmni;

    protected override Task<FakeGeminiOmniServer> StartFakeAsync(CancellationToken cancellationToken) => FakeGeminiOmniServer.StartNewAsync(cancellationToken);

    // 1080P: delivered as a file, so the contract's download facts meet the Files API.
    protected override VideoJobRequest NewRequest(params ReferenceImage[] images) => new()
    {
        TaskId = "gemini-omni:task-1",
        Model = "gemini-omni-1.1-flash",
        Prompt = "A paper boat drifting down a rainy street",
        AspectRatio = "9:16",
        Size = "1080P",
        Width = 1080,
        Height = 1920,
        DurationSeconds = 6,
        Images = images,
    };

    [Fact]
    public async Task Submit_TextToVideo_SendsBackgroundInteractionWithKeyHeader()
    {
        await SubmitAsync(NewRequest() with { NegativePrompt = "text overlays" });

        var sent = Fake.LastSubmit!;
        Assert.Equal("/v1beta/interactions", sent.Path);
        Assert.Equal(ApiKey, sent.Header("x-goog-api-key"));
        Assert.Null(sent.Header("Authorization"));
        using var body = JsonDocument.Parse(sent.Body);
        var root = body.RootElement;
        Assert.Equal("gemini-omni-1.1-flash", root.GetProperty("model").GetString());
        Assert.True(root.GetProperty("background").GetBoolean());
        Assert.True(root.GetProperty("store").GetBoolean());
        var text = Assert.Single(root.GetProperty("input").EnumerateArray());
        Assert.Equal("text", text.GetProperty("type").GetString());
        // No negative prompt on Omni: folded into the prompt, as Google advises.
        Assert.Equal("A paper boat drifting down a rainy street\n\nAvoid: text overlays", text.GetProperty("text").GetString());
        Assert.Equal("text_to_video", root.GetProperty("generation_config").GetProperty("video_config").GetProperty("task").GetString());
        var format = root.GetProperty("response_format");
        Assert.Equal("video", format.GetProperty("type").GetString());
        Assert.Equal("9:16", format.GetProperty("aspect_ratio").GetString());
        Assert.Equal("1080p", format.GetProperty("resolution").GetString());
        Assert.Equal("6s", format.GetProperty("duration").GetString());
        Assert.Equal("uri", format.GetProperty("delivery").GetString());
        Assert.False(format.TryGetProperty("gcs_uri", out _));
    }

    [Fact]
    public async Task Submit_OneImage_IsImageToVideoWithTheImagePart()
    {
        var image = Image(7);

        await SubmitAsync(NewRequest(image) with { Size = "720P" });

        using var body = JsonDocument.Parse(Fake.LastSubmit!.Body);
        var parts = body.RootElement.GetProperty("input").EnumerateArray().ToList();
        Assert.Equal(2, parts.Count);
        Assert.Equal("image", parts[1].GetProperty("type").GetString());
        Assert.Equal("image/png", parts[1].GetProperty("mime_type").GetString());
        Assert.Equal(Convert.ToBase64String(image.Content.Span), parts[1].GetProperty("data").GetString());
        Assert.Equal("image_to_video", body.RootElement.GetProperty("generation_config").GetProperty("video_config").GetProperty("task").GetString());
        // 720p comes inline (the default): small enough for the answer itself.
        Assert.Equal("inline", body.RootElement.GetProperty("response_format").GetProperty("delivery").GetString());
    }

    [Fact]
    public async Task Submit_ComponentsMode_IsReferenceToVideo()
    {
        await SubmitAsync(NewRequest(Image(1), Image(2), Image(3)) with { Options = new Dictionary<string, string> { ["image_mode"] = "components" } });

        using var body = JsonDocument.Parse(Fake.LastSubmit!.Body);
        Assert.Equal("reference_to_video", body.RootElement.GetProperty("generation_config").GetProperty("video_config").GetProperty("task").GetString());
        Assert.Equal(4, body.RootElement.GetProperty("input").GetArrayLength());
    }

    [Fact]
    public async Task Submit_ThreeImages_AreReferencesWithoutAnImageMode()
    {
        await SubmitAsync(NewRequest(Image(1), Image(2), Image(3)));

        using var body = JsonDocument.Parse(Fake.LastSubmit!.Body);
        Assert.Equal("reference_to_video", body.RootElement.GetProperty("generation_config").GetProperty("video_config").GetProperty("task").GetString());
    }

    [Fact]
    public async Task Submit_TwoImages_AreFirstAndLastFrame()
    {
        await SubmitAsync(NewRequest(Image(1), Image(2)));

        using var body = JsonDocument.Parse(Fake.LastSubmit!.Body);
        Assert.Equal("image_to_video", body.RootElement.GetProperty("generation_config").GetProperty("video_config").GetProperty("task").GetString());
    }

    [Theory]
    [InlineData("generate_audio", "false")]
    [InlineData("n", "2")]
    [InlineData("fps", "30")]
    public async Task Submit_FieldOmniDoesNotHave_IsRefusedNamingItWithoutACall(string option, string value)
    {
        var request = NewRequest() with { Options = new Dictionary<string, string> { [option] = value } };

        var error = await Assert.ThrowsAsync<UpstreamException>(() => Provider.SubmitAsync(request, Channel, Cancel));

        Assert.Equal("invalid_argument", error.Code);
        Assert.Equal(UpstreamFailureStage.Rejected, error.Stage);
        Assert.Contains($"'{option}'", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, Fake.Submissions);
    }

    [Fact]
    public async Task Poll_InlineDelivery_FindsTheVideoInStepsAndReadsItAgainAtDownload()
    {
        var request = NewRequest() with { Size = "720P" };
        var job = await SubmitAsync(request);

        var done = await Provider.PollAsync(job, Channel, Cancel);
        await using var content = await Provider.OpenResultAsync(job, done.ResultLocation!, Channel, Cancel);
        using var copy = new MemoryStream();
        await content.Content.CopyToAsync(copy, Cancel);

        Assert.Equal(UpstreamState.Succeeded, done.State);
        Assert.StartsWith("omni-inline:", done.ResultLocation, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(Fake.Video)[..64], done.Raw!, StringComparison.Ordinal);
        Assert.Equal(Fake.Video, copy.ToArray());
    }

    [Fact]
    public async Task Poll_UriDelivery_WaitsForTheFileToBeActiveThenDownloadsWithTheKey()
    {
        Fake.FileProcessingReads = 1;
        var job = await SubmitAsync();

        var first = await Provider.PollAsync(job, Channel, Cancel);
        var second = await Provider.PollAsync(job, Channel, Cancel);
        await using var content = await Provider.OpenResultAsync(job, second.ResultLocation!, Channel, Cancel);
        using var copy = new MemoryStream();
        await content.Content.CopyToAsync(copy, Cancel);

        Assert.Equal(UpstreamState.Running, first.State);
        Assert.Equal(UpstreamState.Succeeded, second.State);
        var download = Fake.LastDownload!;
        Assert.Equal($"/v1beta/files/{job.UpstreamId}:download", download.Path);
        Assert.Equal("?alt=media", download.Query);
        Assert.Equal(ApiKey, download.Header("x-goog-api-key"));
        Assert.Equal(Fake.Video, copy.ToArray());
    }

    [Theory]
    [InlineData("budget_exceeded", "budget_exceeded")]
    [InlineData("incomplete", "incomplete")]
    [InlineData("requires_action", "requires_action")]
    [InlineData("cancelled", "cancelled")]
    [InlineData("failed", "upstream_error")]
    public async Task Poll_NonSuccessStatus_FailsWithItsOwnCode(string status, string code)
    {
        Fake.EndStatus = status;
        var job = await SubmitAsync();

        var result = await Provider.PollAsync(job, Channel, Cancel);

        Assert.Equal(UpstreamState.Failed, result.State);
        Assert.Equal(code, result.Error?.Code);
    }

    [Fact]
    public async Task Cancel_PostsCancelAndTheInteractionEndsCancelled()
    {
        Fake.Scenario = FakeScenario.Slow;
        var job = await SubmitAsync();
        Assert.True(Provider.Capabilities.SupportsCancel);

        await Provider.CancelAsync(job, Channel, Cancel);
        var result = await Provider.PollAsync(job, Channel, Cancel);

        var cancel = Assert.Single(Fake.Requests, r => r.Kind == FakeRequestKind.Cancel);
        Assert.Equal($"/v1beta/interactions/{job.UpstreamId}/cancel", cancel.Path);
        Assert.Equal("POST", cancel.Method);
        Assert.Contains(job.UpstreamId, Fake.Cancelled);
        Assert.Equal("cancelled", result.Error?.Code);
    }

    [Fact]
    public async Task Submit_RetiredPreviewModel_ThrowsModelRetired()
    {
        var error = await Assert.ThrowsAsync<UpstreamException>(() => Provider.SubmitAsync(NewRequest() with { Model = "gemini-omni-flash-preview" }, Channel, Cancel));

        Assert.Equal("model_retired", error.Code);
        Assert.True(error.ProvablyNotAccepted);
    }

    [Theory]
    [InlineData("gemini-omni-1.1-flash", 10, null)]
    [InlineData("gemini-omni-1.1-flash", 12, RenderField.Duration)]
    [InlineData("gemini-omni-1.2-flash", 15, null)]
    [InlineData("gemini-omni-1.2-flash", 2, RenderField.Duration)]
    public void CheckRender_Durations_FollowTheModel(string model, int seconds, RenderField? refused)
    {
        Assert.Equal(refused, Provider.CheckRender(new RenderSpec(model, "16:9", "720P", 1280, 720, seconds))?.Field);
    }
}

/// <summary>Gemini Omni on Vertex AI, with a service-account key and a results bucket.</summary>
public sealed class GeminiOmniVertexProviderTests : UpstreamProviderContract<FakeGeminiOmniServer>
{
    private GoogleTestKey _key = null!;

    protected override string ProviderName => ProviderNames.GeminiOmni;

    protected override async Task<FakeGeminiOmniServer> StartFakeAsync(CancellationToken cancellationToken)
    {
        var fake = await FakeGeminiOmniServer.StartNewAsync(cancellationToken);
        _key = GoogleTestKey.Create(fake.TokenUri);
        fake.Tokens.TrustedKey = _key;
        return fake;
    }

    protected override ChannelSettings ChannelAt(Uri baseUrl) =>
        new("test-channel", ProviderName, baseUrl, _key.Json) { Bucket = "gs://omni-results" };

    protected override VideoJobRequest NewRequest(params ReferenceImage[] images) => new()
    {
        TaskId = "gemini-omni:task-2",
        Model = "gemini-omni-1.2-flash",
        Prompt = "A lighthouse in a storm",
        AspectRatio = "16:9",
        Size = "1080P",
        Width = 1920,
        Height = 1080,
        DurationSeconds = 12,
        Images = images,
    };

    [Fact]
    public async Task Submit_ServiceAccountKey_SpeaksVertexAtGlobalWithABearerAndAGcsUri()
    {
        var job = await SubmitAsync();
        var done = (await PollUntilDoneAsync(job))[^1];
        await using var content = await Provider.OpenResultAsync(job, done.ResultLocation!, Channel, Cancel);

        var sent = Fake.LastSubmit!;
        Assert.Equal("/v1beta1/projects/reelay-test/locations/global/interactions", sent.Path);
        Assert.StartsWith("Bearer ya29.fake-", sent.Header("Authorization"), StringComparison.Ordinal);
        Assert.Null(sent.Header("x-goog-api-key"));
        using var body = JsonDocument.Parse(sent.Body);
        var format = body.RootElement.GetProperty("response_format");
        Assert.Equal("uri", format.GetProperty("delivery").GetString());
        Assert.Equal("gs://omni-results/gemini-omni-task-2/", format.GetProperty("gcs_uri").GetString());
        Assert.Equal("12s", format.GetProperty("duration").GetString());
        Assert.Equal($"gs://omni-results/gemini-omni-task-2/{job.UpstreamId}.mp4", done.ResultLocation);
        Assert.Equal($"/storage/v1/b/omni-results/o/gemini-omni-task-2%2F{job.UpstreamId}.mp4", Fake.LastDownload!.Path);
        Assert.Equal(1, Fake.Tokens.Exchanges);
    }

    [Fact]
    public async Task Cancel_OnVertex_PostsToTheGlobalInteraction()
    {
        Fake.Scenario = FakeScenario.Slow;
        var job = await SubmitAsync();

        await Provider.CancelAsync(job, Channel, Cancel);

        Assert.Equal($"/v1beta1/projects/reelay-test/locations/global/interactions/{job.UpstreamId}/cancel", Assert.Single(Fake.Requests, r => r.Kind == FakeRequestKind.Cancel).Path);
    }
}
