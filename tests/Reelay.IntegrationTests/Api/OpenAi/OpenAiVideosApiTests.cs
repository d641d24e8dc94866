using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Api.OpenAi;

/// <summary>The OpenAI Videos surface over plain HTTP: the object, cross-surface reads, paging, files and errors.</summary>
public class OpenAiVideosApiTests
{
    private static readonly string[] VideoKeys =
    [
        "completed_at", "created_at", "error", "expires_at", "id", "model", "object", "progress", "prompt", "remixed_from_video_id", "seconds", "size", "status",
        "thumbnail_url", "video_url",
    ];

    [Fact]
    public async Task Create_JsonWithOnlyPrompt_AnswersVideoWithOpenAiDefaultsAndAllKeys()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        using var response = await client.PostAsJsonAsync("/v1/videos", new { prompt = "waves at night" }, ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("req_", response.Headers.GetValues("x-request-id").Single(), StringComparison.Ordinal);
        // Sent whole, with its length up front.
        Assert.NotEqual(true, response.Headers.TransferEncodingChunked);
        var bytes = await response.Content.ReadAsByteArrayAsync(ct);
        Assert.Equal(bytes.Length, response.Content.Headers.ContentLength);
        var video = JsonDocument.Parse(bytes).RootElement;

        Assert.Equal(VideoKeys, video.EnumerateObject().Select(p => p.Name).Order());
        Assert.StartsWith("sora-2:", video.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("video", video.GetProperty("object").GetString());
        Assert.Equal("sora-2", video.GetProperty("model").GetString());
        Assert.Equal("queued", video.GetProperty("status").GetString());
        Assert.Equal(0, video.GetProperty("progress").GetInt32());
        Assert.Equal("720x1280", video.GetProperty("size").GetString());
        Assert.Equal("4", video.GetProperty("seconds").GetString());
        Assert.Equal("waves at night", video.GetProperty("prompt").GetString());
        Assert.InRange(video.GetProperty("created_at").GetInt64(), DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        foreach (var empty in (string[])["completed_at", "expires_at", "remixed_from_video_id", "error", "video_url", "thumbnail_url"])
        {
            Assert.Equal(JsonValueKind.Null, video.GetProperty(empty).ValueKind);
        }
    }

    [Fact]
    public async Task Get_TaskFromEitherSurface_ReadsThroughTheOther()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        var unifiedId = await client.CreateAsync(new { model = "reelay-preview", prompt = "from unified", aspect_ratio = "16:9", size = "720P", duration = 3 }, ct);
        using var read = await client.GetAsync(OpenAiVideos.PathOf(unifiedId), ct);
        Assert.Contains("%3A", read.RequestMessage!.RequestUri!.OriginalString, StringComparison.Ordinal);
        var asVideo = JsonDocument.Parse(await read.Content.ReadAsStringAsync(ct)).RootElement;
        Assert.Equal(unifiedId, asVideo.GetProperty("id").GetString());
        Assert.Equal("1280x720", asVideo.GetProperty("size").GetString());
        Assert.Equal("3", asVideo.GetProperty("seconds").GetString());
        Assert.Equal("reelay-preview", asVideo.GetProperty("model").GetString());
        if (asVideo.GetProperty("status").GetString() is "queued" or "in_progress")
        {
            // The engine's predicted time left, kept between 1 and 30 s (WaitingTests and PollHintTests check the value).
            Assert.InRange(long.Parse(read.Headers.GetValues("openai-poll-after-ms").Single(), System.Globalization.CultureInfo.InvariantCulture), 1000, 30_000);
        }

        var openAi = await client.CreateVideoAsync(new { model = "sora-2", prompt = "from openai", seconds = 8, size = "1280x720" }, ct);
        var asTask = await client.QueryAsync(openAi.GetProperty("id").GetString()!, ct);
        Assert.Equal("from openai", asTask.GetProperty("prompt").GetString());
        Assert.Equal("16:9", asTask.GetProperty("aspect_ratio").GetString());
        Assert.Equal("720P", asTask.GetProperty("size").GetString());
        Assert.Equal(8, asTask.GetProperty("duration").GetInt32());
    }

    [Fact]
    public async Task List_ThreeVideosWithLimitTwo_PagesByCursorNewestFirst()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);
        using var other = await app.CreateClientWithKeyAsync("test", ct);
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await client.CreateVideoAsync(new { prompt = $"video {i}" }, ct)).GetProperty("id").GetString()!);
        }

        var first = await client.GetFromJsonAsync<JsonElement>("/v1/videos?limit=2", ct);
        Assert.Equal("list", first.GetProperty("object").GetString());
        Assert.Equal([ids[2], ids[1]], Ids(first));
        Assert.Equal(ids[2], first.GetProperty("first_id").GetString());
        Assert.Equal(ids[1], first.GetProperty("last_id").GetString());
        Assert.True(first.GetProperty("has_more").GetBoolean());

        var second = await client.GetFromJsonAsync<JsonElement>("/v1/videos?limit=2&after=" + Uri.EscapeDataString(ids[1]), ct);
        Assert.Equal([ids[0]], Ids(second));
        Assert.False(second.GetProperty("has_more").GetBoolean());

        var ascending = await client.GetFromJsonAsync<JsonElement>("/v1/videos?order=asc", ct);
        Assert.Equal(ids, Ids(ascending));

        var empty = await other.GetFromJsonAsync<JsonElement>("/v1/videos", ct);
        Assert.Empty(Ids(empty));
        Assert.Equal(JsonValueKind.Null, empty.GetProperty("first_id").ValueKind);
        Assert.Equal(JsonValueKind.Null, empty.GetProperty("last_id").ValueKind);

        // Another key's id is no cursor for this key.
        using var foreignCursor = await other.GetAsync("/v1/videos?after=" + Uri.EscapeDataString(ids[1]), ct);
        var error = await foreignCursor.ErrorAsync(400, ct);
        Assert.Equal("after", error.GetProperty("param").GetString());
        using var badLimit = await client.GetAsync("/v1/videos?limit=101", ct);
        Assert.Equal("'limit' must be a whole number from 1 to 100, got '101'.", (await badLimit.ErrorAsync(400, ct)).GetProperty("message").GetString());
        using var badOrder = await client.GetAsync("/v1/videos?order=newest", ct);
        Assert.Equal("order", (await badOrder.ErrorAsync(400, ct)).GetProperty("param").GetString());
    }

    [Fact]
    public async Task Content_CompletedVideo_StreamsMp4WithRangeAndJpegThumbnail()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);
        var id = (await client.CreateVideoAsync(new { model = "reelay-preview", prompt = "a short one", seconds = "1", size = "1280x720" }, ct)).GetProperty("id").GetString()!;

        // Before it is done there is nothing to download: 404, which the SDKs do not retry.
        using (var early = await client.GetAsync(OpenAiVideos.PathOf(id) + "/content", ct))
        {
            if (early.StatusCode != HttpStatusCode.OK)
            {
                Assert.Equal("video_not_ready", (await early.ErrorAsync(404, ct)).GetProperty("code").GetString());
            }
        }

        var video = await client.WaitForVideoAsync(id, ct);
        Assert.Equal("completed", video.GetProperty("status").GetString());
        Assert.Equal(100, video.GetProperty("progress").GetInt32());
        Assert.Equal("1280x720", video.GetProperty("size").GetString());
        Assert.Equal(video.GetProperty("completed_at").GetInt64() + (long)TimeSpan.FromHours(24).TotalSeconds, video.GetProperty("expires_at").GetInt64());

        var whole = await client.GetByteArrayAsync(OpenAiVideos.PathOf(id) + "/content", ct);
        Assert.Equal(await client.StoredVideoBytesAsync(app, id, ct), whole);

        using var ranged = new HttpRequestMessage(HttpMethod.Get, OpenAiVideos.PathOf(id) + "/content?variant=video");
        ranged.Headers.Range = new RangeHeaderValue(0, 99);
        using var partial = await client.SendAsync(ranged, ct);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal("video/mp4", partial.Content.Headers.ContentType?.MediaType);
        Assert.Equal(whole.Length, partial.Content.Headers.ContentRange?.Length);
        Assert.Equal(whole[..100], await partial.Content.ReadAsByteArrayAsync(ct));

        using var thumbnail = await client.GetAsync(OpenAiVideos.PathOf(id) + "/content?variant=thumbnail", ct);
        Assert.Equal(HttpStatusCode.OK, thumbnail.StatusCode);
        Assert.Equal("image/jpeg", thumbnail.Content.Headers.ContentType?.MediaType);

        using var spritesheet = await client.GetAsync(OpenAiVideos.PathOf(id) + "/content?variant=spritesheet", ct);
        Assert.Equal("variant", (await spritesheet.ErrorAsync(400, ct)).GetProperty("param").GetString());

        using var remix = await client.PostAsJsonAsync(OpenAiVideos.PathOf(id) + "/remix", new { prompt = "again, at night" }, ct);
        var remixError = await remix.ErrorAsync(400, ct);
        Assert.Equal("remix_not_supported", remixError.GetProperty("code").GetString());
        Assert.Contains("local preview renderer", remixError.GetProperty("message").GetString(), StringComparison.Ordinal);

        using var deleted = await client.DeleteAsync(OpenAiVideos.PathOf(id), ct);
        Assert.Equal($$"""{"id":"{{id}}","object":"video.deleted","deleted":true}""", await deleted.Content.ReadAsStringAsync(ct));
        using var gone = await client.GetAsync(OpenAiVideos.PathOf(id) + "/content", ct);
        await gone.ErrorAsync(404, ct);
    }

    [Fact]
    public async Task Video_Completed_VideoUrlAndThumbnailUrlServeTheStoredFilesOnEveryRead()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);
        using var anonymous = app.CreateClient();

        var created = await client.CreateVideoAsync(new { model = "reelay-preview", prompt = "a linked one", seconds = "1", size = "1280x720" }, ct);
        var id = created.GetProperty("id").GetString()!;
        Assert.Equal(JsonValueKind.Null, created.GetProperty("video_url").ValueKind);
        Assert.Equal(JsonValueKind.Null, created.GetProperty("thumbnail_url").ValueKind);

        var video = await client.WaitForVideoAsync(id, ct);
        Assert.Equal("completed", video.GetProperty("status").GetString());
        var mp4 = await client.GetByteArrayAsync(OpenAiVideos.PathOf(id) + "/content", ct);
        var jpeg = await client.GetByteArrayAsync(OpenAiVideos.PathOf(id) + "/content?variant=thumbnail", ct);

        // Links a <video> tag can play: no key, the same bytes as /content.
        Assert.Equal(mp4, await anonymous.GetByteArrayAsync(video.GetProperty("video_url").GetString(), ct));
        using (var thumbnail = await anonymous.GetAsync(video.GetProperty("thumbnail_url").GetString(), ct))
        {
            Assert.Equal("image/jpeg", thumbnail.Content.Headers.ContentType?.MediaType);
            Assert.Equal(jpeg, await thumbnail.Content.ReadAsByteArrayAsync(ct));
        }

        // The same signed, expiring file the unified query links to.
        var unified = await client.QueryAsync(id, ct);
        foreach (var field in (string[])["video_url", "thumbnail_url"])
        {
            var link = new Uri(video.GetProperty(field).GetString()!);
            Assert.Equal(new Uri(unified.GetProperty(field).GetString()!).AbsolutePath, link.AbsolutePath);
            Assert.Contains("exp=", link.Query, StringComparison.Ordinal);
            Assert.Contains("sig=", link.Query, StringComparison.Ordinal);
        }

        var listed = Assert.Single((await client.GetFromJsonAsync<JsonElement>("/v1/videos", ct)).GetProperty("data").EnumerateArray());
        Assert.Equal(mp4, await anonymous.GetByteArrayAsync(listed.GetProperty("video_url").GetString(), ct));
        Assert.Equal(jpeg, await anonymous.GetByteArrayAsync(listed.GetProperty("thumbnail_url").GetString(), ct));
    }

    [Fact]
    public async Task Create_MultipartWithPngInputReference_RendersFromTheImage()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        using var form = Multipart(("prompt", "the pattern, zooming"), ("model", "reelay-preview"), ("seconds", "1"), ("size", "1280x720"));
        var image = new ByteArrayContent(OpenAiVideos.Png);
        image.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(image, "input_reference", "first.png");
        using var response = await client.PostAsync("/v1/videos", form, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.IsSuccessStatusCode, text);
        var id = JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;

        var video = await client.WaitForVideoAsync(id, ct);
        Assert.Equal("completed", video.GetProperty("status").GetString());
        Assert.Equal("1280x720", video.GetProperty("size").GetString());

        using var notImage = Multipart(("prompt", "x"), ("model", "reelay-preview"));
        notImage.Add(new ByteArrayContent("%PDF-1.7 not an image"u8.ToArray()), "input_reference", "doc.png");
        using var refused = await client.PostAsync("/v1/videos", notImage, ct);
        var error = await refused.ErrorAsync(400, ct);
        Assert.Equal("input_reference", error.GetProperty("param").GetString());
        Assert.Equal("'input_reference' must be a JPEG, PNG or WebP image; the uploaded file 'doc.png' is not one.", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Create_InvalidFields_Returns400NamingOpenAiFields()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        async Task<JsonElement> Refused(object body)
        {
            using var response = await client.PostAsJsonAsync("/v1/videos", body, ct);
            return await response.ErrorAsync(400, ct);
        }

        var size = await Refused(new { prompt = "x", size = "1024x1024" });
        Assert.Equal("size", size.GetProperty("param").GetString());
        Assert.Equal("'size' '1024x1024' is not supported by sora-2; use one of 1280x720, 720x1280.", size.GetProperty("message").GetString());
        Assert.Equal("invalid_request_error", size.GetProperty("type").GetString());

        var seconds = await Refused(new { prompt = "x", seconds = "5" });
        Assert.Equal("'seconds' 5 is not supported by sora-2; use 4, 8, 10, 12, 15 seconds.", seconds.GetProperty("message").GetString());

        var prompt = await Refused(new { model = "sora-2" });
        Assert.Equal("'prompt' is required: describe the video to make.", prompt.GetProperty("message").GetString());

        var fileId = await Refused(new { prompt = "x", input_reference = new { file_id = "file_123" } });
        Assert.Equal("input_reference", fileId.GetProperty("param").GetString());

        using var form = Multipart(("prompt", "x"), ("seconds", "four"));
        using var formResponse = await client.PostAsync("/v1/videos", form, ct);
        Assert.Equal("seconds", (await formResponse.ErrorAsync(400, ct)).GetProperty("param").GetString());
    }

    [Fact]
    public async Task Routes_WithoutKeyOrForAnotherKeysVideo_Answer401And404Envelopes()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var owner = await app.CreateClientWithKeyAsync("test", ct);
        using var stranger = await app.CreateClientWithKeyAsync("test", ct);
        using var anonymous = app.CreateClient();
        var id = (await owner.CreateVideoAsync(new { prompt = "mine" }, ct)).GetProperty("id").GetString()!;

        using var unauthenticated = await anonymous.GetAsync("/v1/videos", ct);
        var missingKey = await unauthenticated.ErrorAsync(401, ct);
        Assert.Equal("authentication_error", missingKey.GetProperty("type").GetString());
        Assert.True(unauthenticated.Headers.Contains("x-request-id"));

        foreach (var path in (string[])[OpenAiVideos.PathOf(id), OpenAiVideos.PathOf(id) + "/content", OpenAiVideos.PathOf("sora-2:not-an-id")])
        {
            using var response = await stranger.GetAsync(path, ct);
            var error = await response.ErrorAsync(404, ct);
            Assert.Equal("not_found_error", error.GetProperty("type").GetString());
        }

        using var deleteForeign = await stranger.DeleteAsync(OpenAiVideos.PathOf(id), ct);
        await deleteForeign.ErrorAsync(404, ct);

        // The owner cannot delete it while it renders either; 400, not 409, which SDKs would retry.
        var status = (await owner.GetVideoAsync(id, ct)).GetProperty("status").GetString();
        if (status is "queued" or "in_progress")
        {
            using var deleteRunning = await owner.DeleteAsync(OpenAiVideos.PathOf(id), ct);
            Assert.Equal("video_not_finished", (await deleteRunning.ErrorAsync(400, ct)).GetProperty("code").GetString());
        }
    }

    private static List<string> Ids(JsonElement list) =>
        list.GetProperty("data").EnumerateArray().Select(v => v.GetProperty("id").GetString()!).ToList();

    private static MultipartFormDataContent Multipart(params (string Name, string Value)[] fields)
    {
        var form = new MultipartFormDataContent();
        foreach (var (name, value) in fields)
        {
            form.Add(new StringContent(value), name);
        }

        return form;
    }
}
