using Microsoft.Extensions.Options;
using Reelay.Channels;
using Reelay.Providers;
using Reelay.Tasks;

namespace Reelay.Engine;

/// <summary>
/// Asks upstreams about running tasks when their next poll time comes: records progress, backs
/// off with jitter, honours <c>Retry-After</c>, hands finished jobs to the finisher.
/// </summary>
public sealed partial class Poller(
    ITaskStore store,
    ChannelRouter router,
    TaskSignals signals,
    TimeProvider time,
    IOptions<EngineOptions> options,
    ILogger<Poller> logger)
    : LeasedWorker(ClaimKind.Poll, store, time, options, logger)
{
    protected override int Concurrency => Options.PollConcurrency;

    protected override System.Threading.Channels.ChannelReader<bool> Wakeups => signals.PollReader;

    protected override async Task HandleAsync(VideoTask task, Lease lease, CancellationToken cancellationToken)
    {
        var candidate = router.Find(task.Channel!, task.UpstreamModel!);
        if (candidate is null)
        {
            await Store.FailAsync(lease, new TaskError(TaskErrors.ChannelRemoved, $"Channel '{task.Channel}' that runs this task is no longer configured."), Now, cancellationToken);
            return;
        }

        // The channel's poll budget bounds upstream traffic however many tasks are due: over
        // budget, the poll is postponed without calling the upstream.
        if (!ChannelState.TryTake(candidate.State.PollBudget, out var budgetWait))
        {
            await Store.PostponeAsync(lease, Now + (long)budgetWait.TotalMilliseconds, cancellationToken);
            return;
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
                await Store.FailAsync(lease, new TaskError(e.Code, $"The upstream could not be asked about this task: {e.Message}"), Now, cancellationToken);
                return;
            }

            var wait = e.RetryAfter ?? PollSchedule.NextInterval(candidate, task.Polls + failures);
            await Store.SchedulePollAsync(lease, new PollUpdate(task.Progress, failures, Now + (long)wait.TotalMilliseconds, null), cancellationToken);
            return;
        }

        switch (result.State)
        {
            case UpstreamState.Succeeded when !string.IsNullOrEmpty(result.ResultLocation):
                if (await Store.MarkFinishingAsync(lease, result.ResultLocation, NullIfEmpty(result.EnhancedPrompt), Now, cancellationToken))
                {
                    signals.ResultReady();
                }

                break;
            case UpstreamState.Succeeded:
                await Store.FailAsync(lease, new TaskError(TaskErrors.UpstreamResultInvalid, "The upstream reported success but gave no video."), Now, cancellationToken);
                break;
            case UpstreamState.Failed:
                var error = result.Error ?? new UpstreamError(TaskErrors.UpstreamError, "The upstream reported the job failed without a reason.");
                await Store.FailAsync(lease, new TaskError(error.Code, error.Message), Now, cancellationToken);
                break;
            default:
                var wait = result.RetryAfter
                    ?? PollSchedule.FromProgress(candidate, result.Progress, TimeSpan.FromMilliseconds(Math.Max(0, Now - task.UpdatedAt)))
                    ?? PollSchedule.NextInterval(candidate, task.Polls + 1);
                var update = new PollUpdate(Math.Clamp(result.Progress ?? task.Progress, 0, 99), 0, Now + (long)wait.TotalMilliseconds, NullIfEmpty(result.EnhancedPrompt));
                await Store.SchedulePollAsync(lease, update, cancellationToken);
                break;
        }
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId}: poll on channel {Channel} failed ({Stage}, {Code}), {Failures} in a row")]
    private static partial void LogPollFailed(ILogger logger, string taskId, string channel, UpstreamFailureStage stage, string code, int failures);
}
