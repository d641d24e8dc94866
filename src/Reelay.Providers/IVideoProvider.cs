using System.Threading.Channels;

namespace Reelay.Providers;

/// <summary>
/// One upstream video service (or the local renderer) behind one small contract: submit a job,
/// poll it, open its result, optionally cancel it. Adapters translate and call; they never touch
/// the store, the ledger or retry policy — the engine decides what a failure means.
/// </summary>
public interface IVideoProvider
{
    /// <summary>The name configuration uses for this provider (<c>local</c>, <c>xai</c>, <c>veo</c>…).</summary>
    string Name { get; }

    /// <summary>What this provider can do, read by the engine and the catalog.</summary>
    ProviderCapabilities Capabilities { get; }

    /// <summary>
    /// Sends the job upstream and returns the upstream's job id. Throws <see cref="UpstreamException"/>
    /// with the stage the failure happened at, so the engine can tell "not accepted" from "unknown".
    /// </summary>
    Task<SubmitResult> SubmitAsync(VideoJobRequest request, ChannelSettings channel, CancellationToken cancellationToken);

    /// <summary>Asks the upstream how the job is doing. Transient failures throw <see cref="UpstreamException"/>.</summary>
    Task<PollResult> PollAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken);

    /// <summary>Opens the finished video as a stream, with whatever auth the upstream requires.</summary>
    Task<ResultContent> OpenResultAsync(UpstreamJob job, string resultLocation, ChannelSettings channel, CancellationToken cancellationToken);

    /// <summary>
    /// Asks the upstream to stop the job. Only called when <see cref="ProviderCapabilities.SupportsCancel"/>;
    /// providers whose upstream has no cancel endpoint keep this default.
    /// </summary>
    Task CancelAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"The '{Name}' provider cannot cancel jobs: its upstream has no cancel endpoint (Capabilities.SupportsCancel is false).");

    /// <summary>
    /// Tells the provider that Reelay has stored the result and will not ask for it again, so
    /// whatever the provider keeps for the job can go. Remote upstreams expire results on their own.
    /// </summary>
    Task ReleaseResultAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Whether this provider's upstream renders a request's shape, size and length for an upstream
    /// model, after whatever mapping its adapter does at submit. An adapter maps a value only when the
    /// upstream bills the mapped one the same (a size of the same price tier, a name in its own
    /// vocabulary); a duration is never shortened or lengthened, and a shape never changed. Null when
    /// it renders the request; otherwise the first value it cannot, and what it takes instead — the
    /// router then passes the channel over. The default renders anything.
    /// </summary>
    RenderProblem? CheckRender(RenderSpec spec) => null;

    /// <summary>
    /// Reads a callback this provider's upstream POSTed to a job's <see cref="VideoJobRequest.CallbackUrl"/>
    /// (whose token Reelay has already checked). It never decides the job's outcome: the engine only
    /// polls the job at once when the verdict is <see cref="CallbackVerdict.PollNow"/>, and the poll's
    /// answer is the truth. Upstreams that sign their callbacks check the signature here; the others
    /// only say whether the state they report is worth a poll. The default polls on any callback.
    /// </summary>
    ValueTask<CallbackVerdict> ReadCallbackAsync(UpstreamCallback callback, ChannelSettings channel, CancellationToken cancellationToken) =>
        ValueTask.FromResult(CallbackVerdict.PollNow);

    /// <summary>
    /// Jobs whose state changed (started, succeeded, failed), as they change. Only read when
    /// <see cref="ProviderCapabilities.PushesChanges"/>, by one reader: the engine, which then polls
    /// the job at once instead of on a timer. Most remote upstreams have no such feed and are polled;
    /// a ComfyUI server's websocket is one.
    /// </summary>
    ChannelReader<UpstreamJob> Changes => NoChanges.Reader;

    private static readonly Channel<UpstreamJob> NoChanges = Completed();

    private static Channel<UpstreamJob> Completed()
    {
        var channel = Channel.CreateBounded<UpstreamJob>(1);
        channel.Writer.Complete();
        return channel;
    }
}

/// <summary>Declared abilities of a provider.</summary>
/// <param name="MaxImages">How many reference images one request may carry (0: text only).</param>
/// <param name="SupportsCancel">Whether <see cref="IVideoProvider.CancelAsync"/> reaches the upstream.</param>
/// <param name="IdempotentSubmit">
/// Whether submitting the same <see cref="VideoJobRequest.TaskId"/> twice yields one job at most
/// (the upstream can be asked by client reference). Only then may the engine resubmit a task whose
/// worker died mid-submit; otherwise such a task fails with <c>submit_interrupted</c>.
/// </param>
/// <param name="SupportsRemix">Whether a finished job can be remixed with a new prompt.</param>
public sealed record ProviderCapabilities(
    int MaxImages,
    bool SupportsCancel = false,
    bool IdempotentSubmit = false,
    bool SupportsRemix = false)
{
    /// <summary>
    /// Whether <see cref="IVideoProvider.Changes"/> reports when each job starts and ends (an
    /// in-process renderer knows; ComfyUI's websocket tells). A job the provider cannot follow that
    /// way must be answered running, never queued, or it would wait for a report that never comes. The engine then leaves a job waiting in the provider's queue
    /// unpolled until it hears of a change, polling it only as a rare safety net.
    /// </summary>
    public bool PushesChanges { get; init; }

    /// <summary>
    /// Whether the upstream can be given a per-job callback URL (<see cref="VideoJobRequest.CallbackUrl"/>)
    /// that it calls when the job changes; the engine then polls at once on a callback and only
    /// slowly otherwise.
    /// </summary>
    public bool AcceptsCallbacks { get; init; }

    /// <summary>
    /// Whether the upstream has a content-safety system of its own that can end an accepted job as
    /// refused (<c>content_policy</c>). Hosted services do; a self-hosted ComfyUI has none, so a job it
    /// fails failed in a node and is never reported as refused. (A refusal at submission, by a proxy in
    /// front, is final either way.)
    /// </summary>
    public bool ModeratesJobs { get; init; } = true;

    /// <summary>How long after a submission (and between polls) the first look is worth it; the engine backs off from here.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest gap between two polls once the engine has backed off.</summary>
    public TimeSpan MaxPollInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// What a model a channel lists, but the catalog does not know, is assumed to take on this
    /// provider: the catalog builds such a model from these values (a catalog entry overrides them).
    /// </summary>
    public ModelDefaults DefaultModel { get; init; } = ModelDefaults.Fallback;
}

/// <summary>The capabilities assumed for a model only a channel names (README, Providers).</summary>
/// <param name="AspectRatios">Accepted ratios; the first is the default.</param>
/// <param name="Sizes">Accepted size classes (<c>720P</c>…); the first is the default.</param>
/// <param name="Durations">Accepted durations in seconds; empty for every whole second from <paramref name="MinDuration"/> to <paramref name="MaxDuration"/>.</param>
/// <param name="MinDuration">Shortest duration when <paramref name="Durations"/> is empty.</param>
/// <param name="MaxDuration">Longest duration when <paramref name="Durations"/> is empty.</param>
/// <param name="DefaultDuration">The duration of a request that names none.</param>
/// <param name="MaxImages">Most reference images one request may carry.</param>
public sealed record ModelDefaults(
    IReadOnlyList<string> AspectRatios,
    IReadOnlyList<string> Sizes,
    IReadOnlyList<int> Durations,
    int MinDuration,
    int MaxDuration,
    int DefaultDuration,
    int MaxImages)
{
    /// <summary>Size classes that allow only some durations (Veo: 1080P needs 8 s).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<int>> DurationsBySize { get; init; } = NoDurationsBySize;

    /// <summary>For a provider that declares nothing: the shapes every upstream here renders.</summary>
    public static readonly ModelDefaults Fallback = new(["16:9", "9:16"], ["720P"], [], 1, 15, 8, 1);

    private static readonly IReadOnlyDictionary<string, IReadOnlyList<int>> NoDurationsBySize = new Dictionary<string, IReadOnlyList<int>>();
}

/// <summary>The values of a request a provider's upstream must render (see <see cref="IVideoProvider.CheckRender"/>).</summary>
/// <param name="UpstreamModel">The upstream's model id the channel would send.</param>
/// <param name="AspectRatio">Requested shape, e.g. <c>16:9</c>.</param>
/// <param name="Size">Requested size: a class (<c>720P</c>) or, for models that list exact sizes, pixels (<c>1792x1024</c>).</param>
/// <param name="Width">Output width in pixels Reelay expects.</param>
/// <param name="Height">Output height in pixels Reelay expects.</param>
/// <param name="DurationSeconds">Length in seconds.</param>
public sealed record RenderSpec(string UpstreamModel, string AspectRatio, string Size, int Width, int Height, int DurationSeconds)
{
    /// <summary>The request's options (prompt flags, model options): an upstream without a field may refuse a value for it.</summary>
    public IReadOnlyDictionary<string, string> Options { get; init; } = NoOptions;

    private static readonly IReadOnlyDictionary<string, string> NoOptions = new Dictionary<string, string>();
}

/// <summary>Which requested value an upstream cannot render.</summary>
public enum RenderField
{
    AspectRatio,
    Size,
    Duration,

    /// <summary>One of the request's options, named by <see cref="RenderProblem.Option"/>.</summary>
    Option,
}

/// <summary>A value an upstream cannot render, and what it takes instead (<c>4, 8 or 12 seconds</c>).</summary>
/// <param name="Field">Which value.</param>
/// <param name="Accepts">What the upstream takes instead, as words for a message.</param>
/// <param name="Option">For <see cref="RenderField.Option"/>: the option's name.</param>
public sealed record RenderProblem(RenderField Field, string Accepts, string? Option = null);

/// <summary>A callback as it arrived: headers (names case-insensitive), the raw body, when it came.</summary>
public sealed record UpstreamCallback(IReadOnlyDictionary<string, string> Headers, ReadOnlyMemory<byte> Body, DateTimeOffset ReceivedAt)
{
    /// <summary>A header's value, or null.</summary>
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>What a callback is worth.</summary>
public enum CallbackVerdict
{
    /// <summary>It may report an end: poll the job now.</summary>
    PollNow,

    /// <summary>Genuine or not, it reports nothing a poll would act on now (queued, running).</summary>
    Ignore,

    /// <summary>Its signature does not hold (forged, altered, or replayed past its time window).</summary>
    Forged,
}

/// <summary>An upstream account the engine picked for this call (config record; no runtime state).</summary>
/// <param name="Name">Channel name, for logs and the recorded route.</param>
/// <param name="Provider">Provider name.</param>
/// <param name="BaseUrl">Upstream base URL, or null for the provider's public endpoint.</param>
/// <param name="ApiKey">Upstream secret. Never logged, never returned.</param>
public sealed record ChannelSettings(string Name, string Provider, Uri? BaseUrl, string? ApiKey)
{
    /// <summary>Google Cloud project (Vertex AI channels); null: the service-account key's <c>project_id</c>.</summary>
    public string? Project { get; init; }

    /// <summary>Google Cloud location (Vertex AI region, <c>us-central1</c>; <c>global</c>); null: the provider's default.</summary>
    public string? Location { get; init; }

    /// <summary>Cloud Storage bucket for results (<c>my-bucket</c> or <c>gs://my-bucket/prefix</c>, Vertex AI); null: results come inline.</summary>
    public string? Bucket { get; init; }

    /// <summary>Keeps the secret out of logs and exception messages that print the record.</summary>
    public override string ToString() => $"{Name} ({Provider}{(BaseUrl is null ? "" : " at " + BaseUrl)})";
}

/// <summary>A normalized request, ready for an adapter to translate into its wire format.</summary>
public sealed record VideoJobRequest
{
    /// <summary>Reelay's public task id: the client reference an upstream may be asked about.</summary>
    public required string TaskId { get; init; }

    /// <summary>The upstream's own model id (catalog-mapped).</summary>
    public required string Model { get; init; }

    /// <summary>Prompt with any trailing <c>--name=value</c> flags removed.</summary>
    public required string Prompt { get; init; }

    public string? NegativePrompt { get; init; }

    /// <summary>Requested shape, e.g. <c>16:9</c>.</summary>
    public required string AspectRatio { get; init; }

    /// <summary>
    /// Requested size class, e.g. <c>720P</c> (names the short side); for a model whose catalog entry
    /// lists exact pixel sizes, one of those (<c>1792x1024</c>). <see cref="Width"/>/<see cref="Height"/> are exact either way.
    /// </summary>
    public required string Size { get; init; }

    /// <summary>Output width in pixels Reelay expects (derived from size, aspect ratio and the first image).</summary>
    public required int Width { get; init; }

    /// <summary>Output height in pixels Reelay expects.</summary>
    public required int Height { get; init; }

    /// <summary>Length in seconds.</summary>
    public required int DurationSeconds { get; init; }

    public long? Seed { get; init; }

    /// <summary>Reference images, already downloaded and checked by the engine.</summary>
    public IReadOnlyList<ReferenceImage> Images { get; init; } = [];

    /// <summary>
    /// For a remix: the upstream id of the finished job to remix with <see cref="Prompt"/>. Only sent
    /// to providers whose <see cref="ProviderCapabilities.SupportsRemix"/> is true, on the channel that made the source.
    /// </summary>
    public string? RemixOf { get; init; }

    /// <summary>Prompt flags (<c>--mode=custom</c> → <c>mode: custom</c>) and other pass-through options.</summary>
    public IReadOnlyDictionary<string, string> Options { get; init; } = EmptyOptions;

    /// <summary>
    /// Where the upstream should report this job's changes (Reelay's <c>/callbacks/{provider}/{token}</c>),
    /// or null to be polled only. Set only for providers whose <see cref="ProviderCapabilities.AcceptsCallbacks"/> is true.
    /// </summary>
    public Uri? CallbackUrl { get; init; }

    private static readonly IReadOnlyDictionary<string, string> EmptyOptions = new Dictionary<string, string>();
}

/// <summary>A reference image, downloaded and sniffed.</summary>
/// <param name="Content">The image bytes.</param>
/// <param name="MediaType"><c>image/png</c>, <c>image/jpeg</c>, <c>image/webp</c> or <c>image/gif</c>.</param>
/// <param name="Width">Pixel width read from the header.</param>
/// <param name="Height">Pixel height read from the header.</param>
/// <param name="SourceUrl">The http(s) URL the client gave, or null for a data URI.</param>
public sealed record ReferenceImage(ReadOnlyMemory<byte> Content, string MediaType, int Width, int Height, string? SourceUrl)
{
    /// <summary>The image as a <c>data:</c> URI, the form most JSON upstreams accept.</summary>
    public string ToDataUri() => $"data:{MediaType};base64,{Convert.ToBase64String(Content.Span)}";
}

/// <summary>What an upstream answered to a submission.</summary>
/// <param name="UpstreamId">The upstream's job id.</param>
/// <param name="Raw">The raw upstream answer, kept for diagnostics.</param>
public sealed record SubmitResult(string UpstreamId, string? Raw = null);

/// <summary>The job the engine asks about.</summary>
/// <param name="UpstreamId">Id returned by <see cref="IVideoProvider.SubmitAsync"/>.</param>
/// <param name="TaskId">Reelay's task id (client reference).</param>
/// <param name="Model">Upstream model id the job was submitted with.</param>
public sealed record UpstreamJob(string UpstreamId, string TaskId, string Model);

/// <summary>Upstream job state mapped onto Reelay's.</summary>
public enum UpstreamState
{
    /// <summary>Accepted, not started.</summary>
    Queued,
    /// <summary>Running.</summary>
    Running,
    /// <summary>Finished; <see cref="PollResult.ResultLocation"/> says where the video is.</summary>
    Succeeded,
    /// <summary>Finished without a video; <see cref="PollResult.Error"/> says why.</summary>
    Failed,
}

/// <summary>One poll's answer.</summary>
public sealed record PollResult(UpstreamState State)
{
    /// <summary>0–100 when the upstream reports it.</summary>
    public int? Progress { get; init; }

    /// <summary>Where the finished video is (URL or provider-specific locator) when succeeded.</summary>
    public string? ResultLocation { get; init; }

    /// <summary>Why the job failed, when it did.</summary>
    public UpstreamError? Error { get; init; }

    /// <summary>The upstream's rewritten prompt, if any.</summary>
    public string? EnhancedPrompt { get; init; }

    /// <summary>How long the upstream asked us to wait before the next poll.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>
    /// When the upstream says the job finished (succeeded or failed), by its own clock; null while it runs
    /// and when its answer carries no finish time (never guessed).
    /// </summary>
    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>The raw upstream answer, kept for diagnostics.</summary>
    public string? Raw { get; init; }
}

/// <summary>An error with a stable snake_case code (<c>content_policy</c>, <c>invalid_argument</c>…).</summary>
public sealed record UpstreamError(string Code, string Message);

/// <summary>A result being streamed from the upstream.</summary>
/// <param name="Content">The bytes; the caller disposes it.</param>
/// <param name="ContentType">As the upstream declared it, if it did.</param>
/// <param name="Length">Length when known.</param>
public sealed record ResultContent(Stream Content, string? ContentType, long? Length) : IAsyncDisposable
{
    public ValueTask DisposeAsync() => Content.DisposeAsync();
}
