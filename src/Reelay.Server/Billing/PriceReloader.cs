using Reelay.Storage;

namespace Reelay.Billing;

/// <summary>Loads run-time prices at start (a create is never priced by the configuration alone when the operator set a price) and picks up other instances' changes.</summary>
public sealed class PriceReloader(PriceList prices, TimeProvider time, ILogger<PriceReloader> logger) : StoreReloader("prices", time, logger)
{
    protected override Task ReloadAsync(CancellationToken cancellationToken) => prices.ReloadAsync(cancellationToken);
}
