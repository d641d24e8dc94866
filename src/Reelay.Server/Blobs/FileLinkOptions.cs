using Microsoft.Extensions.Options;

namespace Reelay.Blobs;

/// <summary>How links to stored files are made and how long they last; read from <c>REELAY_PUBLIC_URL</c>, <c>REELAY_SIGNING_KEY</c>, <c>REELAY_SIGNING_KEY_PREVIOUS</c>, <c>REELAY_FILE_URL_TTL</c>.</summary>
public sealed class FileLinkOptions
{
    /// <summary>Base of the absolute URLs handed out (video and thumbnail links). Default: the request's own scheme and host.</summary>
    [Microsoft.Extensions.Configuration.ConfigurationKeyName("PUBLIC_URL")]
    public string? PublicUrl { get; set; }

    /// <summary>
    /// Key that signs file URLs. When empty, one is generated on first start and kept encrypted in
    /// <c>&lt;data&gt;/signing-keys</c> (rotated by <c>POST /admin/secrets/rotate</c>).
    /// </summary>
    [Microsoft.Extensions.Configuration.ConfigurationKeyName("SIGNING_KEY")]
    public string? SigningKey { get; set; }

    /// <summary>
    /// The signing key before the current <see cref="SigningKey"/>: links it signed still verify while it
    /// is set. Set it when changing <c>SIGNING_KEY</c>, and remove it once <c>FILE_URL_TTL</c> has passed.
    /// </summary>
    [Microsoft.Extensions.Configuration.ConfigurationKeyName("SIGNING_KEY_PREVIOUS")]
    public string? SigningKeyPrevious { get; set; }

    /// <summary>How long a signed video or thumbnail URL stays valid.</summary>
    [Microsoft.Extensions.Configuration.ConfigurationKeyName("FILE_URL_TTL")]
    public TimeSpan FileUrlTtl { get; set; } = TimeSpan.FromHours(24);
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

        if (string.IsNullOrWhiteSpace(options.SigningKey) && !string.IsNullOrWhiteSpace(options.SigningKeyPrevious))
        {
            builder.AddError("applies only beside SIGNING_KEY; a generated signing key is rotated with POST /admin/secrets/rotate", "SIGNING_KEY_PREVIOUS");
        }

        if (options.FileUrlTtl <= TimeSpan.Zero)
        {
            builder.AddError("must be positive", "FILE_URL_TTL");
        }

        return builder.Build();
    }
}
