using System.Text.Json;
using Reelay.Providers;
using Reelay.Testing.Fakes;

namespace Reelay.Tests.Providers.Replicate;

public sealed class ReplicateProviderTests : UpstreamProviderContract<FakeReplicateServer>
{
    protected override string ProviderName => ProviderNames.Replicate;

    // completed_at (ISO 8601) of the fake's ended prediction.
    protected override DateTimeOffset? ReportedFinishedAt => DateTimeOffset.Parse(FakeReplicateServer.CompletedAt, System.Globalization.CultureInfo.InvariantCulture);

    protected override Task<FakeReplicateServer> StartFakeAsync(CancellationToken cancellationToken) => FakeReplicateServer.StartNewAsync(cancellationToken);

    protected override VideoJobRequest NewRequest(params ReferenceImage[] images) => new()
    {
        TaskId = "replicate-kling:task-1",
        Model = "kwaivgi/kling-v2.1",
        Prompt = "A red fox running through snow",
        AspectRatio = "16:9",
        Size = "720P",
        Width = 1280,
        Height = 720,
        DurationSeconds = 5,
        Seed = 7,
        Images = images,
    };

    [Fact]
    public async Task Submit_OfficialModel_PostsToItsPredictionsWithCompletedWebhookOnly()
    {
        await SubmitAsync(NewRequest(Image(1)) with
        {
            CallbackUrl = new Uri("https://reelay.example.com/callbacks/replicate/tok"),
            Options = new Dictionary<string, string> { ["image_field"] = "start_image" },
        });

        var sent = Fake.LastSubmit!;
        Assert.Equal("/v1/models/kwaivgi/kling-v2.1/predictions", sent.Path);
        using var body = JsonDocument.Parse(sent.Body);
        var root = body.RootElement;
        Assert.False(root.TryGetProperty("version", out _));
        Assert.Equal(5, root.GetProperty("input").GetProperty("duration").GetInt32());
        Assert.Equal(7, root.GetProperty("input").GetProperty("seed").GetInt64());
        Assert.Equal(Image(1).ToDataUri(), root.GetProperty("input").GetProperty("start_image").GetString());
        Assert.Equal("https://reelay.example.com/callbacks/replicate/tok", root.GetProperty("webhook").GetString());
        Assert.Equal(["completed"], root.GetProperty("webhook_events_filter").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Submit_Version_PostsToPredictionsWithTheVersion()
    {
        await SubmitAsync(NewRequest() with { Model = "someone/video-model:5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa" });

        Assert.Equal("/v1/predictions", Fake.LastSubmit!.Path);
        using var body = JsonDocument.Parse(Fake.LastSubmit.Body);
        Assert.Equal("5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa", body.RootElement.GetProperty("version").GetString());
    }

    [Fact]
    public async Task Cancel_Prediction_PostsCancelAndPollSaysCancelled()
    {
        Fake.Scenario = FakeScenario.Slow;
        var job = await SubmitAsync();

        await Provider.CancelAsync(job, Channel, Cancel);
        var result = await Provider.PollAsync(job, Channel, Cancel);

        Assert.Equal($"/v1/predictions/{job.UpstreamId}/cancel", Fake.Requests.Single(r => r.Kind == FakeRequestKind.Cancel).Path);
        Assert.Equal("cancelled", result.Error?.Code);
    }

    [Fact]
    public async Task ReadCallback_SignedByTheAccountSecret_IsWorthAPoll()
    {
        var job = await SubmitAsync();
        var (headers, body) = Fake.CallbackFor(Fake.FindJob(job.UpstreamId)!, DateTimeOffset.UtcNow);

        var verdict = await Provider.ReadCallbackAsync(new UpstreamCallback(headers, body, DateTimeOffset.UtcNow), Channel, Cancel);
        var again = await Provider.ReadCallbackAsync(new UpstreamCallback(headers, body, DateTimeOffset.UtcNow), Channel, Cancel);

        Assert.Equal(CallbackVerdict.PollNow, verdict);
        Assert.Equal(CallbackVerdict.PollNow, again);
        // The secret is read once per account, not per callback.
        Assert.Single(Fake.Requests, r => r.Path == "/v1/webhooks/default/secret");
    }

    [Fact]
    public async Task ReadCallback_AlteredBodyOrStaleTimestamp_IsForged()
    {
        var job = await SubmitAsync();
        var (headers, body) = Fake.CallbackFor(Fake.FindJob(job.UpstreamId)!, DateTimeOffset.UtcNow);
        var altered = body.ToArray();
        altered[^2] ^= 1;
        var (oldHeaders, oldBody) = Fake.CallbackFor(Fake.FindJob(job.UpstreamId)!, DateTimeOffset.UtcNow.AddMinutes(-6));

        Assert.Equal(CallbackVerdict.Forged, await Provider.ReadCallbackAsync(new UpstreamCallback(headers, altered, DateTimeOffset.UtcNow), Channel, Cancel));
        Assert.Equal(CallbackVerdict.Forged, await Provider.ReadCallbackAsync(new UpstreamCallback(oldHeaders, oldBody, DateTimeOffset.UtcNow), Channel, Cancel));
        Assert.Equal(CallbackVerdict.Forged, await Provider.ReadCallbackAsync(new UpstreamCallback(new Dictionary<string, string>(), body, DateTimeOffset.UtcNow), Channel, Cancel));
    }
}
