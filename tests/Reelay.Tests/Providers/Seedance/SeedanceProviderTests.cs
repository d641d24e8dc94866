using System.Text.Json;
using Reelay.Providers;
using Reelay.Testing.Fakes;

namespace Reelay.Tests.Providers.Seedance;

public sealed class SeedanceProviderTests : UpstreamProviderContract<FakeSeedanceServer>
{
    protected override string ProviderName => ProviderNames.Seedance;

    // updated_at (Unix seconds) of the fake's finished task.
    protected override DateTimeOffset? ReportedFinishedAt => DateTimeOffset.FromUnixTimeSeconds(1718049530);

    protected override Task<FakeSeedanceServer> StartFakeAsync(CancellationToken cancellationToken) => FakeSeedanceServer.StartNewAsync(cancellationToken);

    protected override VideoJobRequest NewRequest(params ReferenceImage[] images) => new()
    {
        TaskId = "seedance-1.0-pro:task-1",
        Model = "doubao-seedance-1-0-pro-250528",
        Prompt = "A detective enters a dark room",
        AspectRatio = "16:9",
        Size = "720P",
        Width = 1280,
        Height = 720,
        DurationSeconds = 5,
        Seed = 42,
        Images = images,
    };

    [Fact]
    public async Task Submit_TextToVideo_SendsJsonFieldsNotPromptCommands()
    {
        await SubmitAsync(NewRequest() with { CallbackUrl = new Uri("https://reelay.example.com/callbacks/seedance/tok") });

        var sent = Fake.LastSubmit!;
        Assert.Equal("/api/v3/contents/generations/tasks", sent.Path);
        Assert.Equal($"Bearer {ApiKey}", sent.Header("Authorization"));
        using var body = JsonDocument.Parse(sent.Body);
        var root = body.RootElement;
        Assert.Equal("doubao-seedance-1-0-pro-250528", root.GetProperty("model").GetString());
        var text = Assert.Single(root.GetProperty("content").EnumerateArray());
        Assert.Equal("text", text.GetProperty("type").GetString());
        // Parameters go as JSON fields; the same parameter must not also ride in the prompt as --ratio.
        Assert.Equal("A detective enters a dark room", text.GetProperty("text").GetString());
        Assert.Equal("16:9", root.GetProperty("ratio").GetString());
        Assert.Equal("720p", root.GetProperty("resolution").GetString());
        Assert.Equal(5, root.GetProperty("duration").GetInt32());
        Assert.Equal(42, root.GetProperty("seed").GetInt64());
        Assert.Equal("https://reelay.example.com/callbacks/seedance/tok", root.GetProperty("callback_url").GetString());
        Assert.False(root.TryGetProperty("watermark", out _));
    }

    [Fact]
    public async Task Submit_TwoImages_SendsFirstAndLastFrameRoles()
    {
        await SubmitAsync(NewRequest(Image(1), Image(2)));

        using var body = JsonDocument.Parse(Fake.LastSubmit!.Body);
        var images = body.RootElement.GetProperty("content").EnumerateArray().Where(c => c.GetProperty("type").GetString() == "image_url").ToList();
        Assert.Equal(["first_frame", "last_frame"], images.Select(i => i.GetProperty("role").GetString()));
        Assert.Equal(Image(2).ToDataUri(), images[1].GetProperty("image_url").GetProperty("url").GetString());
        Assert.StartsWith("data:image/png;base64,", images[0].GetProperty("image_url").GetProperty("url").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_ReferenceMode_MarksEveryImageAReference()
    {
        await SubmitAsync(NewRequest(Image(1), Image(2), Image(3)) with
        {
            Options = new Dictionary<string, string> { ["image_mode"] = "reference", ["watermark"] = "true" },
        });

        using var body = JsonDocument.Parse(Fake.LastSubmit!.Body);
        var roles = body.RootElement.GetProperty("content").EnumerateArray().Skip(1).Select(c => c.GetProperty("role").GetString());
        Assert.Equal(["reference_image", "reference_image", "reference_image"], roles);
        Assert.True(body.RootElement.GetProperty("watermark").GetBoolean());
    }

    [Fact]
    public async Task Submit_ThreeFramesWithoutReferenceMode_IsRejectedBeforeSending()
    {
        var error = await Assert.ThrowsAsync<UpstreamException>(() => Provider.SubmitAsync(NewRequest(Image(1), Image(2), Image(3)), Channel, Cancel));

        Assert.Equal("invalid_argument", error.Code);
        Assert.Equal(0, Fake.Submissions);
    }

    [Fact]
    public async Task Submit_BaseUrlWithApiVersion_DoesNotDoubleIt()
    {
        var request = NewRequest();

        await Provider.SubmitAsync(request, ChannelAt(new Uri(Fake.BaseUrl, "api/v3")), Cancel);

        Assert.Equal("/api/v3/contents/generations/tasks", Fake.LastSubmit!.Path);
    }

    [Fact]
    public async Task Poll_SlowJob_MapsQueuedThenRunning()
    {
        Fake.Scenario = FakeScenario.Slow;
        var job = await SubmitAsync();

        var states = (await PollUntilDoneAsync(job)).Select(r => r.State).ToList();

        Assert.Equal([UpstreamState.Queued, UpstreamState.Running, UpstreamState.Running, UpstreamState.Succeeded], states);
    }

    [Fact]
    public async Task Cancel_QueuedTask_DeletesItAndPollSaysCancelled()
    {
        Fake.Scenario = FakeScenario.Slow;
        var job = await SubmitAsync();

        await Provider.CancelAsync(job, Channel, Cancel);
        var result = await Provider.PollAsync(job, Channel, Cancel);

        Assert.True(Provider.Capabilities.SupportsCancel);
        Assert.Equal("DELETE", Fake.Requests.Single(r => r.Kind == FakeRequestKind.Cancel).Method);
        Assert.Equal(UpstreamState.Failed, result.State);
        Assert.Equal("cancelled", result.Error?.Code);
    }

    [Fact]
    public async Task Cancel_RunningTask_ThrowsRejected()
    {
        var job = await SubmitAsync();
        await PollUntilDoneAsync(job);

        var error = await Assert.ThrowsAsync<UpstreamException>(() => Provider.CancelAsync(job, Channel, Cancel));

        Assert.Equal(UpstreamFailureStage.Rejected, error.Stage);
    }

    [Theory]
    [InlineData("16:9", "720P", 5, null)]
    [InlineData("21:9", "1080P", 12, null)]
    [InlineData("3:2", "720P", 5, RenderField.AspectRatio)]
    [InlineData("16:9", "4K", 5, RenderField.Size)]
    [InlineData("16:9", "720P", 13, RenderField.Duration)]
    public void CheckRender_Values_PassesOverWhatArkCannotRender(string ratio, string size, int seconds, RenderField? problem)
    {
        var result = Provider.CheckRender(new RenderSpec("doubao-seedance-1-0-pro-250528", ratio, size, 1280, 720, seconds));

        Assert.Equal(problem, result?.Field);
    }

    [Fact]
    public void CheckRender_Seedance2_TakesFifteenSecondsButNotThree()
    {
        Assert.Null(Provider.CheckRender(new RenderSpec("doubao-seedance-2-0-260128", "16:9", "720P", 1280, 720, 15)));
        Assert.Equal("4–15 seconds", Provider.CheckRender(new RenderSpec("doubao-seedance-2-0-260128", "16:9", "720P", 1280, 720, 3))?.Accepts);
    }

    [Theory]
    [InlineData("""{"id":"cgt-1","status":"running"}""", CallbackVerdict.Ignore)]
    [InlineData("""{"id":"cgt-1","status":"queued"}""", CallbackVerdict.Ignore)]
    [InlineData("""{"id":"cgt-1","status":"succeeded","content":{"video_url":"https://x/v.mp4"}}""", CallbackVerdict.PollNow)]
    [InlineData("""{"id":"cgt-1","status":"failed"}""", CallbackVerdict.PollNow)]
    [InlineData("not json", CallbackVerdict.PollNow)]
    public async Task ReadCallback_UnsignedTaskObject_OnlyAnEndIsWorthAPoll(string body, CallbackVerdict verdict)
    {
        var callback = new UpstreamCallback(new Dictionary<string, string>(), System.Text.Encoding.UTF8.GetBytes(body), DateTimeOffset.UtcNow);

        Assert.Equal(verdict, await Provider.ReadCallbackAsync(callback, Channel, Cancel));
    }
}
