using Microsoft.Extensions.Options;

namespace Reelay.Blobs.S3;

/// <summary>
/// The S3-compatible object store (section <c>Blobs:S3</c>, read when <c>Blobs:Provider</c> is <c>s3</c>):
/// AWS itself, or any server speaking its API (MinIO, Ceph, Garage, R2…) at <see cref="ServiceUrl"/>.
/// </summary>
public sealed class S3BlobOptions
{
    /// <summary>Endpoint of an S3-compatible server, e.g. <c>http://127.0.0.1:9000</c>. Unset: AWS S3 in <see cref="Region"/>.</summary>
    public string? ServiceUrl { get; set; }

    /// <summary>
    /// The store's address as clients reach it, when that is not <see cref="ServiceUrl"/> (Reelay uploads to
    /// <c>http://s3:9000</c> inside a container network; browsers download from <c>https://videos.example.com</c>).
    /// Presigned links are signed for this host, since a SigV4 signature covers the host name. Unset: <see cref="ServiceUrl"/>.
    /// </summary>
    public string? PublicUrl { get; set; }

    /// <summary>The bucket that holds every blob (required).</summary>
    public string? Bucket { get; set; }

    /// <summary>The region requests are signed for; most S3-compatible servers accept the default.</summary>
    public string Region { get; set; } = "us-east-1";

    /// <summary>Access key id. Unset together with <see cref="SecretKey"/>: the AWS SDK's own credential chain (environment, instance role).</summary>
    public string? AccessKey { get; set; }

    /// <summary>Secret access key: only ever used to sign requests, never logged or answered.</summary>
    public string? SecretKey { get; set; }

    /// <summary>
    /// Path-style addressing (<c>{endpoint}/{bucket}/{key}</c>) rather than a host name per bucket. Unset:
    /// on for a <see cref="ServiceUrl"/> (servers on an IP or one host name have no per-bucket DNS), off for AWS.
    /// </summary>
    public bool? ForcePathStyle { get; set; }

    /// <summary>
    /// How long a presigned <c>video_url</c> or <c>thumbnail_url</c> lasts. Unset: <c>FILE_URL_TTL</c>; when set,
    /// it takes <c>FILE_URL_TTL</c>'s place everywhere (link lifetimes, <c>expires_at</c>). At most 7 days less
    /// <see cref="S3BlobStore.SigningMargin"/>: SigV4 presigned URLs last at most 7 days.
    /// </summary>
    public TimeSpan? PresignedUrlLifetime { get; set; }

    /// <summary>Create the bucket at startup (and when readiness finds it missing) instead of reporting it missing.</summary>
    public bool CreateBucket { get; set; }

    /// <summary>Path-style unless configured otherwise; see <see cref="ForcePathStyle"/>.</summary>
    internal bool PathStyle => ForcePathStyle ?? !string.IsNullOrWhiteSpace(ServiceUrl);
}

/// <summary>Settings that could not work stop startup, each message naming its setting (never a secret's value).</summary>
internal sealed class S3BlobOptionsValidator(IConfiguration configuration) : IValidateOptions<S3BlobOptions>
{
    /// <summary>SigV4's limit on a presigned URL's lifetime.</summary>
    private static readonly TimeSpan MaxPresignedLifetime = TimeSpan.FromDays(7);

    public ValidateOptionsResult Validate(string? name, S3BlobOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Bucket))
        {
            errors.Add("Blobs:S3:Bucket is required with Blobs:Provider s3.");
        }
        else if (!IsBucketName(options.Bucket))
        {
            errors.Add($"Blobs:S3:Bucket '{options.Bucket}' is not a bucket name: 3 to 63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit.");
        }

        if (!string.IsNullOrWhiteSpace(options.ServiceUrl)
            && (!Uri.TryCreate(options.ServiceUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)))
        {
            errors.Add($"Blobs:S3:ServiceUrl '{options.ServiceUrl}' is not an absolute http(s) URL.");
        }

        if (!string.IsNullOrWhiteSpace(options.PublicUrl)
            && (!Uri.TryCreate(options.PublicUrl, UriKind.Absolute, out var publicUri) || (publicUri.Scheme != Uri.UriSchemeHttp && publicUri.Scheme != Uri.UriSchemeHttps)))
        {
            errors.Add($"Blobs:S3:PublicUrl '{options.PublicUrl}' is not an absolute http(s) URL (the store's address as clients reach it).");
        }

        if (string.IsNullOrWhiteSpace(options.Region))
        {
            errors.Add("Blobs:S3:Region must not be empty (S3-compatible servers usually take us-east-1).");
        }

        if (string.IsNullOrWhiteSpace(options.AccessKey) != string.IsNullOrWhiteSpace(options.SecretKey))
        {
            errors.Add(string.IsNullOrWhiteSpace(options.SecretKey)
                ? "Blobs:S3:SecretKey is required with Blobs:S3:AccessKey."
                : "Blobs:S3:AccessKey is required with Blobs:S3:SecretKey.");
        }

        // Read from configuration, not IOptions<FileLinkOptions>: those are post-configured from these options.
        var links = new FileLinkOptions();
        configuration.Bind(links);
        var lifetime = options.PresignedUrlLifetime ?? links.FileUrlTtl;
        var setting = options.PresignedUrlLifetime is null ? "FILE_URL_TTL" : "Blobs:S3:PresignedUrlLifetime";
        if (lifetime <= TimeSpan.Zero)
        {
            errors.Add($"{setting} must be positive.");
        }
        else if (lifetime > MaxPresignedLifetime - S3BlobStore.SigningMargin)
        {
            errors.Add($"{setting} {lifetime} is too long for presigned S3 links: at most 7 days less {S3BlobStore.SigningMargin.TotalMinutes:0} minutes (SigV4's limit, less what Reelay signs beyond it).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>The S3 naming rules that every S3-compatible server shares.</summary>
    private static bool IsBucketName(string name) =>
        name.Length is >= 3 and <= 63
        && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '-')
        && char.IsAsciiLetterOrDigit(name[0]) && char.IsAsciiLetterOrDigit(name[^1])
        && !name.Contains("..", StringComparison.Ordinal);
}
