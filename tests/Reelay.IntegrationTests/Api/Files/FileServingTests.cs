using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Blobs;
using Reelay.IntegrationTests.Api.OpenAi;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Api.Files;

/// <summary>
/// Videos and thumbnails over real HTTP: validators, Range, and conditional requests, on the signed
/// <c>/files/</c> links and on <c>GET /v1/videos/{id}/content</c>.
/// </summary>
public class FileServingTests
{
    [Fact]
    public async Task SignedLink_StoredFile_ServesValidatorsRangesAndConditionalAnswers()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        var blobs = app.Services.GetRequiredService<IBlobStore>();
        var bytes = RandomNumberGenerator.GetBytes(256 * 1024);
        var key = BlobKeys.NewVideo();
        await blobs.WriteAsync(key, new MemoryStream(bytes), ct);
        var request = new DefaultHttpContext().Request;
        request.Scheme = "http";
        request.Host = new HostString(app.BaseAddress.Authority);
        var url = blobs.GetReadUrl(key, TimeSpan.FromHours(1), request);

        using var anonymous = app.CreateClient();
        await AssertServesConditionallyAsync(anonymous, url, bytes, "video/mp4", ct);
    }

    [Fact]
    public async Task SignedLink_BadSignatureOrDeletedFile_AnswersWithEnvelope()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        var blobs = app.Services.GetRequiredService<IBlobStore>();
        var key = BlobKeys.NewThumbnail();
        await blobs.WriteAsync(key, new MemoryStream([1, 2, 3]), ct);
        var request = new DefaultHttpContext().Request;
        request.Scheme = "http";
        request.Host = new HostString(app.BaseAddress.Authority);
        var url = blobs.GetReadUrl(key, TimeSpan.FromHours(1), request);
        using var anonymous = app.CreateClient();

        using var forged = await anonymous.GetAsync(url[..^2] + "xx", ct);
        Assert.Equal("invalid_file_link", (await forged.ErrorAsync(403, ct)).GetProperty("code").GetString());

        await blobs.DeleteAsync(key, ct);
        using var gone = await anonymous.GetAsync(url, ct);
        Assert.Equal("This file no longer exists.", (await gone.ErrorAsync(404, ct)).GetProperty("message").GetString());
    }

    [Fact]
    public async Task FinishedVideo_ContentRouteAndLinks_ServeValidatorsRangesAndConditionalAnswers()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);
        var id = (await client.CreateVideoAsync(new { model = "reelay-preview", prompt = "validators", seconds = "1", size = "1280x720" }, ct)).GetProperty("id").GetString()!;
        Assert.Equal("completed", (await client.WaitForVideoAsync(id, ct)).GetProperty("status").GetString());
        var video = await client.StoredVideoBytesAsync(app, id, ct);
        var thumbnail = await client.GetByteArrayAsync(OpenAiVideos.PathOf(id) + "/content?variant=thumbnail", ct);

        var content = new Uri(client.BaseAddress!, OpenAiVideos.PathOf(id) + "/content").ToString();
        await AssertServesConditionallyAsync(client, content, video, "video/mp4", ct);
        await AssertServesConditionallyAsync(client, content + "?variant=thumbnail", thumbnail, "image/jpeg", ct);

        var task = await client.QueryAsync(id, ct);
        using var anonymous = app.CreateClient();
        await AssertServesConditionallyAsync(anonymous, task.GetProperty("video_url").GetString()!, video, "video/mp4", ct);
        await AssertServesConditionallyAsync(anonymous, task.GetProperty("thumbnail_url").GetString()!, thumbnail, "image/jpeg", ct);
    }

    /// <summary>
    /// The answers a browser, a download manager and a CDN rely on: validators on every answer, HEAD,
    /// Range, If-Range that matches (206) or not (200 with the whole file), and 304 revalidation.
    /// </summary>
    internal static async Task AssertServesConditionallyAsync(HttpClient client, string url, byte[] whole, string contentType, CancellationToken ct)
    {
        EntityTagHeaderValue etag;
        DateTimeOffset lastModified;
        using (var plain = await client.GetAsync(url, ct))
        {
            Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
            Assert.Equal(contentType, plain.Content.Headers.ContentType?.MediaType);
            Assert.Equal(whole, await plain.Content.ReadAsByteArrayAsync(ct));
            Assert.Equal(["bytes"], plain.Headers.AcceptRanges);
            etag = plain.Headers.ETag ?? throw new Xunit.Sdk.XunitException($"{url}: no ETag");
            Assert.False(etag.IsWeak, "a weak ETag can never satisfy If-Range");
            lastModified = plain.Content.Headers.LastModified ?? throw new Xunit.Sdk.XunitException($"{url}: no Last-Modified");
        }

        using (var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, url), ct))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(whole.Length, head.Content.Headers.ContentLength);
            Assert.Equal(etag, head.Headers.ETag);
            Assert.Equal(lastModified, head.Content.Headers.LastModified);
            Assert.Empty(await head.Content.ReadAsByteArrayAsync(ct));
        }

        using (var ranged = await SendAsync(client, url, range: true, ct: ct))
        {
            AssertPartial(ranged, whole);
            Assert.Equal(etag, ranged.Headers.ETag);
            Assert.Equal(whole[100..300], await ranged.Content.ReadAsByteArrayAsync(ct));
        }

        using (var sameVersion = await SendAsync(client, url, range: true, ifRange: new RangeConditionHeaderValue(etag), ct: ct))
        {
            AssertPartial(sameVersion, whole);
        }

        using (var sameDate = await SendAsync(client, url, range: true, ifRange: new RangeConditionHeaderValue(lastModified), ct: ct))
        {
            AssertPartial(sameDate, whole);
        }

        // The client holds a piece of another version: a piece of this one would corrupt its copy.
        foreach (var stale in (RangeConditionHeaderValue[])[
                     new(new EntityTagHeaderValue("\"another-version\"")),
                     new(new EntityTagHeaderValue(etag.Tag, isWeak: true)),
                     new(lastModified.AddDays(-1))])
        {
            using var other = await SendAsync(client, url, range: true, ifRange: stale, ct: ct);
            Assert.True(other.StatusCode == HttpStatusCode.OK, $"If-Range {stale} answered {(int)other.StatusCode}, expected 200 with the whole file");
            Assert.Null(other.Content.Headers.ContentRange);
            Assert.Equal(whole, await other.Content.ReadAsByteArrayAsync(ct));
        }

        using (var unchanged = await SendAsync(client, url, ifNoneMatch: etag, ct: ct))
        {
            Assert.Equal(HttpStatusCode.NotModified, unchanged.StatusCode);
            Assert.Equal(etag, unchanged.Headers.ETag);
            Assert.Empty(await unchanged.Content.ReadAsByteArrayAsync(ct));
        }

        using (var changed = await SendAsync(client, url, ifNoneMatch: new EntityTagHeaderValue("\"another-version\""), ct: ct))
        {
            Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
            Assert.Equal(whole, await changed.Content.ReadAsByteArrayAsync(ct));
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.IfModifiedSince = lastModified;
        using var notModified = await client.SendAsync(request, ct);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
    }

    private static void AssertPartial(HttpResponseMessage response, byte[] whole)
    {
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal(100, response.Content.Headers.ContentRange?.From);
        Assert.Equal(299, response.Content.Headers.ContentRange?.To);
        Assert.Equal(whole.Length, response.Content.Headers.ContentRange?.Length);
    }

    private static Task<HttpResponseMessage> SendAsync(
        HttpClient client, string url, bool range = false, RangeConditionHeaderValue? ifRange = null, EntityTagHeaderValue? ifNoneMatch = null, CancellationToken ct = default)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (range)
        {
            request.Headers.Range = new RangeHeaderValue(100, 299);
        }

        request.Headers.IfRange = ifRange;
        if (ifNoneMatch is not null)
        {
            request.Headers.IfNoneMatch.Add(ifNoneMatch);
        }

        return client.SendAsync(request, ct);
    }
}
