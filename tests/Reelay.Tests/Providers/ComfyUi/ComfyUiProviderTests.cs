using System.Text.Json;
using Reelay.Providers;
using Reelay.Testing.Fakes;

namespace Reelay.Tests.Providers.ComfyUi;

public sealed class ComfyUiProviderTests : UpstreamProviderContract<FakeComfyUiServer>
{
    protected override string ProviderName => ProviderNames.ComfyUi;

    protected override Task<FakeComfyUiServer> StartFakeAsync(CancellationToken cancellationToken) => FakeComfyUiServer.StartNewAsync(cancellationToken);

    protected override VideoJobRequest NewRequest(params ReferenceImage[] images) => new()
    {
        TaskId = "wan2.2-5b-comfyui:" + Guid.NewGuid().ToString("N"),
        Model = "wan2.2-ti2v-5b",
        Prompt = "A red fox running through snow",
        NegativePrompt = "blurry",
        AspectRatio = "16:9",
        Size = "720P",
        Width = 1280,
        Height = 720,
        DurationSeconds = 5,
        Seed = 42,
        Images = images,
        Options = new Dictionary<string, string> { ["workflow"] = images.Length > 0 ? "wan2.2-ti2v-5b-i2v" : "wan2.2-ti2v-5b-t2v" },
    };

    [Fact]
    public async Task Submit_BuiltInWorkflow_FillsEveryPlaceholderWithItsType()
    {
        var job = await SubmitAsync();

        var graph = Fake.GraphOf(job.UpstreamId);
        Assert.Equal("A red fox running through snow", graph.GetProperty("6").GetProperty("inputs").GetProperty("text").GetString());
        Assert.Equal("blurry", graph.GetProperty("7").GetProperty("inputs").GetProperty("text").GetString());
        var latent = graph.GetProperty("55").GetProperty("inputs");
        // Wan22ImageToVideoLatent takes sides in steps of 32: 1280x720 is sent as 1280x704 (its own default size).
        Assert.Equal(1280, latent.GetProperty("width").GetInt32());
        Assert.Equal(704, latent.GetProperty("height").GetInt32());
        // 5 s at 24 fps in Wan's 4k+1 frames.
        Assert.Equal(121, latent.GetProperty("length").GetInt32());
        Assert.Equal(42, graph.GetProperty("3").GetProperty("inputs").GetProperty("seed").GetInt64());
        Assert.Equal(24, graph.GetProperty("57").GetProperty("inputs").GetProperty("fps").GetInt32());
        Assert.StartsWith("reelay/wan2_2_5b_comfyui_", graph.GetProperty("58").GetProperty("inputs").GetProperty("filename_prefix").GetString(), StringComparison.Ordinal);
        // Reelay names the prompt itself: a canonical lower-case UUID from the task id.
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", job.UpstreamId);
    }

    [Fact]
    public async Task Submit_WithImage_UploadsItAndLoadImageNamesTheUpload()
    {
        var job = await SubmitAsync(NewRequest(Image(7)));

        var (name, bytes) = Assert.Single(Fake.Uploads);
        Assert.Equal(Image(7).Content.ToArray(), bytes);
        Assert.Equal(name, Fake.GraphOf(job.UpstreamId).GetProperty("56").GetProperty("inputs").GetProperty("image").GetString());
    }

    [Fact]
    public async Task Submit_I2vWorkflowWithoutImage_IsRejectedBeforeQueueing()
    {
        var error = await Assert.ThrowsAsync<UpstreamException>(() =>
            Provider.SubmitAsync(NewRequest() with { Options = new Dictionary<string, string> { ["workflow"] = "wan2.2-ti2v-5b-i2v" } }, Channel, Cancel));

        Assert.Equal("invalid_argument", error.Code);
        Assert.Contains("{{image}}", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, Fake.Submissions);
    }

    [Fact]
    public async Task Submit_OwnWorkflowFile_IsReadFromDisk()
    {
        var path = Path.Combine(Path.GetTempPath(), $"reelay-workflow-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(path, """{"1":{"class_type":"CLIPTextEncode","inputs":{"text":"{{prompt}}, cinematic, {{duration}} s"}},"2":{"class_type":"SaveVideo","inputs":{"filename_prefix":"{{filename_prefix}}"}}}""", Cancel);
        try
        {
            var job = await SubmitAsync(NewRequest() with { Options = new Dictionary<string, string> { ["workflow"] = path } });

            Assert.Equal("A red fox running through snow, cinematic, 5 s", Fake.GraphOf(job.UpstreamId).GetProperty("1").GetProperty("inputs").GetProperty("text").GetString());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Poll_WithoutSocket_ReportsAPendingPromptAsRunningSoItKeepsBeingPolled()
    {
        Fake.Scenario = FakeScenario.Slow;
        var job = await SubmitAsync();

        var states = (await PollUntilDoneAsync(job)).Select(r => r.State).ToList();

        // Queued would make the engine wait for a start report that no socket will send.
        Assert.Equal([UpstreamState.Running, UpstreamState.Running, UpstreamState.Running, UpstreamState.Succeeded], states);
        Assert.Equal(0, Fake.SocketConnections);
        Assert.Contains("/queue", Fake.Requests.Select(r => r.Path));
    }

    [Fact]
    public async Task Poll_SocketFollowsPrompt_AnswersQueuedAndProgressWithoutAskingTheServer()
    {
        Fake.WebSocketEnabled = true;
        Fake.Scenario = FakeScenario.Slow;
        var job = await SubmitAsync();

        var queued = await Provider.PollAsync(job, Channel, Cancel);
        await Fake.SendAsync(job.UpstreamId, "{not json");
        await Fake.SendStartAsync(job.UpstreamId);
        await Fake.SendProgressAsync(job.UpstreamId, 5, 20);
        var started = await Provider.Changes.ReadAsync(Cancel);
        var running = await PollUntilAsync(job, r => r.Progress == 25);

        Assert.Equal(UpstreamState.Queued, queued.State);
        Assert.Equal(job.TaskId, started.TaskId);
        Assert.Equal(UpstreamState.Running, running.State);
        Assert.Equal(1, Fake.SocketConnections);
        Assert.Equal(Fake.ConnectedClients.Single(), JsonDocument.Parse(Fake.LastSubmit!.Body).RootElement.GetProperty("client_id").GetString());
        // Every answer came from the socket's events: neither /history nor /queue was asked.
        Assert.Equal(0, Fake.Polls);
        Assert.DoesNotContain("/queue", Fake.Requests.Select(r => r.Path));
    }

    [Theory]
    [InlineData(FakeScenario.Success, UpstreamState.Succeeded, null)]
    [InlineData(FakeScenario.RefuseAtPoll, UpstreamState.Failed, "KSampler: CUDA out of memory")]
    public async Task Poll_SocketReportsTheEnd_ReadsTheOutcomeFromTheHistoryOnce(FakeScenario scenario, UpstreamState outcome, string? message)
    {
        Fake.WebSocketEnabled = true;
        Fake.Scenario = scenario;
        var job = await SubmitAsync();

        // The fake runs the prompt at once: a start report, then an end report.
        PollResult result;
        do
        {
            Assert.Equal(job.TaskId, (await Provider.Changes.ReadAsync(Cancel)).TaskId);
            result = await Provider.PollAsync(job, Channel, Cancel);
        }
        while (result.State is not (UpstreamState.Succeeded or UpstreamState.Failed));

        Assert.Equal(outcome, result.State);
        Assert.Equal(1, Fake.Polls);
        Assert.DoesNotContain("/queue", Fake.Requests.Select(r => r.Path));
        if (message is null)
        {
            Assert.StartsWith("/view?filename=", result.ResultLocation, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains(message, result.Error?.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Poll_SocketDrops_ReportsItsPromptsAndFollowsThemThroughHistoryUntilTheNewSocketHearsOfThem()
    {
        Fake.WebSocketEnabled = true;
        Fake.Scenario = FakeScenario.Slow;
        var job = await SubmitAsync();
        Assert.Equal(UpstreamState.Queued, (await Provider.PollAsync(job, Channel, Cancel)).State);

        Fake.DropSockets();
        var dropped = await Provider.Changes.ReadAsync(Cancel);
        var afterDrop = await Provider.PollAsync(job, Channel, Cancel);
        // Reconnected under the same client id: the server sends the prompt's events to the new socket.
        await Fake.SendEndAsync(job.UpstreamId);
        var ended = await Provider.Changes.ReadAsync(Cancel);
        var done = await Provider.PollAsync(job, Channel, Cancel);

        Assert.Equal(job.TaskId, dropped.TaskId);
        Assert.Equal(UpstreamState.Running, afterDrop.State);
        Assert.Equal(job.TaskId, ended.TaskId);
        Assert.Equal(UpstreamState.Succeeded, done.State);
        Assert.Equal(2, Fake.SocketConnections);
        Assert.Equal(2, Fake.Polls);
    }

    /// <summary>Polls until <paramref name="until"/> holds; the socket's events land in the background.</summary>
    private async Task<PollResult> PollUntilAsync(UpstreamJob job, Func<PollResult, bool> until)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var result = await Provider.PollAsync(job, Channel, Cancel);
            if (until(result))
            {
                return result;
            }

            Assert.True(DateTime.UtcNow < deadline, $"The poll still says {result.State} at {result.Progress}%.");
            await Task.Delay(10, Cancel);
        }
    }

    [Fact]
    public async Task Poll_ExecutionError_FailsNamingTheNode()
    {
        Fake.Scenario = FakeScenario.RefuseAtPoll;
        var job = await SubmitAsync();

        var result = await Provider.PollAsync(job, Channel, Cancel);

        Assert.Equal(UpstreamState.Failed, result.State);
        Assert.Equal("upstream_error", result.Error?.Code);
        Assert.Contains("KSampler: CUDA out of memory", result.Error?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancel_Prompt_DeletesItFromTheQueueAndInterruptsIt()
    {
        Fake.Scenario = FakeScenario.Slow;
        var job = await SubmitAsync();

        await Provider.CancelAsync(job, Channel, Cancel);

        Assert.Equal(["/queue", "/interrupt"], Fake.Requests.Where(r => r.Kind == FakeRequestKind.Cancel).Select(r => r.Path));
        Assert.Contains(job.UpstreamId, Fake.Cancelled);
    }
}
