using System.Security.Cryptography;
using Microsoft.Extensions.Options;

namespace Reelay.Hosting;

/// <summary>The data directory's layout, created on first use.</summary>
public sealed class DataDirectory
{
    public DataDirectory(IOptions<ReelayOptions> options)
    {
        Root = options.Value.DataPath;
        Directory.CreateDirectory(Root);
        Directory.CreateDirectory(Files);
        Directory.CreateDirectory(Work);
    }

    public string Root { get; }

    /// <summary>The SQLite database file.</summary>
    public string Database => Path.Combine(Root, "reelay.db");

    /// <summary>Stored videos and thumbnails.</summary>
    public string Files => Path.Combine(Root, "files");

    /// <summary>Scratch space: local renders, downloads being checked.</summary>
    public string Work => Path.Combine(Root, "work");

    /// <summary>
    /// Reads a secret kept in the data directory, creating it (mode 0600) when absent. Creation uses
    /// CreateNew so two instances starting at once agree on one value.
    /// </summary>
    public string ReadOrCreateSecret(string fileName, Func<string> generate)
    {
        var path = Path.Combine(Root, fileName);
        if (!File.Exists(path))
        {
            try
            {
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                }

                using var writer = new StreamWriter(path, options);
                writer.Write(generate());
                writer.Write('\n');
            }
            catch (IOException) when (File.Exists(path))
            {
                // Another process created it first: use theirs.
            }
        }

        return File.ReadAllText(path).Trim();
    }

    /// <summary>A random URL-safe secret of the given number of bytes.</summary>
    public static string NewSecret(int bytes = 32) => Base62.Encode(RandomNumberGenerator.GetBytes(bytes));
}
