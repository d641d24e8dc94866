using Reelay.Billing;
using Reelay.Keys;

namespace Reelay.Tasks;

/// <summary>
/// Where a task is in the engine. Public status is derived: pending and submitting read as
/// <c>pending</c>; running and finishing as <c>processing</c>.
/// </summary>
public enum TaskStage
{
    /// <summary>Stored, waiting for the dispatcher.</summary>
    Pending,

    /// <summary>The attempt is recorded and an upstream call may be in flight: the at-most-once checkpoint.</summary>
    Submitting,

    /// <summary>An upstream accepted it; the poller asks about it.</summary>
    Running,

    /// <summary>The upstream finished; the finisher stores the video.</summary>
    Finishing,

    Completed,
    Failed,
    Cancelled,
}

/// <summary>Which API made a task; both can read it.</summary>
public enum TaskSurface
{
    /// <summary><c>POST /v1/video/create</c>.</summary>
    Unified,

    /// <summary><c>POST /v1/videos</c> and its remix.</summary>
    OpenAi,
}

/// <summary>The status words of the unified surface, derived from the stage.</summary>
public static class VideoStatus
{
    public const string Pending = "pending";
    public const string Processing = "processing";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    public static bool IsTerminal(this TaskStage stage) => stage is TaskStage.Completed or TaskStage.Failed or TaskStage.Cancelled;

    /// <summary>The status clients see on the unified surface.</summary>
    public static string Of(TaskStage stage) => stage switch
    {
        TaskStage.Pending or TaskStage.Submitting => Pending,
        TaskStage.Running or TaskStage.Finishing => Processing,
        TaskStage.Completed => Completed,
        TaskStage.Failed => Failed,
        _ => Cancelled,
    };
}

/// <summary>Why a task failed or was cancelled: a code from <see cref="Providers.TaskErrors"/> and a sentence for people.</summary>
public sealed record TaskError(string Code, string Message);

/// <summary>One channel tried for a task, and how it went.</summary>
/// <param name="Channel">Channel name.</param>
/// <param name="Provider">Provider name.</param>
/// <param name="UpstreamModel">Model id sent upstream.</param>
/// <param name="Outcome"><see cref="Submitted"/>, or the error code that moved the task on.</param>
/// <param name="At">Unix ms.</param>
public sealed record RouteStep(string Channel, string Provider, string UpstreamModel, string Outcome, long At)
{
    /// <summary>Outcome of a step whose submission the upstream accepted (or that is in flight).</summary>
    public const string Submitted = "submitted";

    /// <summary>Outcome of the first step of a task whose retired model was run as its replacement (<see cref="UpstreamModel"/>); <see cref="Channel"/> names the retired model.</summary>
    public const string Redirected = "redirected";

    /// <summary>The step that records a redirect from a retired model: no channel was tried.</summary>
    public static RouteStep Redirect(string retiredModel, string replacement, long at) => new(retiredModel, "catalog", replacement, Redirected, at);
}

/// <summary>
/// A task as stored. The store maps it to its rows; callers see typed values only. Client reads
/// (<see cref="ITaskStore.GetAsync"/>, list, create) leave <see cref="Images"/>, <see cref="Options"/>
/// and <see cref="Route"/> empty: only the engine and admin views need them.
/// </summary>
public sealed record VideoTask
{
    public required string Id { get; init; }
    public required string OwnerKeyId { get; init; }
    /// <summary>The key's mode when the task was made: test tasks render locally and are never charged.</summary>
    public KeyMode Mode { get; init; }
    /// <summary>Public model name as the catalog names it.</summary>
    public required string Model { get; init; }
    /// <summary>Model name as the client sent it (an alias, maybe).</summary>
    public required string RequestedModel { get; init; }
    public required string Prompt { get; init; }
    public string? NegativePrompt { get; init; }
    public required string AspectRatio { get; init; }
    public required string Size { get; init; }
    public int Duration { get; init; }
    public long? Seed { get; init; }
    /// <summary>
    /// The image references: URLs as given, and for inline images a <c>blob:</c> reference to the bytes
    /// <see cref="RequestImages"/> stored apart, so the row stays small whatever the client sent.
    /// </summary>
    public IReadOnlyList<string> Images { get; init; } = [];
    /// <summary>Prompt flags and pass-through options.</summary>
    public IReadOnlyDictionary<string, string> Options { get; init; } = EmptyOptions;
    public string? CallbackUrl { get; init; }
    /// <summary>The webhook event types the <see cref="CallbackUrl"/> receives (<c>webhook_events_filter</c>); null: every type but progress. Written at create, read by the outbox in SQL.</summary>
    public IReadOnlyList<string>? WebhookEvents { get; init; }
    public string? IdempotencyKey { get; init; }
    public TaskSurface Surface { get; init; }
    public string? RemixedFrom { get; init; }

    public TaskStage Stage { get; init; }
    public int Progress { get; init; }
    public long CreatedAt { get; init; }
    /// <summary>Unix ms of the last status change.</summary>
    public long UpdatedAt { get; init; }
    public long? CompletedAt { get; init; }
    /// <summary>Unix ms after which an unfinished task fails with <c>timeout</c>.</summary>
    public long DeadlineAt { get; init; }
    /// <summary>Unix ms after which an unfinished task is cancelled: the client's own deadline (<c>Cancel-After</c>, <c>timeout</c>), null without one.</summary>
    public long? CancelAt { get; init; }
    /// <summary>Unix ms when the task is next due for its stage's worker.</summary>
    public long NextAt { get; init; }
    public string? LeaseToken { get; init; }
    public long? LeaseUntil { get; init; }

    /// <summary>Upstream submissions recorded (the at-most-once counter).</summary>
    public int Attempts { get; init; }
    public int Polls { get; init; }
    /// <summary>Consecutive failed polls; resets on a good answer.</summary>
    public int PollFailures { get; init; }
    public string? Channel { get; init; }
    public string? Provider { get; init; }
    public string? UpstreamModel { get; init; }
    public string? UpstreamId { get; init; }
    public string? ResultLocation { get; init; }
    /// <summary>The channels tried, in order, with the outcome of each.</summary>
    public IReadOnlyList<RouteStep> Route { get; init; } = [];
    public string? EnhancedPrompt { get; init; }

    public string? VideoKey { get; init; }
    public string? ThumbnailKey { get; init; }
    public int? Width { get; init; }
    public int? Height { get; init; }
    public double? VideoDuration { get; init; }
    public long? VideoBytes { get; init; }

    public TaskError? Error { get; init; }

    /// <summary>The account the owner key spends from.</summary>
    public string AccountId { get; init; } = "";

    /// <summary>Micro-credits held at create (0 for a free model or a test key).</summary>
    public long Held { get; init; }

    /// <summary>Micro-credits charged when the task ended; null until it has.</summary>
    public long? Charged { get; init; }

    /// <summary>Micro-credits of the hold given back when the task ended; null until it has.</summary>
    public long? Released { get; init; }

    /// <summary>What the price counted when the hold was made; null when the task was free.</summary>
    public PriceUnit? PriceUnit { get; init; }

    /// <summary>Micro-credits per unit when the hold was made: the charge is settled at this price.</summary>
    public long UnitPrice { get; init; }

    /// <summary>Micro-credits the channel's cost price puts on the completed video; null when none is set.</summary>
    public long? UpstreamCost { get; init; }

    /// <summary>
    /// The W3C <c>traceparent</c> of the request that created the task, when it was traced: the
    /// workers' spans (dispatch, polls, finish) join that trace, so one trace shows the task's whole life.
    /// </summary>
    public string? TraceParent { get; init; }

    /// <summary>What the task costs: the hold while it runs, the charge once it has ended.</summary>
    public long Cost => Charged ?? Held;

    public string Status => VideoStatus.Of(Stage);

    private static readonly IReadOnlyDictionary<string, string> EmptyOptions = new Dictionary<string, string>();
}
