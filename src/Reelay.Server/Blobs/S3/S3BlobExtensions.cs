using Microsoft.Extensions.Options;
using Reelay.Blobs.LocalDisk;
using Reelay.Health;

namespace Reelay.Blobs.S3;

public static class S3BlobExtensions
{
    /// <summary>The <c>Blobs:Provider</c> value of the S3-compatible store.</summary>
    public const string ProviderName = "s3";

    /// <summary>
    /// Videos, thumbnails and request images as objects in an S3-compatible bucket (<c>Blobs:S3</c>), handed out
    /// as presigned GET URLs; the bucket's readiness check; and, with <c>CreateBucket</c>, the bucket made at startup.
    /// </summary>
    public static IServiceCollection AddS3Blobs(this IServiceCollection services)
    {
        services.AddOptions<S3BlobOptions>().BindConfiguration("Blobs:S3").ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<S3BlobOptions>, S3BlobOptionsValidator>());
        services.AddFileLinks();
        // One lifetime for every link and expires_at: the presigned one, when set, replaces FILE_URL_TTL.
        services.AddOptions<FileLinkOptions>().PostConfigure<IConfiguration>((links, configuration) =>
        {
            if (configuration.GetSection("Blobs:S3").Get<S3BlobOptions>()?.PresignedUrlLifetime is { } lifetime)
            {
                links.FileUrlTtl = lifetime;
            }
        });
        services.TryAddSingleton<S3BlobStore>();
        services.TryAddSingleton<IBlobStore>(sp => sp.GetRequiredService<S3BlobStore>());
        services.AddHealthChecks().AddCheck<S3HealthCheck>("blobs-s3", tags: [HealthExtensions.ReadyTag]);
        services.AddHostedService<S3StartupCheck>();
        return services;
    }
}
