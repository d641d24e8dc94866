using System.Text.Json;
using Reelay.Providers;
using Reelay.Testing.Fakes;

namespace Reelay.Tests.Providers.Runway;

public sealed class RunwayProviderTests : UpstreamProviderContract<FakeRunwayServer>
{
    protected override string ProviderName => ProviderNames.Runway;

    protected override Task<FakeRunwayServer> StartFakeAsync(CancellationToken cancellationToken) => FakeRunwayServer.StartNewAsync(cancellationToken);

    protected override VideoJobRequest NewRequest(params ReferenceImage[] images) => new()
    {
        TaskId = "gen4_turbo:task-1",
        Model = "gen4_turbo",
        Prompt = "A red fox running through snow",
        AspectRatio = "4:3",
        Size = "720P",
        Width = 960,
        Height = 720,
        DurationSeconds = 10,
        Images = images,
    };

    [Fact]
    public async Task Submit_FirstFrame_SendsCamelCaseBodyPixelRatioAndVersionHeader()
    {
        await SubmitAsync(NewRequest(Image(1)));

        var sent = Fake.LastSubmit!;
        Assert.Equal("/v1/image_to_video", sent.Path);
        Assert.Equal("2024-11-06", sent.Header("X-Runway-Version"));
        using var body = JsonDocument.Parse(sent.Body);
        var root = body.RootElement;
        Assert.Equal("A red fox running through snow", root.GetProperty("promptText").GetString());
        // 720P 4:3 is gen4's 1104:832.
        Assert.Equal("1104:832", root.GetProperty("ratio").GetString());
        Assert.Equal(10, root.GetProperty("duration").GetInt32());
        var image = Assert.Single(root.GetProperty("promptImage").EnumerateArray());
        Assert.Equal("first", image.GetProperty("position").GetString());
        Assert.Equal(Image(1).ToDataUri(), image.GetProperty("uri").GetString());
    }

    [Fact]
    public async Task Poll_Running_ReportsProgressAsPercent()
    {
        Fake.Scenario = FakeScenario.Slow;
        Fake.SlowPolls = 2;
        var job = await SubmitAsync();

        var results = await PollUntilDoneAsync(job);

        Assert.Equal(UpstreamState.Queued, results[0].State);
        Assert.Equal(50, results[1].Progress);
    }

    [Fact]
    public async Task Cancel_RunningTask_DeletesItAndPollSaysCancelled()
    {
        Fake.Scenario = FakeScenario.Slow;
        var job = await SubmitAsync();

        await Provider.CancelAsync(job, Channel, Cancel);
        var result = await Provider.PollAsync(job, Channel, Cancel);

        Assert.Equal("2024-11-06", Fake.Requests.Single(r => r.Kind == FakeRequestKind.Cancel).Header("X-Runway-Version"));
        Assert.Equal("cancelled", result.Error?.Code);
    }

    [Theory]
    [InlineData("gen4_turbo", "21:9", "720P", 5, null)]
    [InlineData("gen4_turbo", "16:9", "1080P", 5, RenderField.Size)]
    [InlineData("veo3.1", "16:9", "1080P", 8, null)]
    [InlineData("veo3.1", "1:1", "720P", 8, RenderField.AspectRatio)]
    [InlineData("gen4.5", "16:9", "720P", 7, null)]
    [InlineData("gen4_turbo", "16:9", "720P", 7, RenderField.Duration)]
    public void CheckRender_Values_FollowsEachModelsPixelSizes(string model, string ratio, string size, int seconds, RenderField? problem)
    {
        Assert.Equal(problem, Provider.CheckRender(new RenderSpec(model, ratio, size, 1280, 720, seconds))?.Field);
    }
}
