using System.ClientModel;
using System.Text.Json;
using OpenAI.Videos;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Api.OpenAi;

/// <summary>The OpenAI NuGet package's <see cref="VideoClient"/> (protocol methods: JSON in, raw responses out) against a real Reelay.</summary>
public class OpenAiDotnetSdkTests
{
    [Fact]
    public async Task VideoClient_CreateGetListDownloadDelete_WorksAgainstReelay()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        var key = await app.CreateKeyAsync("test", cancellationToken: ct);
        using var http = app.ClientFor(key);
        var client = new VideoClient(new ApiKeyCredential(key), new VideoClientOptions { Endpoint = new Uri(app.BaseAddress, "/v1") });

        // An older task from the unified surface, so that listing spans two pages of one.
        var unifiedId = await http.CreateAsync(new { model = "reelay-preview", prompt = "older", aspect_ratio = "16:9", size = "720P", duration = 1 }, ct);

        var created = await client.CreateVideoAsync(
            BinaryContent.Create(BinaryData.FromObjectAsJson(new { model = "sora-2", prompt = "a kite over dunes", seconds = "4", size = "1280x720" })),
            "application/json",
            new System.ClientModel.Primitives.RequestOptions { CancellationToken = ct });
        using var video = JsonDocument.Parse(created.GetRawResponse().Content);
        var id = video.RootElement.GetProperty("id").GetString()!;
        Assert.Equal("video", video.RootElement.GetProperty("object").GetString());
        Assert.Equal("1280x720", video.RootElement.GetProperty("size").GetString());

        string status;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        do
        {
            Assert.True(DateTime.UtcNow < deadline, $"video {id} did not finish");
            await Task.Delay(200, ct);
            using var read = JsonDocument.Parse((await client.GetVideoAsync(id)).GetRawResponse().Content);
            Assert.Equal(id, read.RootElement.GetProperty("id").GetString());
            status = read.RootElement.GetProperty("status").GetString()!;
        }
        while (status is "queued" or "in_progress");
        Assert.Equal("completed", status);

        // OpenAI 2.15.0's GetVideosAsync yields the first page only (its collection has no continuation),
        // so the cursor is followed by hand: after = last_id while has_more.
        var pages = 0;
        var listed = new List<string>();
        string? after = null;
        bool hasMore;
        do
        {
            var page = await client.GetVideosAsync(limit: 1, order: "desc", after: after).GetRawPagesAsync().SingleAsync(ct);
            pages++;
            using var body = JsonDocument.Parse(page.GetRawResponse().Content);
            listed.AddRange(body.RootElement.GetProperty("data").EnumerateArray().Select(v => v.GetProperty("id").GetString()!));
            after = body.RootElement.GetProperty("last_id").GetString();
            hasMore = body.RootElement.GetProperty("has_more").GetBoolean();
        }
        while (hasMore && pages < 10);

        Assert.Equal([id, unifiedId], listed);
        Assert.Equal(2, pages);

        var download = await client.DownloadVideoAsync(id, "video");
        Assert.Equal("video/mp4", download.GetRawResponse().Headers.TryGetValue("Content-Type", out var type) ? type : null);
        Assert.Equal(await http.StoredVideoBytesAsync(app, id, ct), download.GetRawResponse().Content.ToArray());

        using var deleted = JsonDocument.Parse((await client.DeleteVideoAsync(id)).GetRawResponse().Content);
        Assert.Equal(id, deleted.RootElement.GetProperty("id").GetString());
        Assert.Equal("video.deleted", deleted.RootElement.GetProperty("object").GetString());
        Assert.True(deleted.RootElement.GetProperty("deleted").GetBoolean());

        var missing = await Assert.ThrowsAsync<ClientResultException>(() => client.GetVideoAsync(id));
        Assert.Equal(404, missing.Status);
    }
}
