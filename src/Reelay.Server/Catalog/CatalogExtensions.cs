using Microsoft.Extensions.Options;
using Reelay.Storage;

namespace Reelay.Catalog;

public static class CatalogExtensions
{
    /// <summary>The public model catalog from the <c>Catalog</c> section, checked at startup, with the entries set through the admin API. The catalog store comes from a storage backend.</summary>
    public static IServiceCollection AddCatalog(this IServiceCollection services)
    {
        services.AddOptions<CatalogOptions>().BindConfiguration("Catalog").ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CatalogOptions>, CatalogOptionsValidator>());
        services.TryAddSingleton<ModelCatalog>();
        services.TryAddSingleton<IStoredConfigurationChanges, SingleInstanceConfigurationChanges>();
        services.AddHostedService<CatalogReloader>();
        return services;
    }
}
