using Microsoft.Extensions.Options;

namespace Reelay.Blobs;

/// <summary>Which blob store keeps videos, thumbnails and inline request images (section <c>Blobs</c>).</summary>
public sealed class BlobOptions
{
    /// <summary>The providers <see cref="Provider"/> may name.</summary>
    public static readonly IReadOnlyList<string> Providers = [LocalDisk.LocalDiskBlobExtensions.ProviderName, S3.S3BlobExtensions.ProviderName];

    /// <summary><c>local</c> (the default: files under <c>&lt;data&gt;/files</c>) or <c>s3</c> (any S3-compatible object store, <c>Blobs:S3</c>).</summary>
    public string Provider { get; set; } = LocalDisk.LocalDiskBlobExtensions.ProviderName;
}

/// <summary>An unknown provider stops startup, naming the ones there are.</summary>
internal sealed class BlobOptionsValidator : IValidateOptions<BlobOptions>
{
    public ValidateOptionsResult Validate(string? name, BlobOptions options) =>
        BlobOptions.Providers.Contains(options.Provider, StringComparer.OrdinalIgnoreCase)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"Blobs:Provider '{options.Provider}' is not one of {string.Join(", ", BlobOptions.Providers)}.");
}
