using System.Net;
using System.Text.Json;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Unified;

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
    }
}
