namespace Reelay.Storage;

/// <summary>
/// Keeps something read from the database current: loads it before the host starts its workers, then
/// every few seconds picks up what other instances changed. While the store fails, what was loaded
/// before stays in use and the wait doubles (never below the interval); one log line per outage.
/// </summary>
/// <param name="what">What is reloaded, for the log (<c>channels</c>, <c>prices</c>…).</param>
public abstract partial class StoreReloader(string what, TimeProvider time, ILogger logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    /// <summary>Reads the current state from the store and puts it in force.</summary>
    protected abstract Task ReloadAsync(CancellationToken cancellationToken);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Before the first request and the first dispatch: nothing runs on the configuration alone when the store says more.
        await ReloadAsync(cancellationToken);
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
                    await ReloadAsync(stoppingToken);
                    if (outage.Succeeded())
                    {
                        LogReloadRecovered(logger, what);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    if (outage.Failed())
                    {
                        if (e is StoreUnavailableException unavailable)
                        {
                            LogReloadPaused(logger, what, unavailable.Message);
                        }
                        else
                        {
                            LogReloadFailed(logger, what, e);
                        }
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Reloading {What} from the database failed; what was loaded before stays in use, and it is tried again with backoff")]
    private static partial void LogReloadFailed(ILogger logger, string what, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reloading {What} from the database pauses: {Reason}. What was loaded before stays in use; it is tried again with backoff")]
    private static partial void LogReloadPaused(ILogger logger, string what, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reloading {What} from the database succeeds again")]
    private static partial void LogReloadRecovered(ILogger logger, string what);
}
