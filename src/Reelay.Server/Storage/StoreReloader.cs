using System.Threading.Channels;

namespace Reelay.Storage;

/// <summary>
/// Keeps something read from the database current: loads it before the host starts its workers, then
/// reloads at once when another instance publishes a change of it (<see cref="IStoredConfigurationChanges"/>),
/// and every few seconds in any case, which picks up what a lost notice or an instance without the bus
/// changed. While the store fails, what was loaded before stays in use and the wait doubles (never below
/// the interval); one log line per outage.
/// </summary>
/// <param name="what">What is reloaded: the notices it answers, and the log's words.</param>
public abstract partial class StoreReloader(StoredConfiguration what, IStoredConfigurationChanges changes, TimeProvider time, ILogger logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    /// <summary>What is reloaded, in the log's words.</summary>
    private readonly string _name = Describe(what);

    // One slot: notices arriving while a reload is pending or running make one more reload, not one each.
    private readonly Channel<bool> _changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>Reads the current state from the store and puts it in force.</summary>
    protected abstract Task ReloadAsync(CancellationToken cancellationToken);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Subscribed before the first read: a change written while it runs is read again, never missed.
        changes.Subscribe(what, () => _changed.Writer.TryWrite(true));
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
                await WaitForChangeAsync(outage.Wait > Interval ? outage.Wait : Interval, stoppingToken);
                try
                {
                    await ReloadAsync(stoppingToken);
                    if (outage.Succeeded())
                    {
                        LogReloadRecovered(logger, _name);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    if (outage.Failed())
                    {
                        if (e is StoreUnavailableException unavailable)
                        {
                            LogReloadPaused(logger, _name, unavailable.Message);
                        }
                        else
                        {
                            LogReloadFailed(logger, _name, e);
                        }
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Returns when another instance published a change, or when <paramref name="wait"/> has passed.</summary>
    private async Task WaitForChangeAsync(TimeSpan wait, CancellationToken stoppingToken)
    {
        using var timeout = new CancellationTokenSource(wait, time);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, timeout.Token);
        try
        {
            await _changed.Reader.ReadAsync(either.Token);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            // The interval passed without a notice: the periodic re-read.
        }
    }

    private static string Describe(StoredConfiguration what) => what switch
    {
        StoredConfiguration.Channels => "channels",
        StoredConfiguration.Prices => "prices",
        _ => "catalog entries",
    };

    [LoggerMessage(Level = LogLevel.Error, Message = "Reloading {What} from the database failed; what was loaded before stays in use, and it is tried again with backoff")]
    private static partial void LogReloadFailed(ILogger logger, string what, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reloading {What} from the database pauses: {Reason}. What was loaded before stays in use; it is tried again with backoff")]
    private static partial void LogReloadPaused(ILogger logger, string what, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reloading {What} from the database succeeds again")]
    private static partial void LogReloadRecovered(ILogger logger, string what);
}
