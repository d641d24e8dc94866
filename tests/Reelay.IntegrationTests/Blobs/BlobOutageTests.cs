using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Blobs;
using Reelay.Blobs.LocalDisk;
using Reelay.Storage;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Blobs;

/// <summary>
/// A blob store that cannot take the finished video is an outage, not the task's fault: the task waits,
/// the finisher backs off, and once the store is back the video is stored once, with nothing left over.
/// </summary>
public sealed class BlobOutageTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Finish_S3StoppedWhileTheVideoRenders_TaskWaitsThenCompletesWithExactlyItsTwoObjects()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var s3 = await S3Server.StartAsync(ct);
        var bucket = S3Server.NewBucketName();
        var logs = new CapturedLogs();
        await using var app = ReelayApp.Start(s3.ReelaySettings(bucket), logs: logs);
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        await s3.StopAsync();
        var id = await client.CreateAsync(new { model = "reelay-preview", prompt = "a storm over the harbour", duration = 1 }, ct);

        // The render finishes, the upload is refused: the finish worker pauses instead of failing the task.
        var deadline = DateTime.UtcNow + Timeout;
        while (!logs.Lines.Any(m => m.Contains("The Finish worker pauses", StringComparison.Ordinal) && m.Contains(s3.ServiceUrl, StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, "the finisher never reported the S3 store unavailable:\n" + string.Join("\n", logs.Lines));
            await Task.Delay(100, ct);
        }

        var waiting = await client.QueryAsync(id, ct);
        Assert.Equal("processing", waiting.GetProperty("status").GetString());
        Assert.DoesNotContain(logs.Lines, m => m.Contains("failed on task", StringComparison.Ordinal));

        await s3.RestartAsync(ct);
        var task = await client.WaitForEndAsync(id, Timeout, ct);

        Assert.Equal("completed", task.GetProperty("status").GetString());
        var keys = s3.ObjectKeys(bucket);
        Assert.Equal(2, keys.Count);
        using var anonymous = new HttpClient();
        var video = await anonymous.GetByteArrayAsync(task.GetProperty("video_url").GetString(), ct);
        Assert.True(video.Length > 1000);
        Assert.Contains(keys, key => task.GetProperty("video_url").GetString()!.Contains(key, StringComparison.Ordinal));
        Assert.Contains(keys, key => task.GetProperty("thumbnail_url").GetString()!.Contains(key, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Finish_ThumbnailUploadFailsAfterTheVideoIsStored_TheOrphanIsDeletedAndTheRetryStoresOneCopy()
    {
        var ct = TestContext.Current.CancellationToken;
        var failing = 0;
        await using var app = ReelayApp.Start(services: services => services.AddSingleton<IBlobStore>(sp =>
            new ThumbnailFailsOnce(ActivatorUtilities.CreateInstance<LocalDiskBlobStore>(sp), () => Interlocked.Increment(ref failing))));
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        var id = await client.CreateAsync(new { model = "reelay-preview", prompt = "a second try", duration = 1 }, ct);
        var task = await client.WaitForEndAsync(id, Timeout, ct);

        Assert.Equal("completed", task.GetProperty("status").GetString());
        Assert.Equal(1, Volatile.Read(ref failing));
        // The first attempt's video went in before its thumbnail failed; only the retry's pair is left.
        var files = Path.Combine(app.DataDir, "files");
        var stored = new[] { "videos", "thumbnails" }
            .SelectMany(folder => Directory.Exists(Path.Combine(files, folder)) ? Directory.GetFiles(Path.Combine(files, folder)) : [])
            .Select(path => Path.GetRelativePath(files, path).Replace(Path.DirectorySeparatorChar, '/'))
            .ToList();
        Assert.Equal(2, stored.Count);
        Assert.All(stored, key => Assert.True(
            task.GetProperty("video_url").GetString()!.Contains(key, StringComparison.Ordinal) || task.GetProperty("thumbnail_url").GetString()!.Contains(key, StringComparison.Ordinal),
            $"{key} is stored but the task does not name it"));
    }

    /// <summary>The real local-disk store, whose first thumbnail upload fails as a full or failing disk would.</summary>
    private sealed class ThumbnailFailsOnce(IBlobStore inner, Func<int> failed) : IBlobStore
    {
        private int _thumbnails;

        public Task<BlobContent?> OpenReadAsync(string key, CancellationToken cancellationToken) => inner.OpenReadAsync(key, cancellationToken);

        public Task WriteAsync(string key, Stream content, CancellationToken cancellationToken) => inner.WriteAsync(key, content, cancellationToken);

        public Task PutFileAsync(string key, string sourcePath, CancellationToken cancellationToken)
        {
            if (key.StartsWith("thumbnails/", StringComparison.Ordinal) && Interlocked.Increment(ref _thumbnails) == 1)
            {
                failed();
                throw new StoreUnavailableException(StoreUnavailableReason.Full, "the data directory cannot take the file (No space left on device)", TimeSpan.FromSeconds(1));
            }

            return inner.PutFileAsync(key, sourcePath, cancellationToken);
        }

        public Task DeleteAsync(string key, CancellationToken cancellationToken) => inner.DeleteAsync(key, cancellationToken);

        public string GetReadUrl(string key, TimeSpan lifetime, HttpRequest request) => inner.GetReadUrl(key, lifetime, request);
    }
}
