using Reelay.Storage;

namespace Reelay.Catalog;

/// <summary>Loads the catalog entries set at run time at start (before the first request) and puts other instances' changes in force as they are published.</summary>
public sealed class CatalogReloader(ModelCatalog catalog, IStoredConfigurationChanges changes, TimeProvider time, ILogger<CatalogReloader> logger) : StoreReloader(StoredConfiguration.Catalog, changes, time, logger)
{
    protected override Task ReloadAsync(CancellationToken cancellationToken) => catalog.ReloadAsync(cancellationToken);
}
