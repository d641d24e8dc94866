using System.Text.Json;
using Reelay.Providers;
using Reelay.Testing.Fakes;

namespace Reelay.Tests.Providers.Wan;

public sealed class WanProviderTests : UpstreamProviderContract<FakeWanServer>
{
    protected override string ProviderName => ProviderNames.Wan;

    protected override Task<FakeWanServer> StartFakeAsync(CancellationToken cancellationToken) => FakeWanServer.StartNewAsync(cancellationToken);

    protected override VideoJobRequest NewRequest(params ReferenceImage[] images) => new()
    {
        TaskId = "wan2.6-t2v:task-1",
        Model = images.Length > 1 ? "wan2.2-kf2v-flash" : images.Length == 1 ? "wan2.6-i2v" : "wan2.6-t2v",
        Prompt = "A tabby cat eats a fish",
        NegativePrompt = "low quality",
        AspectRatio = "1:1",
        Size = "720P",
        Width = 720,
        Height = 720,
        DurationSeconds = 10,
        Seed = 42,
        Images = images,
        Options = new Dictionary<string, string> { ["enhance_prompt"] = "false" },
    };

    [Fact]
    public async Task Submit_TextToVideo_SendsAsyncHeaderAndTierSize()
    {
        await SubmitAsync();

        var sent = Fake.LastSubmit!;
        Assert.Equal("/api/v1/services/aigc/video-generation/video-synthesis", sent.Path);
        Assert.Equal("enable", sent.Header("X-DashScope-Async"));
        using var body = JsonDocument.Parse(sent.Body);
        var root = body.RootElement;
        Assert.Equal("wan2.6-t2v", root.GetProperty("model").GetString());
        Assert.Equal("low quality", root.GetProperty("input").GetProperty("negative_prompt").GetString());
        var parameters = root.GetProperty("parameters");
        // 720P 1:1 is the 720P tier's square size, with a '*'.
        Assert.Equal("960*960", parameters.GetProperty("size").GetString());
        Assert.False(parameters.TryGetProperty("resolution", out _));
        Assert.Equal(10, parameters.GetProperty("duration").GetInt32());
        Assert.False(parameters.GetProperty("prompt_extend").GetBoolean());
        Assert.Equal(42, parameters.GetProperty("seed").GetInt64());
    }

    [Fact]
    public async Task Submit_FirstAndLastFrame_UsesTheKf2vPathAndResolution()
    {
        await SubmitAsync(NewRequest(Image(1), Image(2)));

        var sent = Fake.LastSubmit!;
        Assert.Equal("/api/v1/services/aigc/image2video/video-synthesis", sent.Path);
        using var body = JsonDocument.Parse(sent.Body);
        var input = body.RootElement.GetProperty("input");
        Assert.Equal(Image(1).ToDataUri(), input.GetProperty("first_frame_url").GetString());
        Assert.Equal(Image(2).ToDataUri(), input.GetProperty("last_frame_url").GetString());
        Assert.Equal("720P", body.RootElement.GetProperty("parameters").GetProperty("resolution").GetString());
        Assert.False(body.RootElement.GetProperty("parameters").TryGetProperty("size", out _));
    }

    [Fact]
    public async Task Poll_Succeeded_ReportsTheRewrittenPrompt()
    {
        var job = await SubmitAsync();

        var done = await Provider.PollAsync(job, Channel, Cancel);

        Assert.Equal(UpstreamState.Succeeded, done.State);
        Assert.Equal("A tabby cat eats a fish, close-up", done.EnhancedPrompt);
    }

    [Fact]
    public async Task Cancel_PendingTask_EndsCanceled()
    {
        Fake.Scenario = FakeScenario.Slow;
        var job = await SubmitAsync();

        await Provider.CancelAsync(job, Channel, Cancel);
        var result = await Provider.PollAsync(job, Channel, Cancel);

        Assert.Equal($"/api/v1/tasks/{job.UpstreamId}/cancel", Fake.Requests.Single(r => r.Kind == FakeRequestKind.Cancel).Path);
        Assert.Equal("cancelled", result.Error?.Code);
    }

    [Fact]
    public async Task Submit_RateQuotaThrottling_IsARateLimitNotAnEmptyAccount()
    {
        Fake.Scenario = FakeScenario.RateLimitedThenSuccess;

        var error = await Assert.ThrowsAsync<UpstreamException>(() => Provider.SubmitAsync(NewRequest(), Channel, Cancel));

        Assert.Equal("rate_limited", error.Code);
    }

    [Theory]
    [InlineData("wan2.6-t2v", "16:9", "1080P", 15, null)]
    [InlineData("wan2.2-t2v-plus", "16:9", "720P", 10, RenderField.Duration)]
    [InlineData("wan2.5-t2v-preview", "4:3", "480P", 5, RenderField.AspectRatio)]
    [InlineData("wan2.6-t2v", "16:9", "4K", 5, RenderField.Size)]
    public void CheckRender_Values_PassesOverWhatWanCannotRender(string model, string ratio, string size, int seconds, RenderField? problem)
    {
        Assert.Equal(problem, Provider.CheckRender(new RenderSpec(model, ratio, size, 1280, 720, seconds))?.Field);
    }
}
