using Reelay.Storage;

namespace Reelay.Billing;

/// <summary>Loads run-time prices at start and picks up other instances' changes every few seconds.</summary>
public sealed partial class PriceReloader(PriceList prices, TimeProvider time, ILogger<PriceReloader> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Before the first request: a create must never be priced by the configuration alone when the operator set a price.
        await prices.ReloadAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var outage = new StoreOutage();
        try
        {
            while (true)
            {
                await Task.Delay(outage.Wait > Interval ? outage.Wait : Interval, time, stoppingToken);
                try
                {
                    await prices.ReloadAsync(stoppingToken);
                    _ = outage.Succeeded();
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    if (outage.Failed())
                    {
                        LogReloadFailed(logger, e);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reloading prices from the database failed; the prices loaded before stay in force, and it is tried again with backoff")]
    private static partial void LogReloadFailed(ILogger logger, Exception exception);
}
