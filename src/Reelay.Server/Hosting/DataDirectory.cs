using Microsoft.Extensions.Options;

namespace Reelay.Hosting;

/// <summary>The data directory's layout, created on first use.</summary>
public sealed class DataDirectory
{
    public DataDirectory(IOptions<DataDirectoryOptions> options)
    {
        Root = Path.GetFullPath(options.Value.DataDir);
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
}

/// <summary>Where Reelay keeps its data; read from <c>REELAY_DATA_DIR</c> or <c>DATA_DIR</c> in appsettings.json.</summary>
public sealed class DataDirectoryOptions
{
    /// <summary>Where the SQLite database, videos, thumbnails and generated secrets live (relative to the working directory).</summary>
    [Microsoft.Extensions.Configuration.ConfigurationKeyName("DATA_DIR")]
    public string DataDir { get; set; } = "./data";
}
