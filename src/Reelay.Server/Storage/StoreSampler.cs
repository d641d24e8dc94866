namespace Reelay.Storage;

/// <summary>
/// Keeps a gauge's reading of the store fresh: reads it at start and every few seconds after, so a scrape
/// never waits on the database and many scrapes cost one query. A failing store leaves the last sample in
/// place and is tried again with backoff; one log line per outage.
/// </summary>
/// <param name="what">What is sampled, for the log (<c>task census</c>, <c>webhook backlog</c>).</param>
public abstract partial class StoreSampler(string what, TimeProvider time, ILogger logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    /// <summary>Reads the store and keeps the result for the gauges.</summary>
    protected abstract Task SampleAsync(CancellationToken cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var outage = new StoreOutage();
        try
        {
            while (true)
            {
                try
                {
                    await SampleAsync(stoppingToken);
                    _ = outage.Succeeded();
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    if (outage.Failed())
                    {
                        LogSampleFailed(logger, what, e);
                    }
                }

                await Task.Delay(outage.Wait > Interval ? outage.Wait : Interval, time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sampling the {What} for metrics failed; the gauges keep the last sample, and it is tried again with backoff")]
    private static partial void LogSampleFailed(ILogger logger, string what, Exception exception);
}
