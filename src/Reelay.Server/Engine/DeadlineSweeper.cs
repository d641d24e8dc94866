using Microsoft.Extensions.Options;
using Reelay.Storage;

namespace Reelay.Engine;

/// <summary>Every task ends: one that outlives its model's maximum lifetime fails with <c>timeout</c>.</summary>
public sealed partial class DeadlineSweeper(ITaskStore store, TimeProvider time, IOptions<EngineOptions> options, ILogger<DeadlineSweeper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.SweepInterval, time);
        do
        {
            try
            {
                var expired = await store.ExpireOverdueAsync(time.GetUtcNow().ToUnixTimeMilliseconds(), stoppingToken);
                if (expired.Count > 0)
                {
                    LogExpired(logger, expired.Count);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogSweepFailed(logger, e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).AsTask().ContinueWith(t => !t.IsCanceled && t.Result, TaskScheduler.Default));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} tasks passed their maximum lifetime and failed with timeout")]
    private static partial void LogExpired(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "The deadline sweep failed")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
