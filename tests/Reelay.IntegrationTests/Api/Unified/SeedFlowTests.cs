using System.Net;
using System.Text.Json;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Api.Unified;

public class SeedFlowTests
{
    [Fact]
    public async Task Create_SeedExampleWithTextOnly_CompletesWithPlayableVideo()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        var id = await client.CreateAsync(new
        {
            model = "grok-video-3",
            prompt = "小猫在吃鱼 --mode=custom",
            aspect_ratio = "3:2",
            size = "720P",
            images = Array.Empty<string>(),
            duration = 2,
        }, ct);

        Assert.StartsWith("grok:", id, StringComparison.Ordinal);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(90), ct);
        Assert.Equal("completed", task.GetProperty("status").GetString());
        Assert.Equal("小猫在吃鱼", task.GetProperty("prompt").GetString());
        Assert.Equal(1080, task.GetProperty("width").GetInt32());
        Assert.Equal(720, task.GetProperty("height").GetInt32());
        Assert.Equal(100, task.GetProperty("progress").GetInt32());

        using var anonymous = app.CreateClient();
        using var video = await anonymous.GetAsync(task.GetProperty("video_url").GetString(), ct);
        Assert.Equal(HttpStatusCode.OK, video.StatusCode);
        Assert.Equal("video/mp4", video.Content.Headers.ContentType?.MediaType);

        // Once stored, the render's scratch files go: the data directory holds one copy of each video.
        var work = Path.Combine(app.DataDir, "work");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Directory.EnumerateFiles(work, "*", SearchOption.AllDirectories).Any())
        {
            Assert.True(DateTime.UtcNow < deadline, "files are left in " + work);
            await Task.Delay(50, ct);
        }
    }

    [Fact]
    public async Task Create_SeedExampleWithUnreachableImage_FailsQuicklyWithDownloadError()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["ALLOW_PRIVATE_NETWORKS"] = "" });
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        // The seed's image host, under the .invalid TLD (RFC 6761): it can never resolve, here or anywhere.
        var started = DateTime.UtcNow;
        var id = await client.CreateAsync(new
        {
            model = "grok-video-3",
            prompt = "小猫在吃鱼 --mode=custom",
            aspect_ratio = "3:2",
            size = "720P",
            images = new[] { "https://ark-project.tos-cn-beijing.invalid/doc_image/seedream4_5_imageToimage.png" },
        }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(30), ct);

        Assert.Equal("failed", task.GetProperty("status").GetString());
        var error = task.GetProperty("error");
        Assert.Equal("image_download_failed", error.GetProperty("code").GetString());
        Assert.Contains("images[0] could not be downloaded", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(25), "the failure took too long");
        Assert.Equal(JsonValueKind.Null, task.GetProperty("video_url").ValueKind);
    }
}
