namespace Reelay.Tasks;

/// <summary>Which worker a claim is for; each claims a different kind of due work.</summary>
public enum ClaimKind
{
    /// <summary>Pending tasks that are due, and submitting tasks whose worker's lease ran out (it died mid-submit).</summary>
    Dispatch,
    /// <summary>Running tasks whose next poll time has come.</summary>
    Poll,
    /// <summary>Tasks whose upstream finished, waiting to be stored.</summary>
    Finish,
}

/// <summary>A request for due work: stamp up to <paramref name="Limit"/> due tasks of one kind with <paramref name="Token"/> until <paramref name="LeaseUntil"/>.</summary>
public sealed record ClaimRequest(ClaimKind Kind, long Now, string Token, long LeaseUntil, int Limit);

/// <summary>A lease on a claimed task: every later write names it, so a worker that lost its lease changes nothing.</summary>
/// <param name="TaskId">The task.</param>
/// <param name="Token">Random value stamped on the row by the claim.</param>
public readonly record struct Lease(string TaskId, string Token);

/// <summary>An upstream submission about to be made: where it goes and at what pixel size.</summary>
/// <param name="Route">Every channel tried so far, this one last.</param>
public sealed record SubmitAttempt(string Channel, string Provider, string UpstreamModel, int Width, int Height, IReadOnlyList<RouteStep> Route);

/// <summary>What a poll of a running job learned, and when to ask again.</summary>
/// <param name="Progress">0–99; the stored progress never goes down.</param>
/// <param name="PollFailures">Consecutive failed polls, 0 after a good answer.</param>
/// <param name="NextPollAt">Unix ms.</param>
/// <param name="EnhancedPrompt">The upstream's rewritten prompt, when it gave one.</param>
public sealed record PollUpdate(int Progress, int PollFailures, long NextPollAt, string? EnhancedPrompt);

/// <summary>The finished video as stored.</summary>
public sealed record StoredVideo(string VideoKey, string ThumbnailKey, int Width, int Height, double DurationSeconds, long Bytes);

/// <summary>
/// What a create must respect, checked in the transaction that inserts it, so parallel creates cannot
/// get past a limit together. Null: no such limit.
/// </summary>
/// <param name="RequestHash">The request as normalized, hashed: with an idempotency key, the same key and hash replay the task, another hash is a conflict.</param>
/// <param name="Now">Unix ms: the idempotency window and the UTC day of the spend limits are reckoned from it.</param>
public sealed record CreateRules(byte[]? RequestHash, long Now)
{
    public int? KeyMaxInFlight { get; init; }
    public int? AccountMaxInFlight { get; init; }
    public long? KeyMaxSpendPerDay { get; init; }
    public long? AccountMaxSpendPerDay { get; init; }

    /// <summary>Whether <see cref="KeyMaxInFlight"/> is the test keys' default (<c>Limits:MaxInFlightPerTestKey</c>) rather than the key's own.</summary>
    public bool KeyInFlightIsTestDefault { get; init; }

    /// <summary>How long an idempotency key keeps answering with its task.</summary>
    public static readonly TimeSpan IdempotencyWindow = TimeSpan.FromHours(24);
}

/// <summary>What became of a create.</summary>
public enum CreateOutcome
{
    /// <summary>Stored, with its hold.</summary>
    Created,

    /// <summary>The idempotency key was used with the same request: the earlier task, nothing held again.</summary>
    Replayed,

    /// <summary>The idempotency key was used with another request within its window: nothing stored.</summary>
    IdempotencyConflict,

    /// <summary>The account's balance less its open holds does not cover the hold: nothing stored.</summary>
    InsufficientCredits,

    KeyInFlightLimit,
    AccountInFlightLimit,
    KeyDailySpendLimit,
    AccountDailySpendLimit,
}

/// <summary>A create's outcome; the numbers say why a refused one was refused.</summary>
/// <param name="Task">The stored task (created or replayed); null when refused.</param>
public sealed record CreateResult(CreateOutcome Outcome, VideoTask? Task)
{
    /// <summary>With <see cref="CreateOutcome.IdempotencyConflict"/>: the task the key belongs to.</summary>
    public string? EarlierTaskId { get; init; }

    /// <summary>With <see cref="CreateOutcome.InsufficientCredits"/>: the account's balance and open holds then.</summary>
    public long Balance { get; init; }

    public long HeldBefore { get; init; }

    /// <summary>With an in-flight limit: the unfinished tasks counted.</summary>
    public int InFlight { get; init; }

    /// <summary>With a daily spend limit: micro-credits spent (held or charged) today before this create.</summary>
    public long SpentToday { get; init; }
}

/// <summary>One page of a key's tasks, newest first unless <see cref="Ascending"/>.</summary>
/// <param name="After">Id of the last task of the previous page.</param>
public sealed record TaskPageRequest(int Limit, string? After, bool Ascending);

/// <summary>
/// Task storage on the hot paths, shaped by the engine's verbs and the clients' reads. Status
/// changes name the stages they may come from and do nothing otherwise; engine writes are fenced
/// by the lease. Credits move with the task, in its own transactions: the hold when it is created,
/// and on every move to an end (completed, failed, cancelled, timed out) the charge and the release
/// of the rest — one code path for all of them, so held = charged + released once a task has ended.
/// Operator views read through <see cref="ITaskMonitor"/>.
/// </summary>
public interface ITaskStore
{
    /// <summary>
    /// Stores a new pending task and, in the same transaction, holds <see cref="VideoTask.Held"/> on its
    /// account with its ledger row: checked against the account as that transaction sees it, after the
    /// holds of the creates before it, and written by a conditional update, so parallel creates never
    /// overdraw. With an
    /// idempotency key its account already used within the window, stores nothing and returns the
    /// earlier task (same request) or a conflict (another one). Limits in <paramref name="rules"/> are
    /// checked in that transaction too.
    /// </summary>
    Task<CreateResult> CreateAsync(VideoTask task, CreateRules rules, CancellationToken cancellationToken);

    /// <summary>
    /// The owner's task, or null: another key's task is as absent as a missing one. Client reads
    /// (this, list, delete, create) leave the request's images, options and route empty.
    /// </summary>
    Task<VideoTask?> GetAsync(string id, string ownerKeyId, CancellationToken cancellationToken);

    Task<IReadOnlyList<VideoTask>> ListAsync(string ownerKeyId, TaskPageRequest page, CancellationToken cancellationToken);

    /// <summary>
    /// Cancels an unfinished task of the owner through the one way tasks end (its hold released in the same
    /// transaction); any worker's lease is cleared, so its later writes change nothing. Returns the whole
    /// task after the change (with its request images, for the canceller to delete), or null if no
    /// unfinished task of the owner matched — a task that ended first keeps its end.
    /// </summary>
    Task<VideoTask?> CancelAsync(string id, string ownerKeyId, long now, CancellationToken cancellationToken);

    /// <summary>Deletes a finished task of the owner; returns the deleted row, or null.</summary>
    Task<VideoTask?> DeleteAsync(string id, string ownerKeyId, CancellationToken cancellationToken);

    /// <summary>Takes a lease on due tasks of one kind and returns them whole.</summary>
    Task<IReadOnlyList<VideoTask>> ClaimAsync(ClaimRequest claim, CancellationToken cancellationToken);

    /// <summary>Pushes the lease out while long work runs. False when the lease was lost.</summary>
    Task<bool> ExtendLeaseAsync(Lease lease, long leaseUntil, CancellationToken cancellationToken);

    /// <summary>
    /// The at-most-once checkpoint: records that an upstream submission is about to be made
    /// (stage → submitting, attempts + 1, route). Must succeed before any upstream call.
    /// </summary>
    Task<bool> RecordAttemptAsync(Lease lease, SubmitAttempt attempt, CancellationToken cancellationToken);

    /// <summary>submitting → running with the upstream's id; releases the lease.</summary>
    Task<bool> MarkRunningAsync(Lease lease, string upstreamId, long nextPollAt, long now, CancellationToken cancellationToken);

    /// <summary>pending/submitting → pending, due again later (nothing was accepted upstream); releases the lease.</summary>
    Task<bool> RetryLaterAsync(Lease lease, long nextAt, IReadOnlyList<RouteStep> route, CancellationToken cancellationToken);

    /// <summary>running: records a poll's outcome and when to poll next; releases the lease.</summary>
    Task<bool> SchedulePollAsync(Lease lease, PollUpdate update, CancellationToken cancellationToken);

    /// <summary>
    /// running: due for a poll now, because its provider reported a change. Not fenced by a lease: a
    /// poll in flight may overwrite it, and the poller handles that. False when the task is not running.
    /// </summary>
    Task<bool> NudgePollAsync(string taskId, long now, CancellationToken cancellationToken);

    /// <summary>
    /// Every running task of a provider that is not due yet becomes due now; returns how many. For
    /// providers that report changes: a restart forgot the jobs the previous process was running.
    /// </summary>
    Task<int> WakeRunningAsync(string provider, long now, CancellationToken cancellationToken);

    /// <summary>running → finishing with where the upstream put the video; releases the lease.</summary>
    Task<bool> MarkFinishingAsync(Lease lease, string resultLocation, string? enhancedPrompt, long now, CancellationToken cancellationToken);

    /// <summary>Leaves the task where it is, due again at <paramref name="nextAt"/> (a spent rate budget); releases the lease.</summary>
    Task<bool> PostponeAsync(Lease lease, long nextAt, CancellationToken cancellationToken);

    /// <summary>finishing: the result could not be fetched this time; try again at <paramref name="nextAt"/>. Releases the lease.</summary>
    Task<bool> DeferFinishAsync(Lease lease, int failures, long nextAt, CancellationToken cancellationToken);

    /// <summary>
    /// finishing → completed with the stored video, charging <paramref name="charge"/> (at most the hold)
    /// and releasing the rest of the hold; releases the lease.
    /// </summary>
    /// <param name="upstreamCost">What the channel's cost price puts on the video, when one is set.</param>
    Task<bool> CompleteAsync(Lease lease, StoredVideo video, long charge, long? upstreamCost, long now, CancellationToken cancellationToken);

    /// <summary>Any unfinished stage → failed, releasing the whole hold; releases the lease.</summary>
    Task<bool> FailAsync(Lease lease, TaskError failure, long now, CancellationToken cancellationToken);

    /// <summary>Gives a claimed task back untouched (shutdown), due at once for the next worker.</summary>
    Task ReleaseAsync(Lease lease, CancellationToken cancellationToken);

    /// <summary>Fails every unleased unfinished task past its deadline with <c>timeout</c>, releasing their holds; returns them as they were failed.</summary>
    Task<IReadOnlyList<VideoTask>> ExpireOverdueAsync(long now, CancellationToken cancellationToken);

    /// <summary>
    /// Cancels every unfinished task whose client deadline (<see cref="VideoTask.CancelAt"/>: <c>Cancel-After</c>
    /// or <c>timeout</c>) has passed, as a client's cancel would — any worker's lease is cleared, so its later
    /// writes change nothing — releasing their holds; returns them as they were cancelled.
    /// </summary>
    Task<IReadOnlyList<VideoTask>> CancelOverdueAsync(long now, CancellationToken cancellationToken);

    /// <summary>Unfinished tasks bound for the local renderer: test-mode tasks and those routed to the local channel.</summary>
    Task<int> CountLocalBacklogAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Of <paramref name="taskIds"/>, the leases still live at <paramref name="now"/>: a worker of some
    /// instance holds them, so their scratch files are in use.
    /// </summary>
    Task<IReadOnlyList<Lease>> LiveLeasesAsync(IReadOnlyCollection<string> taskIds, long now, CancellationToken cancellationToken);

    /// <summary>Unfinished tasks whose attempt went to the local renderer: their render jobs are still needed.</summary>
    Task<IReadOnlySet<string>> UnfinishedLocalTaskIdsAsync(CancellationToken cancellationToken);

    /// <summary>Unix ms when the next task of a kind falls due, or null if none is scheduled (lets workers sleep exactly).</summary>
    Task<long?> NextDueAsync(ClaimKind kind, CancellationToken cancellationToken);
}

/// <summary>
/// Reads for operators and dashboards, apart from the hot paths (as Hangfire keeps its
/// monitoring API apart from its storage connection): any owner, every column.
/// </summary>
public interface ITaskMonitor
{
    /// <summary>A task whoever owns it, with its request and route.</summary>
    Task<VideoTask?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>Tasks of any owner matching the filter, newest first, without their request payloads.</summary>
    Task<IReadOnlyList<VideoTask>> ListAsync(TaskFilter filter, CancellationToken cancellationToken);

    /// <summary>The unfinished tasks per stage: how many, how many are due by <paramref name="now"/>, and what they hold.</summary>
    Task<IReadOnlyList<StageCensus>> CensusAsync(long now, CancellationToken cancellationToken);
}

/// <summary>One unfinished stage's tasks: <paramref name="Due"/> of them wait for a worker now; <paramref name="Held"/> micro-credits are held for them.</summary>
public sealed record StageCensus(TaskStage Stage, long Count, long Due, long Held);

/// <summary>An operator's filter over all tasks; null fields do not filter.</summary>
/// <param name="After">Id of the last task of the previous page.</param>
/// <param name="Stages">The engine stages to include (a public status may stand for two).</param>
/// <param name="From">Created at or after (Unix ms).</param>
/// <param name="To">Created before (Unix ms).</param>
public sealed record TaskFilter(int Limit, string? After = null)
{
    public string? AccountId { get; init; }
    public string? KeyId { get; init; }
    public string? Model { get; init; }
    public string? Channel { get; init; }
    public IReadOnlyList<TaskStage>? Stages { get; init; }
    public long? From { get; init; }
    public long? To { get; init; }
}
