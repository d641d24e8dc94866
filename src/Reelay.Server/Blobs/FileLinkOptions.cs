using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Reelay.Hosting;

namespace Reelay.Blobs;

/// <summary>How links to stored files are made and how long they last; read from <c>REELAY_PUBLIC_URL</c>, <c>REELAY_SIGNING_KEY</c>, <c>REELAY_FILE_URL_TTL</c>.</summary>
public sealed class FileLinkOptions
{
    /// <summary>Base of the absolute URLs handed out (video and thumbnail links). Default: the request's own scheme and host.</summary>
    [Microsoft.Extensions.Configuration.ConfigurationKeyName("PUBLIC_URL")]
    public string? PublicUrl { get; set; }

    /// <summary>Key that signs file URLs. When empty, one is generated on first start and kept in <c>&lt;data&gt;/signing-key</c>.</summary>
    [Microsoft.Extensions.Configuration.ConfigurationKeyName("SIGNING_KEY")]
    public string? SigningKey { get; set; }

    /// <summary>How long a signed video or thumbnail URL stays valid.</summary>
    [Microsoft.Extensions.Configuration.ConfigurationKeyName("FILE_URL_TTL")]
    public TimeSpan FileUrlTtl { get; set; } = TimeSpan.FromHours(24);
}

/// <summary>Fills in the generated signing key, so every instance sharing the data directory signs alike.</summary>
internal sealed class GeneratedSigningKey(DataDirectory data) : IPostConfigureOptions<FileLinkOptions>
{
    public void PostConfigure(string? name, FileLinkOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.SigningKey))
        {
            options.SigningKey = data.ReadOrCreateSecret("signing-key", () => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)));
        }
    }
}

/// <summary>A base URL that is not absolute http(s), or a TTL that is not positive, stops startup.</summary>
internal sealed class FileLinkOptionsValidator : IValidateOptions<FileLinkOptions>
{
    public ValidateOptionsResult Validate(string? name, FileLinkOptions options)
    {
        var builder = new ValidateOptionsResultBuilder();
        if (!string.IsNullOrWhiteSpace(options.PublicUrl)
            && (!Uri.TryCreate(options.PublicUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)))
        {
            builder.AddError($"'{options.PublicUrl}' is not an absolute http(s) URL", "PUBLIC_URL");
        }

        if (options.FileUrlTtl <= TimeSpan.Zero)
        {
            builder.AddError("must be positive", "FILE_URL_TTL");
        }

        return builder.Build();
    }
}
