using System.Threading.Channels;
using Channel = System.Threading.Channels.Channel;
using Reelay.Channels;
using Reelay.Providers;
using Reelay.Tasks;

namespace Reelay.Engine;

/// <summary>What a client's cancel found.</summary>
public enum CancelOutcome
{
    /// <summary>The task was unfinished and is cancelled now, its hold released.</summary>
    Cancelled,

    /// <summary>It had been cancelled already (a repeated cancel, or its deadline): nothing changed.</summary>
    AlreadyCancelled,

    /// <summary>It had completed or failed: its end stands.</summary>
    Finished,

    /// <summary>No such task for this key.</summary>
    NotFound,
}

/// <summary>A cancel's outcome and the task as it stands after it (null when not found).</summary>
public sealed record CancelResult(CancelOutcome Outcome, VideoTask? Task);

/// <summary>
/// Cancels tasks: on a client's request (<see cref="CancelAsync"/>), and for the engine once a task's own
/// deadline passed. The task ends first, through the store's one way tasks end — the hold is released
/// in that transaction, and workers still busy with it lose their lease — and only then is its upstream
/// job stopped, where the provider can (the local renderer stops rendering); where it cannot, Reelay
/// simply stops following the job. Stopping goes through a queue this service drains, so a slow or
/// unreachable upstream never holds up the client's answer; it is best effort, as the upstream's own
/// cancel is: the task is cancelled whatever the upstream says.
/// </summary>
public sealed partial class TaskCanceller(ITaskStore store, ChannelRouter router, RequestImages requestImages, TimeProvider time, ILogger<TaskCanceller> logger)
    : BackgroundService
{
    // Unbounded: one entry per cancelled task that had an upstream job, far fewer than the creates that made them.
    private readonly Channel<VideoTask> _stops = Channel.CreateUnbounded<VideoTask>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>
    /// Cancels the owner's task. Idempotent: a cancelled task answers <see cref="CancelOutcome.AlreadyCancelled"/>.
    /// When it races the task's completion exactly one wins, in the store's transaction: the loser sees
    /// the winner's end.
    /// </summary>
    public async Task<CancelResult> CancelAsync(string id, string ownerKeyId, CancellationToken cancellationToken)
    {
        if (TaskIds.LooksValid(id) && await store.CancelAsync(id, ownerKeyId, time.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken) is { } cancelled)
        {
            await CancelledAsync(cancelled);
            return new CancelResult(CancelOutcome.Cancelled, cancelled);
        }

        // Nothing unfinished matched: read what there is (the cancel changed nothing, so this read is its answer).
        var task = TaskIds.LooksValid(id) ? await store.GetAsync(id, ownerKeyId, cancellationToken) : null;
        return task switch
        {
            null => new CancelResult(CancelOutcome.NotFound, null),
            { Stage: TaskStage.Cancelled } => new CancelResult(CancelOutcome.AlreadyCancelled, task),
            // The cancel matched no unfinished row, so the task had ended (completed or failed) before it.
            _ => new CancelResult(CancelOutcome.Finished, task),
        };
    }

    /// <summary>What follows a task's cancellation, whoever cancelled it: its upstream job stopped, its stored request images deleted.</summary>
    public async Task CancelledAsync(VideoTask task)
    {
        StopUpstream(task);
        await requestImages.DeleteAsync(task.Images, CancellationToken.None);
    }

    /// <summary>Queues the stop of a task's upstream job, when it has one its provider can cancel.</summary>
    public void StopUpstream(VideoTask task)
    {
        if (task.UpstreamId is not null && task.Channel is not null && task.UpstreamModel is not null)
        {
            _stops.Writer.TryWrite(task);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var task in _stops.Reader.ReadAllAsync(stoppingToken))
            {
                await StopAsync(task, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stops still queued at shutdown are dropped: their tasks are cancelled, and upstreams end their jobs on their own.
        }
    }

    private async Task StopAsync(VideoTask task, CancellationToken cancellationToken)
    {
        if (router.Find(task.Channel!, task.UpstreamModel!) is not { } route || !route.Provider.Capabilities.SupportsCancel)
        {
            // No cancel upstream: Reelay has stopped following the job, which ends there on its own.
            return;
        }

        try
        {
            await route.Provider.CancelAsync(new UpstreamJob(task.UpstreamId!, task.Id, task.UpstreamModel!), route.Channel.Settings, cancellationToken);
            LogStopped(logger, task.Id, route.Channel.Name);
        }
        catch (UpstreamException e)
        {
            LogStopFailed(logger, task.Id, route.Channel.Name, e.Code);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogStopError(logger, e, task.Id, route.Channel.Name);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Task {TaskId} was cancelled; its job on channel {Channel} was stopped")]
    private static partial void LogStopped(ILogger logger, string taskId, string channel);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId} was cancelled; stopping its job on channel {Channel} failed ({Code}), the upstream ends it on its own")]
    private static partial void LogStopFailed(ILogger logger, string taskId, string channel, string code);

    [LoggerMessage(Level = LogLevel.Error, Message = "Task {TaskId} was cancelled; stopping its job on channel {Channel} failed")]
    private static partial void LogStopError(ILogger logger, Exception exception, string taskId, string channel);
}
