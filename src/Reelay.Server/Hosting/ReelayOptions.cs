using Microsoft.Extensions.Configuration;

namespace Reelay.Hosting;

/// <summary>
/// Top-level settings. Each is read from <c>appsettings.json</c> under the name in its
/// <see cref="ConfigurationKeyNameAttribute"/> or from the environment as <c>REELAY_&lt;name&gt;</c>.
/// </summary>
public sealed class ReelayOptions
{
    /// <summary>Where the SQLite database, videos, thumbnails and generated secrets live.</summary>
    [ConfigurationKeyName("DATA_DIR")]
    public string DataDir { get; set; } = "./data";

    /// <summary>The admin key. When empty, one is generated on first start and written to <c>&lt;data&gt;/admin-key</c>.</summary>
    [ConfigurationKeyName("ADMIN_KEY")]
    public string? AdminKey { get; set; }

    /// <summary>Base of the absolute URLs handed out (video and thumbnail links). Default: the request's own scheme and host.</summary>
    [ConfigurationKeyName("PUBLIC_URL")]
    public string? PublicUrl { get; set; }

    /// <summary>
    /// Comma-separated CIDRs (or the word <c>loopback</c>) that image and callback fetches may reach even
    /// though they are private; everything loopback, private, link-local or metadata is refused otherwise.
    /// </summary>
    [ConfigurationKeyName("ALLOW_PRIVATE_NETWORKS")]
    public string? AllowPrivateNetworks { get; set; }

    /// <summary>Key that signs file URLs. When empty, one is generated on first start and kept in <c>&lt;data&gt;/signing-key</c>.</summary>
    [ConfigurationKeyName("SIGNING_KEY")]
    public string? SigningKey { get; set; }

    /// <summary>How long a signed video or thumbnail URL stays valid.</summary>
    [ConfigurationKeyName("FILE_URL_TTL")]
    public TimeSpan FileUrlTtl { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Full path of the data directory.</summary>
    public string DataPath => Path.GetFullPath(DataDir);
}

/// <summary>Limits on client input.</summary>
public sealed class LimitsOptions
{
    /// <summary>Largest create body accepted (JSON with data-URI images, or multipart).</summary>
    public long MaxCreateBodyBytes { get; set; } = 48 * 1024 * 1024;

    /// <summary>Longest prompt, in characters.</summary>
    public int MaxPromptChars { get; set; } = 8000;

    /// <summary>Longest negative prompt, in characters.</summary>
    public int MaxNegativePromptChars { get; set; } = 2000;

    /// <summary>Longest image or callback URL, in characters.</summary>
    public int MaxUrlChars { get; set; } = 4096;

    /// <summary>Largest reference image, decoded.</summary>
    public int MaxImageBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Largest image side in pixels.</summary>
    public int MaxImageSide { get; set; } = 8192;

    /// <summary>How long one reference image download may take.</summary>
    public TimeSpan ImageDownloadTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Largest finished video Reelay stores.</summary>
    public long MaxVideoBytes { get; set; } = 1024L * 1024 * 1024;

    /// <summary>
    /// Connections open at once (0: unlimited); Kestrel closes one more at once, before reading it. Generous:
    /// idle keep-alive connections and video downloads each hold one, and HTTP/2 streams share theirs.
    /// </summary>
    public long MaxConcurrentConnections { get; set; } = 10_000;
}
