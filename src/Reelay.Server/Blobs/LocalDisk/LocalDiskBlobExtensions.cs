using Reelay.Health;

namespace Reelay.Blobs.LocalDisk;

public static class LocalDiskBlobExtensions
{
    /// <summary>The embedded default: videos and thumbnails as files under <c>&lt;data&gt;/files</c>.</summary>
    public static IServiceCollection AddLocalDiskBlobs(this IServiceCollection services)
    {
        services.TryAddSingleton<IBlobStore, LocalDiskBlobStore>();
        services.AddHealthChecks().AddCheck<LocalDiskHealthCheck>("files", tags: [HealthExtensions.ReadyTag]);
        return services;
    }
}
