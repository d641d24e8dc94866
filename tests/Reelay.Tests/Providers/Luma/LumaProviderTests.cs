using System.Text.Json;
using Reelay.Providers;
using Reelay.Testing.Fakes;

namespace Reelay.Tests.Providers.Luma;

public sealed class LumaProviderTests : UpstreamProviderContract<FakeLumaServer>
{
    protected override string ProviderName => ProviderNames.Luma;

    protected override Task<FakeLumaServer> StartFakeAsync(CancellationToken cancellationToken) => FakeLumaServer.StartNewAsync(cancellationToken);

    protected override VideoJobRequest NewRequest(params ReferenceImage[] images) => new()
    {
        TaskId = "ray-2:task-1",
        Model = "ray-2",
        Prompt = "A red fox running through snow",
        AspectRatio = "21:9",
        Size = "1080P",
        Width = 2520,
        Height = 1080,
        DurationSeconds = 9,
        Images = images,
        Options = new Dictionary<string, string> { ["loop"] = "true" },
    };

    [Fact]
    public async Task Submit_Keyframes_SendsPublicUrlsAndStringDuration()
    {
        await SubmitAsync(NewRequest(Image(1, "https://img.example.com/a.png"), Image(2, "https://img.example.com/b.png"))
            with { CallbackUrl = new Uri("https://reelay.example.com/callbacks/luma/tok") });

        var sent = Fake.LastSubmit!;
        Assert.Equal("/dream-machine/v1/generations/video", sent.Path);
        using var body = JsonDocument.Parse(sent.Body);
        var root = body.RootElement;
        Assert.Equal("ray-2", root.GetProperty("model").GetString());
        Assert.Equal("21:9", root.GetProperty("aspect_ratio").GetString());
        Assert.Equal("1080p", root.GetProperty("resolution").GetString());
        Assert.Equal("9s", root.GetProperty("duration").GetString());
        Assert.True(root.GetProperty("loop").GetBoolean());
        Assert.Equal("https://img.example.com/a.png", root.GetProperty("keyframes").GetProperty("frame0").GetProperty("url").GetString());
        Assert.Equal("https://img.example.com/b.png", root.GetProperty("keyframes").GetProperty("frame1").GetProperty("url").GetString());
        Assert.Equal("https://reelay.example.com/callbacks/luma/tok", root.GetProperty("callback_url").GetString());
    }

    [Fact]
    public async Task Submit_InlineImage_IsRejectedBeforeSending()
    {
        var error = await Assert.ThrowsAsync<UpstreamException>(() => Provider.SubmitAsync(NewRequest(Image(1)), Channel, Cancel));

        Assert.Equal("invalid_argument", error.Code);
        Assert.Equal(0, Fake.Submissions);
    }

    [Fact]
    public async Task Cancel_Generation_DeletesIt()
    {
        Fake.Scenario = FakeScenario.Slow;
        var job = await SubmitAsync();

        await Provider.CancelAsync(job, Channel, Cancel);

        Assert.Equal("DELETE", Fake.Requests.Single(r => r.Kind == FakeRequestKind.Cancel).Method);
        Assert.Equal([job.UpstreamId], Fake.Cancelled);
    }
}
