namespace Reelay.Testing;

/// <summary>
/// A small filesystem of its own (a size-limited tmpfs) for one test, so the test can fill it up;
/// unmounted on dispose. Mounting needs root on Linux, as CI has.
/// </summary>
public sealed class SmallDisk : IDisposable
{
    private SmallDisk(string path) => Path = path;

    public string Path { get; }

    /// <summary>Mounts a tmpfs of <paramref name="bytes"/>; null, with the reason, where this machine cannot.</summary>
    public static SmallDisk? TryMount(long bytes, out string reason)
    {
        if (!OperatingSystem.IsLinux())
        {
            reason = "a size-limited tmpfs needs Linux";
            return null;
        }

        if (!Environment.IsPrivilegedProcess)
        {
            reason = "mounting a size-limited tmpfs needs root; run the tests as root (CI does) to cover a full disk";
            return null;
        }

        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "reelay-disk-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        var (status, output) = Run("mount", "-t", "tmpfs", "-o", $"size={bytes}", "reelay-test", path);
        if (status != 0)
        {
            Directory.Delete(path);
            reason = $"mount -t tmpfs failed ({status}): {output.Trim()}";
            return null;
        }

        reason = "";
        return new SmallDisk(path);
    }

    /// <summary>Writes <paramref name="fileName"/> until the filesystem has no room left; returns its path.</summary>
    public string Fill(string fileName)
    {
        var path = System.IO.Path.Combine(Path, fileName);
        var chunk = new byte[4096];
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1);
        try
        {
            while (true)
            {
                file.Write(chunk);
            }
        }
        catch (IOException)
        {
            // ENOSPC: full.
        }

        return path;
    }

    public void Dispose()
    {
        // Lazy: a file a dying process still holds open must not leave the mount behind.
        Run("umount", "-l", Path);
        try
        {
            Directory.Delete(Path);
        }
        catch (IOException)
        {
        }
    }

    private static (int Status, string Output) Run(string program, params string[] arguments)
    {
        // Dispose cannot await; mount and umount return at once.
        var result = ChildProcess.RunAsync(program, arguments, CancellationToken.None).GetAwaiter().GetResult();
        return (result.ExitCode, result.Output);
    }
}
