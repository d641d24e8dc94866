using Microsoft.Extensions.Options;
using Reelay.Health;
using Reelay.Secrets;

namespace Reelay.Blobs.LocalDisk;

public static class LocalDiskBlobExtensions
{
    /// <summary>
    /// The embedded default: videos and thumbnails as files under <c>&lt;data&gt;/files</c>, read through
    /// signed <c>/files/</c> links (the signing keys generated on first start when not set, and kept encrypted).
    /// </summary>
    public static IServiceCollection AddLocalDiskBlobs(this IServiceCollection services)
    {
        services.AddOptions<FileLinkOptions>().Configure<IConfiguration>((options, configuration) => configuration.Bind(options)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FileLinkOptions>, FileLinkOptionsValidator>());
        services.TryAddSingleton<FileSigningKeys>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ISecretHolder, FileSigningKeys>(sp => sp.GetRequiredService<FileSigningKeys>()));
        services.TryAddSingleton<FileUrls>();
        services.TryAddSingleton<IBlobStore, LocalDiskBlobStore>();
        services.AddHealthChecks().AddCheck<LocalDiskHealthCheck>("files", tags: [HealthExtensions.ReadyTag]);
        return services;
    }
}
