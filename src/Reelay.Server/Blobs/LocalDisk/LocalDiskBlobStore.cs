using Reelay.Hosting;

namespace Reelay.Blobs.LocalDisk;

/// <summary>Blobs as files under <c>&lt;data&gt;/files</c>.</summary>
public sealed class LocalDiskBlobStore(DataDirectory data) : IBlobStore
{
    public Task PutFileAsync(string key, string sourcePath, CancellationToken cancellationToken)
    {
        var target = PathFor(key);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        // Same filesystem (both under the data dir): a rename, atomic and free.
        File.Move(sourcePath, target, overwrite: true);
        return Task.CompletedTask;
    }

    public string? LocalPath(string key)
    {
        if (!BlobKeys.IsWellFormed(key))
        {
            return null;
        }

        var path = PathFor(key);
        return File.Exists(path) ? path : null;
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        if (BlobKeys.IsWellFormed(key))
        {
            File.Delete(PathFor(key));
        }

        return Task.CompletedTask;
    }

    private string PathFor(string key) => Path.Combine(data.Files, key);
}
