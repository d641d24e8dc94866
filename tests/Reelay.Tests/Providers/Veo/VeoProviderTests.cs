using System.Text.Json;
using Reelay.Providers;
using Reelay.Testing.Fakes;

namespace Reelay.Tests.Providers.Veo;

public sealed class VeoProviderTests : UpstreamProviderContract<FakeVeoServer>
{
    protected override string ProviderName => ProviderNames.Veo;

    protected override Task<FakeVeoServer> StartFakeAsync(CancellationToken cancellationToken) => FakeVeoServer.StartNewAsync(cancellationToken);

    protected override VideoJobRequest NewRequest(params ReferenceImage[] images) => new()
    {
        TaskId = "veo3.1:task-1",
        Model = "veo-3.1-generate-preview",
        Prompt = "Waves breaking on a rocky shore",
        NegativePrompt = "cartoon, low quality",
        AspectRatio = "16:9",
        Size = "1080P",
        Width = 1920,
        Height = 1080,
        DurationSeconds = 8,
        Seed = 42,
        Images = images,
    };

    [Fact]
    public async Task Submit_TextToVideo_SendsDocumentedBodyWithKeyHeader()
    {
        await SubmitAsync();

        var sent = Fake.LastSubmit!;
        Assert.Equal("/v1beta/models/veo-3.1-generate-preview:predictLongRunning", sent.Path);
        Assert.Equal(ApiKey, sent.Header("x-goog-api-key"));
        Assert.Null(sent.Header("Authorization"));
        Assert.DoesNotContain(ApiKey, sent.Query, StringComparison.Ordinal);
        using var body = JsonDocument.Parse(sent.Body);
        var instance = Assert.Single(body.RootElement.GetProperty("instances").EnumerateArray());
        Assert.Equal("Waves breaking on a rocky shore", instance.GetProperty("prompt").GetString());
        Assert.False(instance.TryGetProperty("image", out _));
        var parameters = body.RootElement.GetProperty("parameters");
        Assert.Equal("16:9", parameters.GetProperty("aspectRatio").GetString());
        Assert.Equal("1080p", parameters.GetProperty("resolution").GetString());
        Assert.Equal(JsonValueKind.Number, parameters.GetProperty("durationSeconds").ValueKind);
        Assert.Equal(8, parameters.GetProperty("durationSeconds").GetInt32());
        Assert.Equal("cartoon, low quality", parameters.GetProperty("negativePrompt").GetString());
        Assert.Equal("allow_all", parameters.GetProperty("personGeneration").GetString());
        Assert.False(parameters.TryGetProperty("seed", out _));
    }

    [Fact]
    public async Task Submit_TwoImagesByDefault_SendsFirstAndLastFrame()
    {
        var first = Image(1);
        var last = Image(2);

        await SubmitAsync(NewRequest(first, last));

        using var body = JsonDocument.Parse(Fake.LastSubmit!.Body);
        var instance = body.RootElement.GetProperty("instances")[0];
        Assert.Equal(Convert.ToBase64String(first.Content.Span), instance.GetProperty("image").GetProperty("bytesBase64Encoded").GetString());
        Assert.Equal("image/png", instance.GetProperty("image").GetProperty("mimeType").GetString());
        Assert.Equal(Convert.ToBase64String(last.Content.Span), instance.GetProperty("lastFrame").GetProperty("bytesBase64Encoded").GetString());
        Assert.False(instance.GetProperty("image").TryGetProperty("inlineData", out _));
        Assert.False(instance.TryGetProperty("referenceImages", out _));
        Assert.Equal("allow_adult", body.RootElement.GetProperty("parameters").GetProperty("personGeneration").GetString());
    }

    [Fact]
    public async Task Submit_ComponentsMode_SendsAssetReferenceImages()
    {
        var request = NewRequest(Image(1), Image(2), Image(3)) with
        {
            Options = new Dictionary<string, string> { ["image_mode"] = "components" },
        };

        await SubmitAsync(request);

        using var body = JsonDocument.Parse(Fake.LastSubmit!.Body);
        var instance = body.RootElement.GetProperty("instances")[0];
        var references = instance.GetProperty("referenceImages");
        Assert.Equal(3, references.GetArrayLength());
        Assert.All(references.EnumerateArray(), r => Assert.Equal("ASSET", r.GetProperty("referenceType").GetString()));
        Assert.False(instance.TryGetProperty("image", out _));
        Assert.False(instance.TryGetProperty("lastFrame", out _));
    }

    [Fact]
    public async Task Poll_Operation_UsesOperationNamePathAndKey()
    {
        var job = await SubmitAsync();

        await Provider.PollAsync(job, Channel, Cancel);

        Assert.StartsWith("models/veo-3.1-generate-preview/operations/", job.UpstreamId, StringComparison.Ordinal);
        Assert.Equal("/v1beta/" + job.UpstreamId, Fake.LastPoll!.Path);
        Assert.Equal(ApiKey, Fake.LastPoll.Header("x-goog-api-key"));
    }

    [Fact]
    public async Task OpenResult_FileUri_SendsKeyAndFollowsRedirect()
    {
        var job = await SubmitAsync();
        var done = (await PollUntilDoneAsync(job))[^1];

        await using var content = await Provider.OpenResultAsync(job, done.ResultLocation!, Channel, Cancel);

        Assert.Equal(ApiKey, Fake.LastDownload!.Header("x-goog-api-key"));
        Assert.Equal("alt=media", Fake.LastDownload.Query.TrimStart('?'));
        Assert.Contains(Fake.Requests, r => r.Path.StartsWith("/storage/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Poll_SafetyFiltered_ReportsTheReasons()
    {
        Fake.Scenario = FakeScenario.RefuseAtPoll;
        var job = await SubmitAsync();

        var result = await Provider.PollAsync(job, Channel, Cancel);

        Assert.Equal("content_policy", result.Error?.Code);
        Assert.Contains("rephrasing", result.Error?.Message, StringComparison.Ordinal);
    }
}
