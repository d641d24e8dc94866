using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Reelay.Blobs;

namespace Reelay.IntegrationTests.Blobs;

/// <summary>
/// What every <see cref="IBlobStore"/> backend promises. A subclass supplies a clean store; each fact
/// runs against a fresh one.
/// </summary>
public abstract class BlobStoreContract : IAsyncLifetime
{
    private StoreUnderTest? _subject;

    protected IBlobStore Store => _subject!.Store;

    /// <summary>A fresh, empty store, the request its links are handed out on, and what to dispose afterwards.</summary>
    protected abstract Task<StoreUnderTest> StartCleanStoreAsync();

    public async ValueTask InitializeAsync() => _subject = await StartCleanStoreAsync();

    public async ValueTask DisposeAsync()
    {
        if (_subject is not null)
        {
            await _subject.Owner.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The request links are handed out on.</summary>
    protected HttpRequest LinkRequest => _subject!.LinkRequest;

    [Fact]
    public async Task WriteAsync_ThenOpenRead_SameBytesLengthTypeAndValidators()
    {
        var key = BlobKeys.NewVideo();
        var bytes = RandomNumberGenerator.GetBytes(300_000);
        var before = DateTimeOffset.UtcNow;

        await Store.WriteAsync(key, new MemoryStream(bytes), Ct);

        await using var blob = await Store.OpenReadAsync(key, Ct);
        Assert.NotNull(blob);
        Assert.Equal(bytes, await ReadAllAsync(blob));
        Assert.Equal(bytes.Length, blob.Length);
        Assert.Equal("video/mp4", blob.ContentType);
        // Store clocks and file times are coarse; the write happened within this test, give or take a few seconds.
        Assert.InRange(blob.LastModified, before.AddSeconds(-5), DateTimeOffset.UtcNow.AddSeconds(5));
        Assert.Matches("^\"[^\"]+\"$", blob.EntityTag);
    }

    [Fact]
    public async Task OpenReadAsync_Twice_SameValidators()
    {
        var key = BlobKeys.NewThumbnail();
        await Store.WriteAsync(key, new MemoryStream(RandomNumberGenerator.GetBytes(1000)), Ct);

        await using var first = await Store.OpenReadAsync(key, Ct);
        await using var second = await Store.OpenReadAsync(key, Ct);

        Assert.Equal("image/jpeg", first!.ContentType);
        Assert.Equal(first.EntityTag, second!.EntityTag);
        Assert.Equal(first.LastModified, second.LastModified);
    }

    [Fact]
    public async Task PutFileAsync_LocalFile_StoredAndSourceConsumed()
    {
        var key = BlobKeys.NewVideo();
        var bytes = RandomNumberGenerator.GetBytes(50_000);
        var source = Path.Combine(Path.GetTempPath(), "reelay-blob-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllBytesAsync(source, bytes, Ct);

        try
        {
            await Store.PutFileAsync(key, source, Ct);

            Assert.False(File.Exists(source), "the source file should be consumed by the store");
            await using var blob = await Store.OpenReadAsync(key, Ct);
            Assert.Equal(bytes, await ReadAllAsync(blob!));
        }
        finally
        {
            File.Delete(source);
        }
    }

    [Fact]
    public async Task WriteAsync_SameKeyAgain_ReadsTheNewBytes()
    {
        var key = BlobKeys.NewVideo();
        await Store.WriteAsync(key, new MemoryStream(RandomNumberGenerator.GetBytes(100)), Ct);
        var second = RandomNumberGenerator.GetBytes(200);

        await Store.WriteAsync(key, new MemoryStream(second), Ct);

        await using var blob = await Store.OpenReadAsync(key, Ct);
        Assert.Equal(second, await ReadAllAsync(blob!));
    }

    [Fact]
    public async Task WriteAsync_SourceFailsMidway_NoBlobAppears()
    {
        var key = BlobKeys.NewVideo();

        await Assert.ThrowsAsync<IOException>(() => Store.WriteAsync(key, new FailingStream(RandomNumberGenerator.GetBytes(100_000)), Ct));

        Assert.Null(await Store.OpenReadAsync(key, Ct));
    }

    [Fact]
    public async Task OpenReadAsync_KeyNeverWritten_ReturnsNull()
    {
        Assert.Null(await Store.OpenReadAsync(BlobKeys.NewVideo(), Ct));
    }

    [Theory]
    [InlineData("")]
    [InlineData("../reelay.db")]
    [InlineData("videos/../../reelay.db")]
    [InlineData("videos/a/b.mp4")]
    [InlineData("/etc/passwd")]
    [InlineData("work/x.mp4")]
    public async Task Keys_NotMadeByReelay_RefusedByEveryOperation(string key)
    {
        Assert.Null(await Store.OpenReadAsync(key, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.WriteAsync(key, new MemoryStream([1, 2, 3]), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.PutFileAsync(key, "/nonexistent", Ct));
        await Store.DeleteAsync(key, Ct);
    }

    [Fact]
    public async Task DeleteAsync_StoredBlob_GoneAndDeletingAgainIsQuiet()
    {
        var key = BlobKeys.NewVideo();
        await Store.WriteAsync(key, new MemoryStream([1, 2, 3]), Ct);

        await Store.DeleteAsync(key, Ct);

        Assert.Null(await Store.OpenReadAsync(key, Ct));
        await Store.DeleteAsync(key, Ct);
    }

    [Fact]
    public async Task GetReadUrl_PlainGetWithNoHeaders_ServesTheBlob()
    {
        var key = BlobKeys.NewVideo();
        var bytes = RandomNumberGenerator.GetBytes(70_000);
        await Store.WriteAsync(key, new MemoryStream(bytes), Ct);

        var url = Store.GetReadUrl(key, TimeSpan.FromMinutes(5), _subject!.LinkRequest);

        Assert.True(Uri.IsWellFormedUriString(url, UriKind.Absolute), url);
        using var http = new HttpClient();
        using var response = await http.GetAsync(url, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("video/mp4", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(bytes, await response.Content.ReadAsByteArrayAsync(Ct));
    }

    [Fact]
    public async Task GetReadUrl_BlobDeleted_NoLongerServes()
    {
        var key = BlobKeys.NewThumbnail();
        await Store.WriteAsync(key, new MemoryStream([1, 2, 3]), Ct);
        var url = Store.GetReadUrl(key, TimeSpan.FromMinutes(5), _subject!.LinkRequest);

        await Store.DeleteAsync(key, Ct);

        using var http = new HttpClient();
        using var response = await http.GetAsync(url, Ct);
        Assert.False(response.IsSuccessStatusCode, $"a deleted blob answered {(int)response.StatusCode}");
    }

    [Fact]
    public async Task GetReadUrl_RangeRequest_ServesThatPiece()
    {
        var key = BlobKeys.NewVideo();
        var bytes = RandomNumberGenerator.GetBytes(70_000);
        await Store.WriteAsync(key, new MemoryStream(bytes), Ct);
        var url = Store.GetReadUrl(key, TimeSpan.FromMinutes(5), _subject!.LinkRequest);

        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(1000, 1999);
        using var response = await http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal("bytes 1000-1999/70000", response.Content.Headers.ContentRange?.ToString());
        Assert.Equal(bytes[1000..2000], await response.Content.ReadAsByteArrayAsync(Ct));
    }

    [Fact]
    public async Task OpenReadAsync_SeekThenRead_ReadsFromThere()
    {
        var key = BlobKeys.NewVideo();
        var bytes = RandomNumberGenerator.GetBytes(200_000);
        await Store.WriteAsync(key, new MemoryStream(bytes), Ct);

        await using var blob = await Store.OpenReadAsync(key, Ct);
        Assert.True(blob!.Content.CanSeek, "range answers need a seekable stream");

        // What ASP.NET's range processing does: seek to the range's start, read its length.
        blob.Content.Seek(150_000, SeekOrigin.Begin);
        Assert.Equal(bytes[150_000..], await ReadAllAsync(blob));
        blob.Content.Position = 10;
        var piece = new byte[100];
        await blob.Content.ReadExactlyAsync(piece, Ct);
        Assert.Equal(bytes[10..110], piece);
    }

    [Fact]
    public async Task PutFileAsync_FileLargerThanOneUpload_StoredWhole()
    {
        var key = BlobKeys.NewVideo();
        // Above the 16 MB from which an S3 store uploads in parts.
        var bytes = RandomNumberGenerator.GetBytes(17 * 1024 * 1024 + 12_345);
        var source = Path.Combine(Path.GetTempPath(), "reelay-blob-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllBytesAsync(source, bytes, Ct);

        try
        {
            await Store.PutFileAsync(key, source, Ct);

            await using var blob = await Store.OpenReadAsync(key, Ct);
            Assert.Equal(bytes.Length, blob!.Length);
            var stored = await ReadAllAsync(blob);
            Assert.True(bytes.AsSpan().SequenceEqual(stored), "the stored bytes differ from the file's");
        }
        finally
        {
            File.Delete(source);
        }
    }

    protected static async Task<byte[]> ReadAllAsync(BlobContent blob)
    {
        using var buffer = new MemoryStream();
        await blob.Content.CopyToAsync(buffer, Ct);
        return buffer.ToArray();
    }

    /// <summary>A source that delivers part of its bytes, then fails, as a dropped upstream download does.</summary>
    private sealed class FailingStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Position > Length / 2 ? throw new IOException("source went away") : await base.ReadAsync(buffer[..Math.Min(buffer.Length, 8192)], cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }
}

/// <summary>A store for one contract test, the request its links are handed out on, and what owns it.</summary>
public sealed record StoreUnderTest(IBlobStore Store, HttpRequest LinkRequest, IAsyncDisposable Owner);
