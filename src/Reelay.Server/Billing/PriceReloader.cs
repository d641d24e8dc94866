using Reelay.Storage;

namespace Reelay.Billing;

/// <summary>Loads run-time prices at start (a create is never priced by the configuration alone when the operator set a price) and puts other instances' changes in force as they are published.</summary>
public sealed class PriceReloader(PriceList prices, IStoredConfigurationChanges changes, TimeProvider time, ILogger<PriceReloader> logger) : StoreReloader(StoredConfiguration.Prices, changes, time, logger)
{
    protected override Task ReloadAsync(CancellationToken cancellationToken) => prices.ReloadAsync(cancellationToken);
}
