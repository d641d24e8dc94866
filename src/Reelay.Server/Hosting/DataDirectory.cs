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
}

/// <summary>Where Reelay keeps its data; read from <c>REELAY_DATA_DIR</c> or <c>DATA_DIR</c> in appsettings.json.</summary>
public sealed class DataDirectoryOptions
{
    /// <summary>Where the SQLite database, videos, thumbnails and generated secrets live (relative to the working directory).</summary>
    [Microsoft.Extensions.Configuration.ConfigurationKeyName("DATA_DIR")]
    public string DataDir { get; set; } = "./data";
}
