using System.Text.Json;
using Reelay.Providers;
using Reelay.Testing.Fakes;

namespace Reelay.Tests.Providers.Fal;

public sealed class FalProviderTests : UpstreamProviderContract<FakeFalServer>
{
    protected override string ProviderName => ProviderNames.Fal;

    protected override Task<FakeFalServer> StartFakeAsync(CancellationToken cancellationToken) => FakeFalServer.StartNewAsync(cancellationToken);

    protected override VideoJobRequest NewRequest(params ReferenceImage[] images) => new()
    {
        TaskId = "fal-kling:task-1",
        Model = "fal-ai/kling-video/v2.1/master/text-to-video",
        Prompt = "A red fox running through snow",
        AspectRatio = "16:9",
        Size = "720P",
        Width = 1280,
        Height = 720,
        DurationSeconds = 5,
        Images = images,
    };

    [Fact]
    public async Task Submit_ModelPath_SendsTheInputItselfWithKeyAuthAndWebhook()
    {
        var job = await SubmitAsync(NewRequest(Image(1), Image(2)) with
        {
            CallbackUrl = new Uri("https://reelay.example.com/callbacks/fal/tok"),
            Options = new Dictionary<string, string> { ["end_image_field"] = "tail_image_url" },
        });

        var sent = Fake.LastSubmit!;
        Assert.Equal("/fal-ai/kling-video/v2.1/master/text-to-video", sent.Path);
        Assert.Equal("?fal_webhook=" + Uri.EscapeDataString("https://reelay.example.com/callbacks/fal/tok"), sent.Query);
        Assert.Equal($"Key {ApiKey}", sent.Header("Authorization"));
        using var body = JsonDocument.Parse(sent.Body);
        var root = body.RootElement;
        Assert.Equal("A red fox running through snow", root.GetProperty("prompt").GetString());
        Assert.Equal("5", root.GetProperty("duration").GetString());
        Assert.Equal(Image(1).ToDataUri(), root.GetProperty("image_url").GetString());
        Assert.Equal(Image(2).ToDataUri(), root.GetProperty("tail_image_url").GetString());
        // Status and result live under owner/app only, as fal's response_url says.
        Assert.StartsWith("fal-ai/kling-video/requests/", job.UpstreamId, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Poll_Completed_ReadsTheResultForTheVideoUrl()
    {
        Fake.Scenario = FakeScenario.Slow;
        var job = await SubmitAsync();

        var results = await PollUntilDoneAsync(job);

        Assert.Equal(UpstreamState.Queued, results[0].State);
        Assert.Equal(UpstreamState.Running, results[1].State);
        Assert.EndsWith(".mp4", results[^1].ResultLocation, StringComparison.Ordinal);
        Assert.Equal($"/{job.UpstreamId}", Fake.Requests.Last(r => r.Kind == FakeRequestKind.Other).Path);
    }

    [Fact]
    public async Task Cancel_Request_PutsToCancel()
    {
        Fake.Scenario = FakeScenario.Slow;
        var job = await SubmitAsync();

        await Provider.CancelAsync(job, Channel, Cancel);

        var cancel = Fake.Requests.Single(r => r.Kind == FakeRequestKind.Cancel);
        Assert.Equal("PUT", cancel.Method);
        Assert.Equal($"/{job.UpstreamId}/cancel", cancel.Path);
    }

    [Fact]
    public async Task ReadCallback_SignedByAKeyOfTheSet_IsWorthAPoll()
    {
        var job = await SubmitAsync();
        var fakeJob = Fake.Jobs.Single();
        var (headers, body) = Fake.CallbackFor(fakeJob, DateTimeOffset.UtcNow);

        var verdict = await Provider.ReadCallbackAsync(new UpstreamCallback(new Dictionary<string, string>(headers, StringComparer.OrdinalIgnoreCase), body, DateTimeOffset.UtcNow), Channel, Cancel);
        await Provider.ReadCallbackAsync(new UpstreamCallback(new Dictionary<string, string>(headers, StringComparer.OrdinalIgnoreCase), body, DateTimeOffset.UtcNow), Channel, Cancel);

        Assert.Equal(CallbackVerdict.PollNow, verdict);
        Assert.Equal(1, Fake.KeySetFetches);
        Assert.NotNull(job);
    }

    [Fact]
    public async Task ReadCallback_AlteredBodyOrOldTimestamp_IsForged()
    {
        await SubmitAsync();
        var fakeJob = Fake.Jobs.Single();
        var (headers, body) = Fake.CallbackFor(fakeJob, DateTimeOffset.UtcNow);
        var altered = body.ToArray();
        altered[5] ^= 1;
        var (oldHeaders, oldBody) = Fake.CallbackFor(fakeJob, DateTimeOffset.UtcNow.AddMinutes(-6));
        var ci = StringComparer.OrdinalIgnoreCase;

        Assert.Equal(CallbackVerdict.Forged, await Provider.ReadCallbackAsync(new UpstreamCallback(new Dictionary<string, string>(headers, ci), altered, DateTimeOffset.UtcNow), Channel, Cancel));
        Assert.Equal(CallbackVerdict.Forged, await Provider.ReadCallbackAsync(new UpstreamCallback(new Dictionary<string, string>(oldHeaders, ci), oldBody, DateTimeOffset.UtcNow), Channel, Cancel));
    }
}
