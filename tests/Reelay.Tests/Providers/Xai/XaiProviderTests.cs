using System.Text.Json;
using Reelay.Providers;
using Reelay.Testing.Fakes;

namespace Reelay.Tests.Providers.Xai;

public sealed class XaiProviderTests : UpstreamProviderContract<FakeXaiServer>
{
    protected override string ProviderName => ProviderNames.Xai;

    protected override Task<FakeXaiServer> StartFakeAsync(CancellationToken cancellationToken) => FakeXaiServer.StartNewAsync(cancellationToken);

    protected override VideoJobRequest NewRequest(params ReferenceImage[] images) => new()
    {
        TaskId = "grok:task-1",
        Model = "grok-imagine-video",
        Prompt = "A red fox running through snow",
        AspectRatio = "16:9",
        Size = "720P",
        Width = 1280,
        Height = 720,
        DurationSeconds = 6,
        Images = images,
        Options = new Dictionary<string, string> { ["mode"] = "custom" },
    };

    [Fact]
    public async Task Submit_TextToVideo_SendsDocumentedBodyWithBearer()
    {
        await SubmitAsync();

        var sent = Fake.LastSubmit!;
        Assert.Equal("/v1/videos/generations", sent.Path);
        Assert.Equal($"Bearer {ApiKey}", sent.Header("Authorization"));
        Assert.StartsWith("application/json", sent.Header("Content-Type"));
        using var body = JsonDocument.Parse(sent.Body);
        var root = body.RootElement;
        Assert.Equal("grok-imagine-video", root.GetProperty("model").GetString());
        Assert.Equal("A red fox running through snow", root.GetProperty("prompt").GetString());
        Assert.Equal(6, root.GetProperty("duration").GetInt32());
        Assert.Equal("16:9", root.GetProperty("aspect_ratio").GetString());
        Assert.Equal("720p", root.GetProperty("resolution").GetString());
        Assert.False(root.TryGetProperty("image", out _));
        Assert.False(root.TryGetProperty("reference_images", out _));
        Assert.DoesNotContain("--mode", sent.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_OneImage_SendsImageAsDataUri()
    {
        var image = Image();

        await SubmitAsync(NewRequest(image));

        using var body = JsonDocument.Parse(Fake.LastSubmit!.Body);
        Assert.Equal(image.ToDataUri(), body.RootElement.GetProperty("image").GetProperty("url").GetString());
        Assert.False(body.RootElement.TryGetProperty("reference_images", out _));
    }

    [Fact]
    public async Task Submit_SeveralImages_SendsReferenceImagesOnly()
    {
        await SubmitAsync(NewRequest(Image(1), Image(2), Image(3)));

        using var body = JsonDocument.Parse(Fake.LastSubmit!.Body);
        var references = body.RootElement.GetProperty("reference_images");
        Assert.Equal(3, references.GetArrayLength());
        Assert.Equal(Image(2).ToDataUri(), references[1].GetProperty("url").GetString());
        Assert.False(body.RootElement.TryGetProperty("image", out _));
    }

    [Fact]
    public async Task Poll_EmptyAccepted_ReportsRunning()
    {
        Fake.Scenario = FakeScenario.Slow;
        var job = await SubmitAsync();

        var first = await Provider.PollAsync(job, Channel, Cancel);

        Assert.Equal(UpstreamState.Running, first.State);
        Assert.Null(first.Progress);
        Assert.Equal($"Bearer {ApiKey}", Fake.LastPoll!.Header("Authorization"));
    }

    [Fact]
    public async Task OpenResult_StorageHost_DoesNotSendTheKeyElsewhere()
    {
        var job = await SubmitAsync();
        var done = (await PollUntilDoneAsync(job))[^1];
        // Point the same URL at a different origin spelling (localhost vs 127.0.0.1): the key must not go along.
        var elsewhere = done.ResultLocation!.Replace("127.0.0.1", "localhost", StringComparison.Ordinal);

        await using var content = await Provider.OpenResultAsync(job, elsewhere, Channel, Cancel);

        Assert.Null(Fake.LastDownload!.Header("Authorization"));
    }
}
