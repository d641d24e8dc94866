namespace Reelay.Tasks;

/// <summary>
/// The task store as everything but its own backend sees it: each write that changed a task's status
/// or progress is published on <see cref="ITaskChanges"/> once it has committed, so waiters re-read a
/// state that is there. One wrapper for every backend (a storage registration wraps its store in it),
/// and the routes and workers need not remember to publish. Writes that change neither (a claim, a
/// lease extension, a retry later, a postponed poll) publish nothing.
/// </summary>
public sealed class PublishingTaskStore(ITaskStore inner, ITaskChanges changes) : ITaskStore
{
    /// <summary>The backend underneath, for what only it offers (tests and the bench read its counters).</summary>
    public ITaskStore Inner => inner;

    public Task<CreateResult> CreateAsync(VideoTask task, CreateRules rules, CancellationToken cancellationToken) =>
        inner.CreateAsync(task, rules, cancellationToken);

    public Task<VideoTask?> GetAsync(string id, string ownerKeyId, CancellationToken cancellationToken) =>
        inner.GetAsync(id, ownerKeyId, cancellationToken);

    public Task<IReadOnlyList<VideoTask>> ListAsync(string ownerKeyId, TaskPageRequest page, CancellationToken cancellationToken) =>
        inner.ListAsync(ownerKeyId, page, cancellationToken);

    public async Task<VideoTask?> CancelAsync(string id, string ownerKeyId, long now, CancellationToken cancellationToken)
    {
        var cancelled = await inner.CancelAsync(id, ownerKeyId, now, cancellationToken);
        if (cancelled is not null)
        {
            changes.Publish(cancelled.Id);
        }

        return cancelled;
    }

    public Task<VideoTask?> DeleteAsync(string id, string ownerKeyId, CancellationToken cancellationToken) =>
        inner.DeleteAsync(id, ownerKeyId, cancellationToken);

    public Task<IReadOnlyList<VideoTask>> ClaimAsync(ClaimRequest claim, CancellationToken cancellationToken) =>
        inner.ClaimAsync(claim, cancellationToken);

    public Task<bool> ExtendLeaseAsync(Lease lease, long leaseUntil, CancellationToken cancellationToken) =>
        inner.ExtendLeaseAsync(lease, leaseUntil, cancellationToken);

    // pending → submitting reads as pending on both surfaces: nothing a waiter could see changed.
    public Task<bool> RecordAttemptAsync(Lease lease, SubmitAttempt attempt, CancellationToken cancellationToken) =>
        inner.RecordAttemptAsync(lease, attempt, cancellationToken);

    public Task<bool> MarkRunningAsync(Lease lease, string upstreamId, long nextPollAt, long now, CancellationToken cancellationToken) =>
        Published(lease, inner.MarkRunningAsync(lease, upstreamId, nextPollAt, now, cancellationToken));

    public Task<bool> RetryLaterAsync(Lease lease, long nextAt, IReadOnlyList<RouteStep> route, CancellationToken cancellationToken) =>
        inner.RetryLaterAsync(lease, nextAt, route, cancellationToken);

    // Progress may have moved; a waiter that finds it has not goes back to waiting.
    public Task<bool> SchedulePollAsync(Lease lease, PollUpdate update, CancellationToken cancellationToken) =>
        Published(lease, inner.SchedulePollAsync(lease, update, cancellationToken));

    public Task<bool> NudgePollAsync(string taskId, long now, CancellationToken cancellationToken) =>
        inner.NudgePollAsync(taskId, now, cancellationToken);

    public Task<int> WakeRunningAsync(string provider, long now, CancellationToken cancellationToken) =>
        inner.WakeRunningAsync(provider, now, cancellationToken);

    public Task<bool> MarkFinishingAsync(Lease lease, string resultLocation, string? enhancedPrompt, long now, CancellationToken cancellationToken) =>
        Published(lease, inner.MarkFinishingAsync(lease, resultLocation, enhancedPrompt, now, cancellationToken));

    public Task<bool> PostponeAsync(Lease lease, long nextAt, CancellationToken cancellationToken) =>
        inner.PostponeAsync(lease, nextAt, cancellationToken);

    public Task<bool> DeferFinishAsync(Lease lease, int failures, long nextAt, CancellationToken cancellationToken) =>
        inner.DeferFinishAsync(lease, failures, nextAt, cancellationToken);

    public Task<bool> CompleteAsync(Lease lease, StoredVideo video, long charge, long? upstreamCost, long now, CancellationToken cancellationToken) =>
        Published(lease, inner.CompleteAsync(lease, video, charge, upstreamCost, now, cancellationToken));

    public Task<bool> FailAsync(Lease lease, TaskError failure, long now, CancellationToken cancellationToken) =>
        Published(lease, inner.FailAsync(lease, failure, now, cancellationToken));

    public Task ReleaseAsync(Lease lease, CancellationToken cancellationToken) =>
        inner.ReleaseAsync(lease, cancellationToken);

    public async Task<IReadOnlyList<VideoTask>> ExpireOverdueAsync(long now, CancellationToken cancellationToken) =>
        PublishAll(await inner.ExpireOverdueAsync(now, cancellationToken));

    public async Task<IReadOnlyList<VideoTask>> CancelOverdueAsync(long now, CancellationToken cancellationToken) =>
        PublishAll(await inner.CancelOverdueAsync(now, cancellationToken));

    public Task<int> CountLocalBacklogAsync(CancellationToken cancellationToken) =>
        inner.CountLocalBacklogAsync(cancellationToken);

    public Task<IReadOnlyList<Lease>> LiveLeasesAsync(IReadOnlyCollection<string> taskIds, long now, CancellationToken cancellationToken) =>
        inner.LiveLeasesAsync(taskIds, now, cancellationToken);

    public Task<IReadOnlySet<string>> UnfinishedLocalTaskIdsAsync(CancellationToken cancellationToken) =>
        inner.UnfinishedLocalTaskIdsAsync(cancellationToken);

    public Task<long?> NextDueAsync(ClaimKind kind, CancellationToken cancellationToken) =>
        inner.NextDueAsync(kind, cancellationToken);

    private async Task<bool> Published(Lease lease, Task<bool> write)
    {
        // Only a write that matched its row (under its lease) changed anything.
        if (await write)
        {
            changes.Publish(lease.TaskId);
            return true;
        }

        return false;
    }

    private IReadOnlyList<VideoTask> PublishAll(IReadOnlyList<VideoTask> ended)
    {
        foreach (var task in ended)
        {
            changes.Publish(task.Id);
        }

        return ended;
    }
}
