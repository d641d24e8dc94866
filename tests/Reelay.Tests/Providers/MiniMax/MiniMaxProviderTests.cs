using System.Text.Json;
using Reelay.Providers;
using Reelay.Testing.Fakes;

namespace Reelay.Tests.Providers.MiniMax;

public sealed class MiniMaxProviderTests : UpstreamProviderContract<FakeMiniMaxServer>
{
    protected override string ProviderName => ProviderNames.MiniMax;

    protected override Task<FakeMiniMaxServer> StartFakeAsync(CancellationToken cancellationToken) => FakeMiniMaxServer.StartNewAsync(cancellationToken);

    protected override VideoJobRequest NewRequest(params ReferenceImage[] images) => new()
    {
        TaskId = "hailuo-02:task-1",
        Model = "MiniMax-Hailuo-02",
        Prompt = "[Push in] A red fox running through snow",
        AspectRatio = "16:9",
        Size = "720P",
        Width = 1280,
        Height = 720,
        DurationSeconds = 10,
        Images = images,
        Options = new Dictionary<string, string> { ["enhance_prompt"] = "false" },
    };

    [Fact]
    public async Task Submit_FirstAndLastFrame_SendsDocumentedBody()
    {
        await SubmitAsync(NewRequest(Image(1), Image(2)) with { CallbackUrl = new Uri("https://reelay.example.com/callbacks/minimax/tok") });

        var sent = Fake.LastSubmit!;
        Assert.Equal("/v1/video_generation", sent.Path);
        Assert.Equal($"Bearer {ApiKey}", sent.Header("Authorization"));
        using var body = JsonDocument.Parse(sent.Body);
        var root = body.RootElement;
        Assert.Equal("MiniMax-Hailuo-02", root.GetProperty("model").GetString());
        Assert.Equal("[Push in] A red fox running through snow", root.GetProperty("prompt").GetString());
        // 720P is served by MiniMax's 768P tier.
        Assert.Equal("768P", root.GetProperty("resolution").GetString());
        Assert.Equal(10, root.GetProperty("duration").GetInt32());
        Assert.False(root.GetProperty("prompt_optimizer").GetBoolean());
        Assert.Equal(Image(1).ToDataUri(), root.GetProperty("first_frame_image").GetString());
        Assert.Equal(Image(2).ToDataUri(), root.GetProperty("last_frame_image").GetString());
        Assert.Equal("https://reelay.example.com/callbacks/minimax/tok", root.GetProperty("callback_url").GetString());
    }

    [Fact]
    public async Task Poll_Success_ResultIsTheFileIdResolvedAtDownload()
    {
        var job = await SubmitAsync();
        var done = await Provider.PollAsync(job, Channel, Cancel);

        await using var content = await Provider.OpenResultAsync(job, done.ResultLocation!, Channel, Cancel);

        Assert.Matches("^[0-9]+$", done.ResultLocation!);
        Assert.Equal(1, Fake.FileRetrievals);
        Assert.Equal("video/mp4", content.ContentType);
    }

    [Fact]
    public async Task Poll_FailedSpelling_AlsoFails()
    {
        Fake.FailedSpelling = true;
        Fake.Scenario = FakeScenario.RefuseAtPoll;
        var job = await SubmitAsync();

        var result = await Provider.PollAsync(job, Channel, Cancel);

        Assert.Equal(UpstreamState.Failed, result.State);
        Assert.Equal("content_policy", result.Error?.Code);
    }

    [Fact]
    public async Task Submit_ContentPolicyInA200_IsRejectedNotAccepted()
    {
        Fake.Scenario = FakeScenario.RefuseAtSubmit;

        var error = await Assert.ThrowsAsync<UpstreamException>(() => Provider.SubmitAsync(NewRequest(), Channel, Cancel));

        // HTTP 200 does not mean success: no job id may be recorded from it.
        Assert.Equal("content_policy", error.Code);
        Assert.Contains("1026", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("MiniMax-Hailuo-02", "16:9", "1080P", 6, null)]
    [InlineData("MiniMax-Hailuo-02", "16:9", "1080P", 10, RenderField.Duration)]
    [InlineData("MiniMax-Hailuo-02", "16:9", "480P", 10, null)]
    [InlineData("MiniMax-Hailuo-2.3", "16:9", "480P", 6, RenderField.Size)]
    [InlineData("MiniMax-Hailuo-2.3", "9:16", "720P", 6, RenderField.AspectRatio)]
    [InlineData("T2V-01-Director", "16:9", "720P", 10, RenderField.Duration)]
    public void CheckRender_Values_FollowsTheResolutionDurationMatrix(string model, string ratio, string size, int seconds, RenderField? problem)
    {
        Assert.Equal(problem, Provider.CheckRender(new RenderSpec(model, ratio, size, 1280, 720, seconds))?.Field);
    }
}
