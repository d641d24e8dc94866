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
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await registry.ReloadAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogReloadFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Reloading channels from the database failed")]
    private static partial void LogReloadFailed(ILogger logger, Exception exception);
}
