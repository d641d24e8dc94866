using System.Text.Json;
using Reelay.Providers;
using Reelay.Testing.Fakes;

namespace Reelay.Tests.Providers.UnifiedRelay;

public sealed class UnifiedRelayProviderTests : UpstreamProviderContract<FakeUnifiedRelayServer>
{
    protected override string ProviderName => ProviderNames.Unified;

    // status_update_time (Unix ms) of the fake's completed answer.
    protected override DateTimeOffset? ReportedFinishedAt => DateTimeOffset.FromUnixTimeMilliseconds(1762241020000);

    protected override Task<FakeUnifiedRelayServer> StartFakeAsync(CancellationToken cancellationToken) => FakeUnifiedRelayServer.StartNewAsync(cancellationToken);

    protected override VideoJobRequest NewRequest(params ReferenceImage[] images) => new()
    {
        TaskId = "grok:task-1",
        Model = "grok-video-3",
        Prompt = "A cat playing piano",
        AspectRatio = "3:2",
        Size = "720P",
        Width = 1080,
        Height = 720,
        DurationSeconds = 10,
        Images = images,
        Options = new Dictionary<string, string> { ["mode"] = "extremely-crazy" },
    };

    [Fact]
    public async Task Submit_GrokModel_SendsUnifiedBodyWithFlagsReappended()
    {
        await SubmitAsync(NewRequest(Image(1, "https://images.example/cat.png"), Image(2)));

        var sent = Fake.LastSubmit!;
        Assert.Equal("/v1/video/create", sent.Path);
        Assert.Equal($"Bearer {ApiKey}", sent.Header("Authorization"));
        using var body = JsonDocument.Parse(sent.Body);
        var root = body.RootElement;
        Assert.Equal("grok-video-3", root.GetProperty("model").GetString());
        Assert.Equal("A cat playing piano --mode=extremely-crazy", root.GetProperty("prompt").GetString());
        Assert.Equal("3:2", root.GetProperty("aspect_ratio").GetString());
        Assert.Equal("720P", root.GetProperty("size").GetString());
        Assert.Equal(10, root.GetProperty("duration").GetInt32());
        var images = root.GetProperty("images");
        Assert.Equal("https://images.example/cat.png", images[0].GetString());
        Assert.Equal(Image(2).ToDataUri(), images[1].GetString());
    }

    [Fact]
    public async Task Submit_SoraModel_SendsTheSoraAppsWordsAndStoredFields()
    {
        var options = new Dictionary<string, string> { ["watermark"] = "false", ["private"] = "true", ["style"] = "comic" };
        await SubmitAsync(NewRequest() with { Model = "sora-2-pro", AspectRatio = "9:16", Size = "1024x1792", Width = 1024, Height = 1792, Options = options });

        using var body = JsonDocument.Parse(Fake.LastSubmit!.Body);
        var root = body.RootElement;
        Assert.Equal("large", root.GetProperty("size").GetString());
        Assert.Equal("portrait", root.GetProperty("orientation").GetString());
        Assert.False(root.GetProperty("watermark").GetBoolean());
        Assert.True(root.GetProperty("private").GetBoolean());
        Assert.Equal("comic", root.GetProperty("style").GetString());
        Assert.Equal("A cat playing piano", root.GetProperty("prompt").GetString());
    }

    [Fact]
    public async Task Submit_GrokModelWithOrientation_KeepsItOutOfThePromptFlags()
    {
        var options = new Dictionary<string, string> { ["mode"] = "custom", ["orientation"] = "portrait", ["enhance_prompt"] = "true" };
        await SubmitAsync(NewRequest() with { AspectRatio = "2:3", Options = options });

        using var body = JsonDocument.Parse(Fake.LastSubmit!.Body);
        var root = body.RootElement;
        Assert.Equal("A cat playing piano --mode=custom", root.GetProperty("prompt").GetString());
        Assert.Equal("portrait", root.GetProperty("orientation").GetString());
        Assert.True(root.GetProperty("enhance_prompt").GetBoolean());
        Assert.Equal("720P", root.GetProperty("size").GetString());
        Assert.False(root.TryGetProperty("watermark", out _));
    }

    [Fact]
    public async Task Submit_NonGrokModel_SendsPromptWithoutFlags()
    {
        await SubmitAsync(NewRequest() with { Model = "veo3.1-fast" });

        using var body = JsonDocument.Parse(Fake.LastSubmit!.Body);
        Assert.Equal("A cat playing piano", body.RootElement.GetProperty("prompt").GetString());
        Assert.Equal(0, body.RootElement.GetProperty("images").GetArrayLength());
    }

    [Fact]
    public async Task Submit_NoBaseUrl_ThrowsMisconfiguredWithoutCalling()
    {
        var channel = new ChannelSettings("relay", ProviderNames.Unified, null, ApiKey);

        var error = await Assert.ThrowsAsync<UpstreamException>(() => Provider.SubmitAsync(NewRequest(), channel, Cancel));

        Assert.Equal("channel_misconfigured", error.Code);
        Assert.Contains("relay", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Poll_Completed_ReportsEnhancedPromptAndQueriesById()
    {
        var job = await SubmitAsync();

        var done = (await PollUntilDoneAsync(job))[^1];

        Assert.Equal(Fake.EnhancedPrompt, done.EnhancedPrompt);
        Assert.Equal("?id=" + Uri.EscapeDataString(job.UpstreamId), Fake.LastPoll!.Query);
    }

    [Theory]
    [InlineData(0.0, true)]
    [InlineData(1.0, false)]
    public async Task Poll_JobOfDrawnDuration_RunsUntilItsFinishWithProgressOnlyWhenDrawnSo(double shareWithoutProgress, bool reportsProgress)
    {
        // Long enough that the first poll comes well before the finish, even on a loaded machine.
        Fake.JobDurations = (TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(30));
        Fake.ShareWithoutProgress = shareWithoutProgress;
        var job = await SubmitAsync();

        var result = await Provider.PollAsync(job, Channel, Cancel);

        var fakeJob = Fake.FindJob(job.UpstreamId)!;
        Assert.InRange(fakeJob.FinishesAt!.Value - fakeJob.SubmittedAt, 20_000, 30_000);
        Assert.Equal(reportsProgress, fakeJob.ReportsProgress);
        Assert.Equal(UpstreamState.Running, result.State);
        Assert.Equal(reportsProgress, result.Progress is not null);
    }

    [Theory]
    [InlineData("pending", UpstreamState.Running)]
    [InlineData("queued", UpstreamState.Running)]
    [InlineData("processing", UpstreamState.Running)]
    [InlineData("unknown", UpstreamState.Running)]
    [InlineData("image_downloading", UpstreamState.Running)]
    [InlineData("video_generating", UpstreamState.Running)]
    [InlineData("video_upsampling", UpstreamState.Running)]
    [InlineData("completed", UpstreamState.Succeeded)]
    [InlineData("success", UpstreamState.Succeeded)]
    [InlineData("video_generation_completed", UpstreamState.Succeeded)]
    [InlineData("video_upsampling_completed", UpstreamState.Succeeded)]
    [InlineData("failed", UpstreamState.Failed)]
    [InlineData("error", UpstreamState.Failed)]
    [InlineData("video_generation_failed", UpstreamState.Failed)]
    [InlineData("video_upsampling_failed", UpstreamState.Failed)]
    [InlineData("cancelled", UpstreamState.Failed)]
    public async Task Poll_RelayStatus_MapsToState(string status, UpstreamState expected)
    {
        var job = await SubmitAsync();
        Fake.ScriptQueryAnswer($$"""{"id":"{{job.UpstreamId}}","status":"{{status}}","video_url":"https://cdn.example/v.mp4","enhanced_prompt":"","status_update_time":1762241017286}""");

        var result = await Provider.PollAsync(job, Channel, Cancel);

        Assert.Equal(expected, result.State);
    }

    [Fact]
    public async Task Poll_SubStepCompletedWithoutUrl_KeepsRunning()
    {
        var job = await SubmitAsync();
        Fake.ScriptQueryAnswer("""{"id":"x","status":"video_generation_completed","video_url":null,"enhanced_prompt":"","status_update_time":1762241017286}""");

        var result = await Provider.PollAsync(job, Channel, Cancel);

        Assert.Equal(UpstreamState.Running, result.State);
    }

    [Theory]
    [InlineData("""{"id":"x","status":"processing","progress":"45","video_url":null}""", 45)]
    [InlineData("""{"id":"x","status":"processing","progress":45.4,"video_url":null}""", 45)]
    [InlineData("""{"id":"x","status":"processing","progress":"80%","video_url":null}""", 80)]
    [InlineData("""{"id":"x","status":"processing","video_url":null}""", null)]
    public async Task Poll_Progress_ReadsNumberOrNumericString(string answer, int? expected)
    {
        var job = await SubmitAsync();
        Fake.ScriptQueryAnswer(answer);

        var result = await Provider.PollAsync(job, Channel, Cancel);

        Assert.Equal(expected, result.Progress);
    }

    [Theory]
    [InlineData("""{"id":"x","status":"failed","error":"image download failed"}""", "upstream_error", "image download failed")]
    [InlineData("""{"id":"x","status":"failed","error":{"code":"bad_image","message":"image too small"}}""", "upstream_error", "image too small")]
    [InlineData("""{"id":"x","status":"failed","detail":{"status":"failed","fail_reason":"prompt violates content policy"}}""", "content_policy", "prompt violates content policy")]
    [InlineData("""{"id":"x","status":"failed"}""", "upstream_error", "status 'failed'")]
    [InlineData("""{"id":"x","status":"cancelled"}""", "cancelled", "cancelled")]
    public async Task Poll_FailureReason_ReadsEveryErrorShape(string answer, string code, string message)
    {
        var job = await SubmitAsync();
        Fake.ScriptQueryAnswer(answer);

        var result = await Provider.PollAsync(job, Channel, Cancel);

        Assert.Equal(UpstreamState.Failed, result.State);
        Assert.Equal(code, result.Error?.Code);
        Assert.Contains(message, result.Error?.Message, StringComparison.Ordinal);
    }
}
