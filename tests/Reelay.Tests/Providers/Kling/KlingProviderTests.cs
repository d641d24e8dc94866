using System.Text.Json;
using Reelay.Providers;
using Reelay.Testing.Fakes;

namespace Reelay.Tests.Providers.Kling;

public sealed class KlingProviderTests : UpstreamProviderContract<FakeKlingServer>
{
    protected override string ProviderName => ProviderNames.Kling;

    // updated_at (Unix ms) of the fake's finished task.
    protected override DateTimeOffset? ReportedFinishedAt => DateTimeOffset.FromUnixTimeMilliseconds(1722769600000);

    protected override Task<FakeKlingServer> StartFakeAsync(CancellationToken cancellationToken) => FakeKlingServer.StartNewAsync(cancellationToken);

    protected override VideoJobRequest NewRequest(params ReferenceImage[] images) => new()
    {
        TaskId = "kling-v2.1:task-1",
        Model = "kling-v2-1",
        Prompt = "A red fox running through snow",
        NegativePrompt = "blurry",
        AspectRatio = "16:9",
        Size = "1080P",
        Width = 1920,
        Height = 1080,
        DurationSeconds = 10,
        Images = images,
    };

    [Fact]
    public async Task Submit_TextToVideo_SendsDocumentedBody()
    {
        await SubmitAsync(NewRequest() with { CallbackUrl = new Uri("https://reelay.example.com/callbacks/kling/tok") });

        var sent = Fake.LastSubmit!;
        Assert.Equal("/v1/videos/text2video", sent.Path);
        using var body = JsonDocument.Parse(sent.Body);
        var root = body.RootElement;
        Assert.Equal("kling-v2-1", root.GetProperty("model_name").GetString());
        Assert.Equal("blurry", root.GetProperty("negative_prompt").GetString());
        // 1080P is mode pro; duration is a string; cfg_scale is not for v2.x and never sent.
        Assert.Equal("pro", root.GetProperty("mode").GetString());
        Assert.Equal("10", root.GetProperty("duration").GetString());
        Assert.Equal("16:9", root.GetProperty("aspect_ratio").GetString());
        Assert.Equal("kling-v2.1:task-1", root.GetProperty("external_task_id").GetString());
        Assert.Equal("https://reelay.example.com/callbacks/kling/tok", root.GetProperty("callback_url").GetString());
        Assert.False(root.TryGetProperty("cfg_scale", out _));
        Assert.False(root.TryGetProperty("model", out _));
    }

    [Fact]
    public async Task Submit_TwoImages_GoesToImage2VideoWithRawBase64AndPollsThere()
    {
        var job = await SubmitAsync(NewRequest(Image(1), Image(2)));
        var done = (await PollUntilDoneAsync(job))[^1];

        var sent = Fake.LastSubmit!;
        Assert.Equal("/v1/videos/image2video", sent.Path);
        using var body = JsonDocument.Parse(sent.Body);
        Assert.Equal(Convert.ToBase64String(Image(1).Content.Span), body.RootElement.GetProperty("image").GetString());
        Assert.Equal(Convert.ToBase64String(Image(2).Content.Span), body.RootElement.GetProperty("image_tail").GetString());
        Assert.False(body.RootElement.TryGetProperty("aspect_ratio", out _));
        Assert.StartsWith("/v1/videos/image2video/", Fake.LastPoll!.Path, StringComparison.Ordinal);
        Assert.Equal(UpstreamState.Succeeded, done.State);
    }

    [Fact]
    public async Task Submit_AccessKeyPair_SignsAJwtTheUpstreamAccepts()
    {
        Fake.AccessKey = "ak-1234";
        Fake.SecretKey = "sk-secret-5678";
        var channel = Channel with { ApiKey = "ak-1234:sk-secret-5678" };

        var submitted = await Provider.SubmitAsync(NewRequest(), channel, Cancel);
        await Provider.PollAsync(new UpstreamJob(submitted.UpstreamId, "t", "kling-v2-1"), channel, Cancel);

        var token = Fake.LastSubmit!.Header("Authorization")!["Bearer ".Length..];
        Assert.Equal(3, token.Split('.').Length);
        Assert.DoesNotContain("sk-secret-5678", token, StringComparison.Ordinal);
        // The token is reused until shortly before it expires, not signed per call.
        Assert.Equal(Fake.LastSubmit.Header("Authorization"), Fake.LastPoll!.Header("Authorization"));
    }

    [Fact]
    public async Task Submit_WrongSecretKey_ThrowsUnauthorized()
    {
        Fake.AccessKey = "ak-1234";
        Fake.SecretKey = "sk-secret-5678";

        var error = await Assert.ThrowsAsync<UpstreamException>(() => Provider.SubmitAsync(NewRequest(), Channel with { ApiKey = "ak-1234:wrong" }, Cancel));

        Assert.Equal(UpstreamFailureStage.Unauthorized, error.Stage);
        Assert.Equal("upstream_auth", error.Code);
    }

    [Theory]
    [InlineData("16:9", "720P", 5, null)]
    [InlineData("1:1", "1080P", 10, null)]
    [InlineData("4:3", "720P", 5, RenderField.AspectRatio)]
    [InlineData("16:9", "480P", 5, RenderField.Size)]
    [InlineData("16:9", "720P", 8, RenderField.Duration)]
    public void CheckRender_Values_PassesOverWhatKlingCannotRender(string ratio, string size, int seconds, RenderField? problem)
    {
        Assert.Equal(problem, Provider.CheckRender(new RenderSpec("kling-v2-1", ratio, size, 1280, 720, seconds))?.Field);
    }
}
