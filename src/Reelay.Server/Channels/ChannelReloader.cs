using Reelay.Storage;

namespace Reelay.Channels;

/// <summary>Loads admin-created channels at start and picks up other instances' changes every few seconds.</summary>
public sealed partial class ChannelReloader(ChannelRegistry registry, TimeProvider time, ILogger<ChannelReloader> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Loaded before the workers start, so the first dispatch already knows every channel.
        await registry.ReloadAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var outage = new StoreOutage();
        try
        {
            while (true)
            {
                // After a failure the wait doubles (never below the interval): the channels in memory stay in use meanwhile.
                await Task.Delay(outage.Wait > Interval ? outage.Wait : Interval, time, stoppingToken);
                try
                {
                    await registry.ReloadAsync(stoppingToken);
                    if (outage.Succeeded())
                    {
                        LogReloadRecovered(logger);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    if (outage.Failed())
                    {
                        if (e is StoreUnavailableException unavailable)
                        {
                            LogReloadPaused(logger, unavailable.Message);
                        }
                        else
                        {
                            LogReloadFailed(logger, e);
                        }
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Reloading channels from the database failed; the channels loaded before stay in use, and it is tried again with backoff")]
    private static partial void LogReloadFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reloading channels from the database pauses: {Reason}. The channels loaded before stay in use; it is tried again with backoff")]
    private static partial void LogReloadPaused(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reloading channels from the database succeeds again")]
    private static partial void LogReloadRecovered(ILogger logger);
}
