using Reelay.Api.Files;

namespace Reelay.Blobs.LocalDisk;

public static class LocalDiskBlobExtensions
{
    /// <summary>Videos and thumbnails as files in the data directory, served by the signed <c>/files/</c> endpoint.</summary>
    public static IServiceCollection AddLocalDiskBlobs(this IServiceCollection services)
    {
        services.TryAddSingleton<FileUrls>();
        services.TryAddSingleton<IBlobStore, LocalDiskBlobStore>();
        return services;
    }
}
