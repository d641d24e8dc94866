using Reelay.Providers;
using Reelay.Providers.Sora;
using Reelay.Testing.Fakes;

namespace Reelay.Tests.Providers.Sora;

public sealed class SoraProviderTests : UpstreamProviderContract<FakeSoraServer>
{
    protected override string ProviderName => ProviderNames.Sora;

    // completed_at (Unix seconds) of the fake's finished Video object.
    protected override DateTimeOffset? ReportedFinishedAt => DateTimeOffset.FromUnixTimeSeconds(1758941600);

    protected override Task<FakeSoraServer> StartFakeAsync(CancellationToken cancellationToken) => FakeSoraServer.StartNewAsync(cancellationToken);

    protected override VideoJobRequest NewRequest(params ReferenceImage[] images) => new()
    {
        TaskId = "sora-2:task-1",
        Model = "sora-2",
        Prompt = "A paper boat drifting down a rainy street",
        AspectRatio = "16:9",
        Size = "720P",
        Width = 1280,
        Height = 720,
        DurationSeconds = 8,
        Images = images,
    };

    [Fact]
    public async Task Submit_WithImage_SendsMultipartFieldsAndFilePart()
    {
        var image = Image(7);

        await SubmitAsync(NewRequest(image));

        var sent = Fake.LastSubmit!;
        Assert.Equal("/v1/videos", sent.Path);
        Assert.Equal($"Bearer {ApiKey}", sent.Header("Authorization"));
        Assert.StartsWith("multipart/form-data", sent.Header("Content-Type"));
        Assert.Equal("A paper boat drifting down a rainy street", sent.Form["prompt"]);
        Assert.Equal("sora-2", sent.Form["model"]);
        Assert.Equal("8", sent.Form["seconds"]);
        Assert.Equal("1280x720", sent.Form["size"]);
        var file = Assert.Single(sent.Files);
        Assert.Equal("input_reference", file.Name);
        Assert.Equal("image/png", file.ContentType);
        Assert.Equal(image.Content.ToArray(), file.Content);
    }

    [Theory]
    [InlineData("sora-2", "16:9", "720P", 1280, 720, 8, null)]
    [InlineData("sora-2", "9:16", "720P", 720, 1280, 12, null)]
    [InlineData("sora-2-pro", "16:9", "1080P", 1920, 1080, 4, null)]
    [InlineData("sora-2-pro", "9:16", "1024x1792", 1024, 1792, 4, null)]
    [InlineData("sora-2", "16:9", "720P", 1280, 720, 10, RenderField.Duration)]
    [InlineData("sora-2", "16:9", "720P", 1280, 720, 15, RenderField.Duration)]
    [InlineData("sora-2-pro", "16:9", "1080P", 1920, 1080, 25, RenderField.Duration)]
    [InlineData("sora-2", "16:9", "1080P", 1920, 1080, 4, RenderField.Size)]
    [InlineData("sora-2", "16:9", "480P", 854, 480, 4, RenderField.Size)]
    [InlineData("sora-2", "1:1", "720P", 720, 720, 4, RenderField.AspectRatio)]
    public void CheckRender_Request_PassesOverWhatTheApiWouldBillOrShapeDifferently(string model, string ratio, string size, int width, int height, int seconds, RenderField? refused)
    {
        var problem = Provider.CheckRender(new RenderSpec(model, ratio, size, width, height, seconds));

        Assert.Equal(refused, problem?.Field);
    }

    [Theory]
    [InlineData("sora-2", 1280, 720, "1280x720")]
    [InlineData("sora-2", 720, 1280, "720x1280")]
    [InlineData("sora-2", 1920, 1080, "1280x720")]
    [InlineData("sora-2-pro", 1920, 1080, "1792x1024")]
    [InlineData("sora-2-pro", 1080, 1920, "1024x1792")]
    [InlineData("sora-2-pro", 720, 1280, "720x1280")]
    [InlineData("sora-2", 720, 720, "720x1280")]
    public void ToSize_RequestedShape_PicksNearestAllowedSize(string model, int width, int height, string expected)
    {
        Assert.Equal(expected, SoraProvider.ToSize(model, width, height));
    }

    [Fact]
    public async Task Poll_Completed_PointsAtContentEndpoint()
    {
        var job = await SubmitAsync();

        var done = (await PollUntilDoneAsync(job))[^1];
        await using var content = await Provider.OpenResultAsync(job, done.ResultLocation!, Channel, Cancel);

        Assert.Equal(new Uri(Fake.BaseUrl, $"/v1/videos/{job.UpstreamId}/content").ToString(), done.ResultLocation);
        Assert.Equal("?variant=video", Fake.LastDownload!.Query);
        Assert.Equal($"Bearer {ApiKey}", Fake.LastDownload.Header("Authorization"));
    }

    [Fact]
    public async Task Poll_FirstLook_ReportsQueued()
    {
        Fake.Scenario = FakeScenario.Slow;
        var job = await SubmitAsync();

        var first = await Provider.PollAsync(job, Channel, Cancel);

        Assert.Equal(UpstreamState.Queued, first.State);
    }

    [Fact]
    public async Task Remix_CompletedVideo_StartsNewJob()
    {
        var job = await SubmitAsync();
        var sora = Assert.IsType<SoraProvider>(Provider);

        var remix = await sora.RemixAsync(job.UpstreamId, "Make it snow", Channel, Cancel);

        Assert.NotEqual(job.UpstreamId, remix.UpstreamId);
        Assert.Equal($"/v1/videos/{job.UpstreamId}/remix", Fake.LastSubmit!.Path);
        Assert.Contains("\"prompt\":\"Make it snow\"", Fake.LastSubmit.Body, StringComparison.Ordinal);
        Assert.True(Provider.Capabilities.SupportsRemix);
    }
}
