using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Options;
using Reelay.IntegrationTests.Api.Files;
using Reelay.IntegrationTests.Api.OpenAi;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Blobs;

/// <summary>
/// Reelay with <c>Blobs:Provider=s3</c> against a real S3-compatible server: a finished task's links are
/// presigned URLs of that server that serve the video whole and by range, the OpenAI content route reads
/// through Reelay, deleting the task deletes its objects, and readiness says what is wrong.
/// </summary>
public sealed class S3EndToEndTests(S3Server s3) : IClassFixture<S3Server>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task FinishedTask_S3Provider_LinksArePresignedAndServeTheWholeVideoAndRanges()
    {
        var bucket = S3Server.NewBucketName();
        await using var app = ReelayApp.Start(s3.ReelaySettings(bucket));
        using var client = await app.CreateClientWithKeyAsync("test", Ct);
        var id = await client.CreateAsync(new { model = "reelay-preview", prompt = "a lighthouse at dusk", aspect_ratio = "16:9", size = "720P", duration = 2 }, Ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(120), Ct);
        Assert.Equal("completed", task.GetProperty("status").GetString());

        var videoUrl = task.GetProperty("video_url").GetString()!;
        var thumbnailUrl = task.GetProperty("thumbnail_url").GetString()!;
        foreach (var url in (string[])[videoUrl, thumbnailUrl])
        {
            Assert.StartsWith($"{s3.ServiceUrl}/{bucket}/", url, StringComparison.Ordinal);
            Assert.Contains("X-Amz-Signature=", url, StringComparison.Ordinal);
        }

        // A finished answer is served from memory within its window: the same links, not signed again.
        Assert.Equal(videoUrl, (await client.QueryAsync(id, Ct)).GetProperty("video_url").GetString());

        using var anonymous = new HttpClient();
        var whole = await anonymous.GetByteArrayAsync(videoUrl, Ct);
        var file = Path.Combine(app.DataDir, "downloaded.mp4");
        await File.WriteAllBytesAsync(file, whole, Ct);
        Assert.Equal("h264,1280,720", await TestMedia.FfprobeAsync(file, "stream=codec_name,width,height"));

        using (var ranged = new HttpRequestMessage(HttpMethod.Get, videoUrl))
        {
            ranged.Headers.Range = new RangeHeaderValue(100, 4195);
            using var piece = await anonymous.SendAsync(ranged, Ct);
            Assert.Equal(HttpStatusCode.PartialContent, piece.StatusCode);
            Assert.Equal($"bytes 100-4195/{whole.Length}", piece.Content.Headers.ContentRange?.ToString());
            Assert.Equal(whole[100..4196], await piece.Content.ReadAsByteArrayAsync(Ct));
        }

        using (var thumbnail = await anonymous.GetAsync(thumbnailUrl, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, thumbnail.StatusCode);
            Assert.Equal("image/jpeg", thumbnail.Content.Headers.ContentType?.MediaType);
        }

        // The OpenAI route reads the object through Reelay, with Range, validators and 304 as on local disk.
        var content = new Uri(client.BaseAddress!, OpenAiVideos.PathOf(id) + "/content").ToString();
        await FileServingTests.AssertServesConditionallyAsync(client, content, whole, "video/mp4", Ct);
    }

    [Fact]
    public async Task DeleteVideo_S3Provider_RemovesItsObjects()
    {
        await using var app = ReelayApp.Start(s3.ReelaySettings());
        using var client = await app.CreateClientWithKeyAsync("test", Ct);
        var id = await client.CreateAsync(new { model = "reelay-preview", prompt = "gone soon", duration = 1 }, Ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(120), Ct);
        var links = new[] { task.GetProperty("video_url").GetString()!, task.GetProperty("thumbnail_url").GetString()! };
        using var anonymous = new HttpClient();
        foreach (var link in links)
        {
            using var before = await anonymous.GetAsync(link, Ct);
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        using (var deleted = await client.DeleteAsync(OpenAiVideos.PathOf(id), Ct))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        foreach (var link in links)
        {
            using var after = await anonymous.GetAsync(link, Ct);
            Assert.Equal(HttpStatusCode.NotFound, after.StatusCode);
            Assert.Contains("NoSuchKey", await after.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// s3rver checks access key ids but not SigV4 signatures, so a wrong secret cannot be shown to it; an
    /// unknown key id gets the same 403 from any S3 server a wrong secret gets from a real one.
    /// </summary>
    [Fact]
    public async Task Readyz_CredentialsRefused_NotReadyNamingTheSettings()
    {
        var settings = s3.ReelaySettings();
        settings["Blobs:S3:AccessKey"] = "NOT-A-KEY";
        settings["Blobs:S3:SecretKey"] = "not-the-secret";
        await using var app = ReelayApp.Start(settings);
        using var anonymous = app.CreateClient();

        using var ready = await anonymous.GetAsync("/readyz", Ct);
        var text = await ready.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains($"S3 at {s3.ServiceUrl} refused access to bucket", text, StringComparison.Ordinal);
        Assert.Contains("check Blobs:S3:AccessKey and Blobs:S3:SecretKey", text, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-secret", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readyz_BucketMissingAndNotCreated_NotReadySayingHowToFix()
    {
        var settings = s3.ReelaySettings();
        settings["Blobs:S3:CreateBucket"] = "false";
        await using var app = ReelayApp.Start(settings);
        using var anonymous = app.CreateClient();

        using var ready = await anonymous.GetAsync("/readyz", Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains($"S3 bucket '{settings["Blobs:S3:Bucket"]}' does not exist at {s3.ServiceUrl}: create it, or set Blobs:S3:CreateBucket to true.", await ready.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readyz_BucketReachable_Ready()
    {
        await using var app = ReelayApp.Start(s3.ReelaySettings());
        using var anonymous = app.CreateClient();

        Assert.Equal("ready", await anonymous.GetStringAsync("/readyz", Ct));
    }

    public static TheoryData<string, string?, string> BadSettings => new()
    {
        { "Blobs:Provider", "ftp", "Blobs:Provider 'ftp' is not one of local, s3." },
        { "Blobs:S3:Bucket", null, "Blobs:S3:Bucket is required with Blobs:Provider s3." },
        { "Blobs:S3:Bucket", "Videos_Bucket", "Blobs:S3:Bucket 'Videos_Bucket' is not a bucket name" },
        { "Blobs:S3:ServiceUrl", "minio:9000", "Blobs:S3:ServiceUrl 'minio:9000' is not an absolute http(s) URL." },
        { "Blobs:S3:SecretKey", "", "Blobs:S3:SecretKey is required with Blobs:S3:AccessKey." },
        { "Blobs:S3:PresignedUrlLifetime", "8.00:00:00", "Blobs:S3:PresignedUrlLifetime 8.00:00:00 is too long for presigned S3 links" },
        { "FILE_URL_TTL", "7.00:00:00", "FILE_URL_TTL 7.00:00:00 is too long for presigned S3 links" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void Start_BadS3Setting_FailsNamingIt(string key, string? value, string expected)
    {
        var settings = s3.ReelaySettings();
        settings[key] = value;

        var error = Assert.ThrowsAny<Exception>(() => ReelayApp.Start(settings));

        var validation = error as OptionsValidationException ?? error.InnerException as OptionsValidationException
            ?? (error as AggregateException)?.InnerExceptions.OfType<OptionsValidationException>().FirstOrDefault();
        Assert.True(validation is not null, $"Expected an OptionsValidationException, got: {error}");
        Assert.Contains(expected, validation.Message, StringComparison.Ordinal);
    }
}
