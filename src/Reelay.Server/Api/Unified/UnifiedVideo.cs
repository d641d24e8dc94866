using System.ComponentModel;
using System.Text.Json.Serialization;
using Reelay.Accounts;
using Reelay.Blobs;
using Reelay.Tasks;

namespace Reelay.Api.Unified;

/// <summary>
/// The create body as <c>POST /v1/video/create</c> accepts it. The handler reads the body field by field
/// (<see cref="JsonBody"/>) so a mistake is answered with the field's name; this record declares the same
/// shape in the OpenAPI document. Unknown fields are ignored.
/// </summary>
public sealed record UnifiedCreateRequest
{
    [Description("A model from GET /v1/models, or one of its aliases.")]
    public required string Model { get; init; }

    [Description("What the video shows, up to 8000 characters; trailing --name=value flags (--mode=custom) become options.")]
    public required string Prompt { get; init; }

    [Description("Such as 16:9, 9:16, 1:1; the model's default when left out. GET /v1/models lists each model's ratios.")]
    public string? AspectRatio { get; init; }

    [Description("480P, 720P, 1080P, 4K (the short side), small/large, or pixels like 1280x720; the model's default when left out.")]
    public string? Size { get; init; }

    [Description("Reference images, up to the model's limit: http(s) URLs or data:image/...;base64, URIs. [] or absent for text to video.")]
    public IReadOnlyList<string>? Images { get; init; }

    [Description("Length in seconds, from the model's allowed values; the model's default when left out.")]
    public int? Duration { get; init; }

    [Description("Another name for duration, as some clients send it.")]
    public int? Seconds { get; init; }

    [Description("0 to 4294967295; passed to upstreams that use it.")]
    public long? Seed { get; init; }

    [Description("What the video should not show; passed to upstreams that use it.")]
    public string? NegativePrompt { get; init; }

    [Description("An http(s) URL that receives the task's webhook events, signed the Standard Webhooks way; the key's or account's default when left out.")]
    public string? CallbackUrl { get; init; }

    [Description("The event types callback_url receives: video.processing, video.progress (at most one per 2 s), video.completed, video.failed, video.cancelled; every type but video.progress when left out.")]
    public IReadOnlyList<string>? WebhookEventsFilter { get; init; }

    [Description("Passed to upstreams that use it (Veo: rewrite and translate the prompt).")]
    public bool? EnhancePrompt { get; init; }

    [Description("Passed to upstreams that use it (Veo: upscale the finished video).")]
    public bool? EnableUpsample { get; init; }

    [Description("portrait, landscape or square: picks the model's tall, wide or 1:1 ratio when aspect_ratio is left out; must agree with aspect_ratio and a pixel size when they are given.")]
    public string? Orientation { get; init; }

    [Description("Stored with the task and passed to relay upstreams (Sora app: a watermarked video).")]
    public bool? Watermark { get; init; }

    [Description("Stored with the task and passed to relay upstreams (Sora app: unpublished, not remixable).")]
    public bool? Private { get; init; }

    [Description("One of thanksgiving, comic, news, selfie, nostalgic, anime; stored and passed to relay upstreams (Sora app).")]
    public string? Style { get; init; }

    [Description("Reelay's extension: cancel the task if it has not ended this long after the create. Seconds as a number, or a duration such as 90s, 5m, 1h30m (1s to 24h). The Cancel-After header does the same; with both, the sooner applies.")]
    public System.Text.Json.JsonElement? Timeout { get; init; }

    [Description("true: only answer what the request would cost (checked as a create is); nothing is stored or held. The X-Dry-Run: true header does the same.")]
    public bool? DryRun { get; init; }
}

/// <summary>The create answer, exactly as the seed shows it.</summary>
public sealed record UnifiedCreateResponse(string Id, string Status, long StatusUpdateTime);

/// <summary>
/// The query answer: every field always present, null where it does not apply yet — except <c>error</c>,
/// which is left out unless the task failed or was cancelled. The relays' documents omit it on success,
/// and relay clients test <c>typeof error === 'object'</c>, which is true for null, and show "null" under
/// every video that is fine.
/// </summary>
public sealed record UnifiedQueryResponse(
    string Id,
    string Status,
    long StatusUpdateTime,
    int Progress,
    string? VideoUrl,
    string? ThumbnailUrl,
    string EnhancedPrompt,
    string Model,
    string Prompt,
    string AspectRatio,
    string Size,
    int Duration,
    int? Width,
    int? Height,
    long CreatedAt,
    long? CompletedAt,
    [property: Description("Credits: held while the task runs, charged once it ends (0 when it failed or was cancelled; test keys are never charged).")] decimal Cost,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] UnifiedError? Error);

/// <summary>Why a task failed or was cancelled.</summary>
public sealed record UnifiedError(string Code, string Message);

public static class UnifiedVideoMapping
{
    public static UnifiedCreateResponse AsCreateResponse(this VideoTask task) => new(task.Id, task.Status, task.UpdatedAt);

    /// <summary>The query answer; links to the stored files come from the blob store, valid for <paramref name="linkLifetime"/>.</summary>
    public static UnifiedQueryResponse AsQueryResponse(this VideoTask task, IBlobStore blobs, TimeSpan linkLifetime, HttpRequest request)
    {
        var completed = task.Stage == TaskStage.Completed;
        return new UnifiedQueryResponse(
            task.Id,
            task.Status,
            task.UpdatedAt,
            completed ? 100 : Math.Min(task.Progress, 99),
            completed && task.VideoKey is { } video ? blobs.GetReadUrl(video, linkLifetime, request) : null,
            completed && task.ThumbnailKey is { } thumbnail ? blobs.GetReadUrl(thumbnail, linkLifetime, request) : null,
            task.EnhancedPrompt ?? "",
            task.Model,
            task.Prompt,
            task.AspectRatio,
            task.Size,
            task.Duration,
            completed ? task.Width : null,
            completed ? task.Height : null,
            task.CreatedAt,
            task.CompletedAt,
            Credits.ToCredits(task.Cost),
            task.Stage is TaskStage.Failed or TaskStage.Cancelled && task.Error is { } error ? new UnifiedError(error.Code, error.Message) : null);
    }
}
