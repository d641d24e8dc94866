using Microsoft.Extensions.Options;
using Reelay.Channels;
using Reelay.Providers;
using Reelay.Tasks;
using Reelay.Telemetry;

namespace Reelay.Engine;

/// <summary>
/// Asks upstreams about running tasks when their next poll time comes: records progress, backs
/// off with jitter, honours <c>Retry-After</c>, hands finished jobs to the finisher. Providers that
/// report their own changes (the local renderer, ComfyUI's websocket) are not polled while their job
/// waits in their queue: the report makes the task due. A report or callback that comes while the
/// task's poll runs is not lost (<see cref="ReportedChanges"/>).
/// </summary>
public sealed partial class Poller(
    ITaskStore store,
    ChannelRouter router,
    IEnumerable<IVideoProvider> providers,
    TaskSignals signals,
    ReportedChanges changes,
    TimeProvider time,
    IOptions<EngineOptions> options,
    ReelayTelemetry telemetry,
    ILogger<Poller> logger)
    : LeasedWorker(ClaimKind.Poll, store, time, options, telemetry, logger)
{
    protected override int Concurrency => Options.PollConcurrency;

    protected override System.Threading.Channels.ChannelReader<bool> Wakeups => signals.PollReader;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll([base.ExecuteAsync(stoppingToken), .. providers.Where(p => p.Capabilities.PushesChanges).Select(p => FollowChangesAsync(p, stoppingToken))]);

    protected override async Task HandleAsync(VideoTask task, Lease lease, CancellationToken cancellationToken)
    {
        var candidate = router.Find(task.Channel!, task.UpstreamModel!);
        if (candidate is null)
        {
            await Store.FailAsync(lease, new TaskError(TaskErrors.ChannelRemoved, $"Channel '{task.Channel}' that runs this task is no longer configured."), Now, cancellationToken);
            return;
        }

        // Changes reported (or called back) before the provider is asked show in its answer.
        changes.Take(task.Id);
        var rescheduled = await PollOnceAsync(task, lease, candidate, cancellationToken);

        // Checkpoint: a change reported while this poll ran made the task due, and the schedule this
        // poll then wrote may have pushed it far out again. Make it due once more, so no report is lost.
        if (changes.Take(task.Id) && rescheduled)
        {
            await NudgeAsync(task.Id, cancellationToken);
        }
    }

    /// <summary>Polls once and records the answer. True when the task stays running with a next poll scheduled.</summary>
    private async Task<bool> PollOnceAsync(VideoTask task, Lease lease, RouteCandidate candidate, CancellationToken cancellationToken)
    {
        // The channel's poll budget bounds upstream traffic however many tasks are due: over
        // budget, the poll is postponed without calling the upstream.
        if (!ChannelState.TryTake(candidate.State.PollBudget, out var budgetWait))
        {
            candidate.State.RunningUntil(task.Id, Now + (long)budgetWait.TotalMilliseconds);
            return await Store.PostponeAsync(lease, Now + (long)budgetWait.TotalMilliseconds, cancellationToken);
        }

        PollResult result;
        try
        {
            result = await candidate.Provider.PollAsync(new UpstreamJob(task.UpstreamId!, task.Id, task.UpstreamModel!), candidate.Channel.Settings, cancellationToken);
            candidate.State.RecordSuccess();
        }
        catch (UpstreamException e)
        {
            if (e.Stage is not UpstreamFailureStage.Rejected)
            {
                candidate.State.RecordFailure();
            }

            var failures = task.PollFailures + 1;
            LogPollFailed(logger, task.Id, candidate.Channel.Name, e.Stage, e.Code, failures);
            if (failures >= Options.MaxConsecutiveFailures || e.Stage == UpstreamFailureStage.Rejected)
            {
                candidate.State.Ended(task.Id);
                await Store.FailAsync(lease, new TaskError(e.Code, $"The upstream could not be asked about this task: {e.Message}"), Now, cancellationToken);
                return false;
            }

            var wait = e.RetryAfter ?? PollSchedule.NextInterval(candidate, task.Polls + failures);
            candidate.State.RunningUntil(task.Id, Now + (long)wait.TotalMilliseconds);
            return await Store.SchedulePollAsync(lease, new PollUpdate(task.Progress, failures, Now + (long)wait.TotalMilliseconds, null), cancellationToken);
        }

        // A finished job no longer occupies the upstream, whatever storing its video takes.
        if (result.State is UpstreamState.Succeeded or UpstreamState.Failed)
        {
            candidate.State.Ended(task.Id);
            if (result.FinishedAt is { } finishedAt)
            {
                Telemetry.RecordFinishDetected(candidate.Provider.Name, candidate.Channel.Name, TimeSpan.FromMilliseconds(Now - finishedAt.ToUnixTimeMilliseconds()));
            }
        }

        if (result.State == UpstreamState.Succeeded)
        {
            Telemetry.RecordPollsToFinish(candidate.Provider.Name, candidate.Channel.Name, task.Polls + 1);
        }

        switch (result.State)
        {
            case UpstreamState.Succeeded when !string.IsNullOrEmpty(result.ResultLocation):
                if (await Store.MarkFinishingAsync(lease, result.ResultLocation, NullIfEmpty(result.EnhancedPrompt), Now, cancellationToken))
                {
                    signals.ResultReady();
                }

                return false;
            case UpstreamState.Succeeded:
                await Store.FailAsync(lease, new TaskError(TaskErrors.UpstreamResultInvalid, "The upstream reported success but gave no video."), Now, cancellationToken);
                return false;
            case UpstreamState.Failed:
                var error = result.Error ?? new UpstreamError(TaskErrors.UpstreamError, "The upstream reported the job failed without a reason.");
                await Store.FailAsync(lease, new TaskError(error.Code, error.Message), Now, cancellationToken);
                return false;
            default:
                // A queued job of a provider that reports changes is looked at again when it starts;
                // polling thousands of waiting jobs would only rewrite their rows.
                var wait = result.State == UpstreamState.Queued && candidate.Provider.Capabilities.PushesChanges
                    ? Jittered(Options.PushSafetyInterval)
                    : result.RetryAfter
                      ?? PollSchedule.FromProgress(candidate, result.Progress, TimeSpan.FromMilliseconds(Math.Max(0, Now - task.UpdatedAt)))
                      ?? PollSchedule.NextInterval(candidate, task.Polls + 1);
                var update = new PollUpdate(Math.Clamp(result.Progress ?? task.Progress, 0, 99), 0, Now + (long)wait.TotalMilliseconds, NullIfEmpty(result.EnhancedPrompt));
                candidate.State.RunningUntil(task.Id, update.NextPollAt);
                return await Store.SchedulePollAsync(lease, update, cancellationToken);
        }
    }

    /// <summary>
    /// Reads one provider's change reports for as long as the poller runs, making each task due. A
    /// report that cannot be recorded is logged and left to the safety poll.
    /// </summary>
    private async Task FollowChangesAsync(IVideoProvider provider, CancellationToken stoppingToken)
    {
        try
        {
            // A previous process may have left jobs of this provider queued far out; this process's
            // provider does not know them, and only a poll makes it take them up again.
            try
            {
                if (await Store.WakeRunningAsync(provider.Name, Now, stoppingToken) > 0)
                {
                    signals.UpstreamChanged();
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogChangeFailed(logger, e, provider.Name);
            }

            await foreach (var job in provider.Changes.ReadAllAsync(stoppingToken))
            {
                // Marked before the write, so a poll of the task in flight finds the mark after its own write.
                changes.Mark(job.TaskId);
                try
                {
                    if (!await NudgeAsync(job.TaskId, stoppingToken))
                    {
                        // Not running: no poll of it is in flight. If it is still being submitted, its
                        // first poll comes anyway and sees the change.
                        changes.Take(job.TaskId);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogChangeFailed(logger, e, provider.Name);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task<bool> NudgeAsync(string taskId, CancellationToken cancellationToken)
    {
        if (!await Store.NudgePollAsync(taskId, Now, cancellationToken))
        {
            return false;
        }

        signals.UpstreamChanged();
        return true;
    }

    private static TimeSpan Jittered(TimeSpan interval) => interval * (0.8 + (Random.Shared.NextDouble() * 0.4));

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    [LoggerMessage(Level = LogLevel.Error, Message = "A change reported by provider {Provider} could not be recorded; the task waits for its safety poll")]
    private static partial void LogChangeFailed(ILogger logger, Exception exception, string provider);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId}: poll on channel {Channel} failed ({Stage}, {Code}), {Failures} in a row")]
    private static partial void LogPollFailed(ILogger logger, string taskId, string channel, UpstreamFailureStage stage, string code, int failures);
}
