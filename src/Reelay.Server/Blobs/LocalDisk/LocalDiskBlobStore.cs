using System.Globalization;

using Reelay.Hosting;
using Reelay.Storage;

namespace Reelay.Blobs.LocalDisk;

/// <summary>Blobs as files under <c>&lt;data&gt;/files</c>, read through signed <c>/files/</c> links.</summary>
public sealed class LocalDiskBlobStore(DataDirectory data, FileUrls urls) : IBlobStore
{
    public Task<BlobContent?> OpenReadAsync(string key, CancellationToken cancellationToken)
    {
        if (!BlobKeys.IsWellFormed(key))
        {
            return Task.FromResult<BlobContent?>(null);
        }

        FileStream stream;
        try
        {
            // No FileStream buffer (the response copies in 64 KiB blocks), async reads, read-ahead hinted:
            // what ASP.NET's own file serving opens, so handing out the stream costs nothing extra.
            stream = new FileStream(PathFor(key), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 0,
                FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return Task.FromResult<BlobContent?>(null);
        }

        // Validators from the open handle, so they describe exactly the bytes this stream reads.
        var length = stream.Length;
        var modified = new DateTimeOffset(File.GetLastWriteTimeUtc(stream.SafeFileHandle), TimeSpan.Zero);
        return Task.FromResult<BlobContent?>(new BlobContent(stream, length, BlobKeys.ContentType(key), modified, EntityTag(length, modified)));
    }

    public async Task WriteAsync(string key, Stream content, CancellationToken cancellationToken)
    {
        BlobKeys.EnsureWellFormed(key);
        var target = PathFor(key);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);

        // Written beside the target, then renamed over it: a reader never opens half a blob.
        var partial = string.Concat(target, ".", Guid.NewGuid().ToString("N"), ".partial");
        try
        {
            await using (var file = new FileStream(partial, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true))
            {
                await content.CopyToAsync(file, cancellationToken);
            }

            File.Move(partial, target, overwrite: true);
        }
        catch (Exception e)
        {
            File.Delete(partial);
            if (e is IOException io && IsDiskFailure(io))
            {
                throw Unavailable(io);
            }

            // Anything else, a source that failed midway above all, fails with its own error.
            throw;
        }
    }

    public Task PutFileAsync(string key, string sourcePath, CancellationToken cancellationToken)
    {
        BlobKeys.EnsureWellFormed(key);
        var target = PathFor(key);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        // Same filesystem (both under the data dir): a rename, atomic and free.
        try
        {
            File.Move(sourcePath, target, overwrite: true);
        }
        catch (IOException e) when (IsDiskFailure(e))
        {
            throw Unavailable(e);
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Whether the disk itself failed the write: on Unix an IOException from the filesystem carries its errno
    /// (EIO 5, ENOSPC 28, EROFS 30, EDQUOT 122); one from elsewhere (a source stream) does not.
    /// </summary>
    private static bool IsDiskFailure(IOException e) => e.HResult is 5 or 28 or 30 or 122;

    /// <summary>A disk that cannot take a blob now (full, failing, read-only) is an outage, as every store says one: not the task's fault.</summary>
    private static StoreUnavailableException Unavailable(IOException e) =>
        new(e.HResult switch { 28 or 122 => StoreUnavailableReason.Full, 30 => StoreUnavailableReason.ReadOnly, _ => StoreUnavailableReason.IoError },
            $"the data directory cannot take the file ({e.Message})", TimeSpan.FromSeconds(5), e);

    public Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        if (BlobKeys.IsWellFormed(key))
        {
            File.Delete(PathFor(key));
        }

        return Task.CompletedTask;
    }

    public string GetReadUrl(string key, TimeSpan lifetime, HttpRequest request) => urls.For(key, lifetime, request);

    private string PathFor(string key) => Path.Combine(data.Files, key);

    /// <summary>Size and modification time, as nginx tags static files: a blob is written once, so these change only with its bytes.</summary>
    private static string EntityTag(long length, DateTimeOffset modified) =>
        string.Create(CultureInfo.InvariantCulture, $"\"{modified.UtcTicks:x}-{length:x}\"");
}
