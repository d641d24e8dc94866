using Microsoft.Extensions.Options;
using Reelay.Blobs.LocalDisk;
using Reelay.Blobs.S3;

namespace Reelay.Blobs;

public static class BlobExtensions
{
    /// <summary>
    /// The blob store <c>Blobs:Provider</c> names: the local disk by default, or an S3-compatible
    /// object store. Signed <c>/files/</c> links are registered either way: the route, key rotation
    /// and links already handed out by a local store need them.
    /// </summary>
    public static IServiceCollection AddBlobs(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<BlobOptions>().BindConfiguration("Blobs").ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BlobOptions>, BlobOptionsValidator>());

        // An unknown name falls through to the local disk here; the validator above stops startup before anything is stored.
        return string.Equals(configuration["Blobs:Provider"], S3BlobExtensions.ProviderName, StringComparison.OrdinalIgnoreCase)
            ? services.AddS3Blobs()
            : services.AddLocalDiskBlobs();
    }
}
