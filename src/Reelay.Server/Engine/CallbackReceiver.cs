using Reelay.Channels;
using Reelay.Providers;
using Reelay.Tasks;

namespace Reelay.Engine;

/// <summary>
/// Reads the callbacks the route queued: checks the token, lets the provider check the signature
/// and judge the reported state, and makes the task due for an immediate poll. A callback never
/// changes a task by itself — the poll's answer is the truth — so a forged or replayed one costs
/// at most one poll, and one for a task that already ended costs nothing.
/// </summary>
public sealed partial class CallbackReceiver(
    UpstreamCallbacks callbacks,
    ChannelRegistry channels,
    ITaskStore store,
    TaskSignals signals,
    ReportedChanges changes,
    TimeProvider time,
    ILogger<CallbackReceiver> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var callback in callbacks.Reader.ReadAllAsync(stoppingToken))
            {
                try
                {
                    await HandleAsync(callback, stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    // A store outage or an upstream that will not give its signing key: the fallback poll still comes.
                    LogFailed(logger, e, callback.Provider);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task HandleAsync(ReceivedCallback callback, CancellationToken cancellationToken)
    {
        if (!callbacks.TryRead(callback.Token, out var taskId, out var channelName)
            || channels.Find(channelName) is not { } channel
            || !channel.Provider.Equals(callback.Provider, StringComparison.OrdinalIgnoreCase)
            || !channels.Providers.TryGetValue(channel.Provider, out var provider))
        {
            LogUnknownToken(logger, callback.Provider);
            return;
        }

        var verdict = await provider.ReadCallbackAsync(new UpstreamCallback(callback.Headers, callback.Body, callback.ReceivedAt), channel.Settings, cancellationToken);
        if (verdict == CallbackVerdict.Forged)
        {
            LogForged(logger, taskId, channel.Name);
            return;
        }

        if (verdict != CallbackVerdict.PollNow)
        {
            return;
        }

        // Marked before the write: a poll of the task in flight would write its schedule over the
        // nudge, and finds the mark after that write (Poller), so the callback still gets its poll.
        changes.Mark(taskId);

        // Checkpoint: only a running task is made due; a finished one (a replay) or one still being submitted is left alone.
        if (await store.NudgePollAsync(taskId, time.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken))
        {
            LogDue(logger, taskId, channel.Name);
            signals.UpstreamChanged();
        }
        else
        {
            changes.Take(taskId);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Task {TaskId}: a callback on channel {Channel} made it due for a poll")]
    private static partial void LogDue(ILogger logger, string taskId, string channel);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A callback to /callbacks/{Provider}/… carried a token Reelay did not issue; ignored")]
    private static partial void LogUnknownToken(ILogger logger, string provider);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId}: a callback on channel {Channel} failed its signature check (forged or replayed); ignored")]
    private static partial void LogForged(ILogger logger, string taskId, string channel);

    [LoggerMessage(Level = LogLevel.Error, Message = "A callback to /callbacks/{Provider}/… could not be handled; the task waits for its fallback poll")]
    private static partial void LogFailed(ILogger logger, Exception exception, string provider);
}
