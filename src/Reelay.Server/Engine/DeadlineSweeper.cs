using Microsoft.Extensions.Options;
using Reelay.Channels;
using Reelay.Providers;
using Reelay.Storage;
using Reelay.Tasks;

namespace Reelay.Engine;

/// <summary>
/// Every task ends: one that outlives its model's maximum lifetime fails with <c>timeout</c>, and
/// its upstream job is cancelled where the provider can cancel (the local renderer stops rendering).
/// One that passes the deadline its client set (<c>Cancel-After</c>, <c>timeout</c>) is cancelled, as
/// the client's own cancel would.
/// </summary>
public sealed partial class DeadlineSweeper(ITaskStore store, ChannelRouter router, RequestImages requestImages, TaskCanceller canceller, TimeProvider time, IOptions<EngineOptions> options, ILogger<DeadlineSweeper> logger) : BackgroundService
{
    private readonly StoreOutage _outage = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.SweepInterval;
        try
        {
            while (true)
            {
                var wait = interval;
                try
                {
                    var expired = await store.ExpireOverdueAsync(time.GetUtcNow().ToUnixTimeMilliseconds(), stoppingToken);
                    if (_outage.Succeeded())
                    {
                        LogSweepRecovered(logger);
                    }

                    if (expired.Count > 0)
                    {
                        LogExpired(logger, expired.Count);
                    }

                    foreach (var task in expired)
                    {
                        await CancelUpstreamAsync(task, stoppingToken);
                        await requestImages.DeleteAsync(task.Images, CancellationToken.None);
                    }

                    foreach (var task in await store.CancelOverdueAsync(time.GetUtcNow().ToUnixTimeMilliseconds(), stoppingToken))
                    {
                        LogClientDeadline(logger, task.Id);
                        await canceller.CancelledAsync(task);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Logged once per run of failures; the next sweep waits longer each time (never less than the interval).
                    if (_outage.Failed())
                    {
                        if (e is StoreUnavailableException unavailable)
                        {
                            LogSweepPaused(logger, unavailable.Message);
                        }
                        else
                        {
                            LogSweepFailed(logger, e);
                        }
                    }

                    wait = _outage.Wait > interval ? _outage.Wait : interval;
                }

                await Task.Delay(wait, time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Best effort: the task has already failed; a refused cancel changes nothing for the client.</summary>
    private async Task CancelUpstreamAsync(VideoTask task, CancellationToken cancellationToken)
    {
        if (task.UpstreamId is null || task.Channel is null || task.UpstreamModel is null
            || router.Find(task.Channel, task.UpstreamModel) is not { } route
            || !route.Provider.Capabilities.SupportsCancel)
        {
            return;
        }

        try
        {
            await route.Provider.CancelAsync(new UpstreamJob(task.UpstreamId, task.Id, task.UpstreamModel), route.Channel.Settings, cancellationToken);
        }
        catch (UpstreamException e)
        {
            LogCancelFailed(logger, task.Id, e.Code);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} tasks passed their maximum lifetime and failed with timeout")]
    private static partial void LogExpired(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId} passed the deadline its client set and was cancelled")]
    private static partial void LogClientDeadline(ILogger logger, string taskId);

    [LoggerMessage(Level = LogLevel.Error, Message = "The deadline sweep failed; it backs off and tries again")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The deadline sweep pauses: {Reason}. It backs off and tries again")]
    private static partial void LogSweepPaused(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "The deadline sweep succeeds again")]
    private static partial void LogSweepRecovered(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId} timed out; cancelling its upstream job failed ({Code})")]
    private static partial void LogCancelFailed(ILogger logger, string taskId, string code);
}
