using Reelay.Storage;

namespace Reelay.Catalog;

/// <summary>Loads the catalog entries set at run time at start (before the first request) and picks up other instances' changes.</summary>
public sealed class CatalogReloader(ModelCatalog catalog, TimeProvider time, ILogger<CatalogReloader> logger) : StoreReloader("catalog entries", time, logger)
{
    protected override Task ReloadAsync(CancellationToken cancellationToken) => catalog.ReloadAsync(cancellationToken);
}
