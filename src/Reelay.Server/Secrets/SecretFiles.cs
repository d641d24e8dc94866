namespace Reelay.Secrets;

/// <summary>
/// Small files that hold a secret (the generated admin key, the sealed file-signing keys): written
/// whole — a temporary file renamed into place, so a reader never sees half of one — owner-only
/// (0600), and made owner-only again when found open to others (after a restore or a copy).
/// </summary>
public static class SecretFiles
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>
    /// The file's trimmed text; when absent, <paramref name="generate"/>'s value is written first. Two
    /// processes starting at once agree on one value: the second to write keeps the first's.
    /// </summary>
    public static string ReadOrCreate(string path, Func<string> generate)
    {
        if (Read(path) is { } existing)
        {
            return existing;
        }

        TryCreate(path, generate());
        return Read(path) ?? throw new IOException($"{path} disappeared right after it was written.");
    }

    /// <summary>The file's trimmed text, or null when there is no file.</summary>
    public static string? Read(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        RestrictToOwner(path);
        return File.ReadAllText(path).Trim();
    }

    /// <summary>Writes the file unless it exists; false when another writer got there first.</summary>
    public static bool TryCreate(string path, string content) => Write(path, content, overwrite: false);

    /// <summary>Writes the file, replacing what was there in one step.</summary>
    public static void Replace(string path, string content) => Write(path, content, overwrite: true);

    private static bool Write(string path, string content, bool overwrite)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, "." + Path.GetFileName(path) + "." + Guid.NewGuid().ToString("N") + ".tmp");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = OwnerOnly;
            }

            using (var writer = new StreamWriter(temporary, options))
            {
                writer.Write(content);
                writer.Write('\n');
                writer.Flush();
                ((FileStream)writer.BaseStream).Flush(flushToDisk: true);
            }

            if (overwrite)
            {
                File.Move(temporary, path, overwrite: true);
                return true;
            }

            try
            {
                File.Move(temporary, path, overwrite: false);
                return true;
            }
            catch (IOException) when (File.Exists(path))
            {
                return false;
            }
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private static void RestrictToOwner(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var mode = File.GetUnixFileMode(path);
        if ((mode & ~OwnerOnly) != 0)
        {
            try
            {
                File.SetUnixFileMode(path, mode & OwnerOnly);
            }
            catch (UnauthorizedAccessException)
            {
                // Not this process's file (a read-only mount): it still reads it; the operator owns the mode.
            }
        }
    }
}
