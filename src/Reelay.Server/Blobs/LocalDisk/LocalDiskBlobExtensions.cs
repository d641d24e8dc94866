using Microsoft.Extensions.Options;
using Reelay.Health;
using Reelay.Secrets;

namespace Reelay.Blobs.LocalDisk;

public static class LocalDiskBlobExtensions
{
    /// <summary>The <c>Blobs:Provider</c> value of the local disk store.</summary>
    public const string ProviderName = "local";

    /// <summary>
    /// The embedded default: videos and thumbnails as files under <c>&lt;data&gt;/files</c>, read through
    /// signed <c>/files/</c> links (the signing keys generated on first start when not set, and kept encrypted).
    /// </summary>
    public static IServiceCollection AddLocalDiskBlobs(this IServiceCollection services)
    {
        services.AddFileLinks();
        services.TryAddSingleton<IBlobStore, LocalDiskBlobStore>();
        services.AddHealthChecks().AddCheck<LocalDiskHealthCheck>("files", tags: [HealthExtensions.ReadyTag]);
        return services;
    }

    /// <summary>
    /// Signed <c>/files/</c> links, their options (<c>FILE_URL_TTL</c>, <c>PUBLIC_URL</c>…) and signing keys:
    /// the local store's read URLs, and what the <c>/files/</c> route and key rotation need under any store.
    /// </summary>
    public static IServiceCollection AddFileLinks(this IServiceCollection services)
    {
        services.AddOptions<FileLinkOptions>().Configure<IConfiguration>((options, configuration) => configuration.Bind(options)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FileLinkOptions>, FileLinkOptionsValidator>());
        services.TryAddSingleton<FileSigningKeys>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ISecretHolder, FileSigningKeys>(sp => sp.GetRequiredService<FileSigningKeys>()));
        services.TryAddSingleton<FileUrls>();
        return services;
    }
}
