using System.ComponentModel;
using System.Text.Json.Serialization;
using Reelay.Blobs;
using Reelay.Catalog;
using Reelay.Tasks;

namespace Reelay.Api.OpenAi;

/// <summary>
/// The JSON create body (<c>CreateVideoJsonBody</c>, as openai-python sends it without a file). The
/// handler reads it field by field (<see cref="JsonBody"/>) so a mistake is answered with the field's
/// name; this record declares the same shape in the OpenAPI document.
/// </summary>
public sealed record OpenAiCreateVideoRequest
{
    [Description("What the video shows.")]
    public required string Prompt { get; init; }

    [Description("A model from GET /v1/models; sora-2 when left out.")]
    public string? Model { get; init; }

    [Description("WIDTHxHEIGHT in pixels that the model renders, such as 1280x720, or small/large; 720x1280 when left out (or the shape orientation names).")]
    public string? Size { get; init; }

    [Description("Length in seconds (1 to 600, from the model's allowed values), as a string like \"4\" or a number.")]
    public int? Seconds { get; init; }

    [Description("The first frame, by URL.")]
    public OpenAiImageReference? InputReference { get; init; }

    [Description("Reelay extension, as on the unified route: portrait, landscape or square picks the shape when size is left out.")]
    public string? Orientation { get; init; }

    [Description("Reelay extension, stored and passed to relay upstreams (Sora app).")]
    public bool? Watermark { get; init; }

    [Description("Reelay extension, stored and passed to relay upstreams (Sora app).")]
    public bool? Private { get; init; }

    [Description("Reelay extension: one of thanksgiving, comic, news, selfie, nostalgic, anime.")]
    public string? Style { get; init; }

    [Description("Reelay extension: cancel the video if it has not ended this long after the create. Seconds, or a duration such as 90s, 5m, 1h30m (1s to 24h); the Cancel-After header does the same.")]
    public string? Timeout { get; init; }

    [Description("Reelay extension, as on the unified route: an http(s) URL that receives the task's webhook events (signed the Standard Webhooks way).")]
    public string? CallbackUrl { get; init; }

    [Description("Reelay extension: the event types callback_url receives (video.processing, video.progress, video.completed, video.failed, video.cancelled); every type but video.progress when left out.")]
    public IReadOnlyList<string>? WebhookEventsFilter { get; init; }
}

/// <summary><c>input_reference</c> in a JSON body.</summary>
public sealed record OpenAiImageReference
{
    [Description("An https URL or a data:image/...;base64, URL of a JPEG, PNG or WebP image.")]
    public string? ImageUrl { get; init; }

    [Description("Not supported: Reelay has no Files API. Send image_url, or upload the image as multipart.")]
    public string? FileId { get; init; }
}

/// <summary>The multipart create body (<c>CreateVideoMultipartBody</c>; openai-node always sends this).</summary>
public sealed record OpenAiCreateVideoForm
{
    [Description("What the video shows.")]
    public required string Prompt { get; init; }

    [Description("A model from GET /v1/models; sora-2 when left out.")]
    public string? Model { get; init; }

    [Description("WIDTHxHEIGHT in pixels that the model renders, such as 1280x720, or small/large; 720x1280 when left out (or the shape orientation names).")]
    public string? Size { get; init; }

    [Description("Length in whole seconds, such as \"4\".")]
    public string? Seconds { get; init; }

    [Description("The first frame: a JPEG, PNG or WebP file (an image URL in this field is accepted too).")]
    public IFormFile? InputReference { get; init; }

    [Description("The first frame by URL, instead of a file.")]
    [JsonPropertyName("input_reference[image_url]")]
    public string? InputReferenceImageUrl { get; init; }

    [Description("Reelay extension, as on the unified route: portrait, landscape or square picks the shape when size is left out.")]
    public string? Orientation { get; init; }

    [Description("Reelay extension, stored and passed to relay upstreams (Sora app).")]
    public string? Watermark { get; init; }

    [Description("Reelay extension, stored and passed to relay upstreams (Sora app).")]
    public string? Private { get; init; }

    [Description("Reelay extension: one of thanksgiving, comic, news, selfie, nostalgic, anime.")]
    public string? Style { get; init; }

    [Description("Reelay extension: cancel the video if it has not ended this long after the create. Seconds, or a duration such as 90s, 5m, 1h30m (1s to 24h); the Cancel-After header does the same.")]
    public string? Timeout { get; init; }

    [Description("Reelay extension, as on the unified route: an http(s) URL that receives the task's webhook events (signed the Standard Webhooks way).")]
    public string? CallbackUrl { get; init; }

    [Description("Reelay extension: the event types callback_url receives (video.processing, video.progress, video.completed, video.failed, video.cancelled); every type but video.progress when left out.")]
    public string? WebhookEventsFilter { get; init; }
}

/// <summary>The body of <c>POST /v1/videos/{id}/remix</c>, JSON or multipart; the source video's settings are kept.</summary>
public sealed record OpenAiRemixVideoRequest
{
    [Description("The new prompt.")]
    public required string Prompt { get; init; }
}

/// <summary>
/// OpenAI's <c>Video</c> object (<c>VideoResource</c>): its 13 keys always present, null where they do not
/// apply, plus the relays' <c>video_url</c> and <c>thumbnail_url</c>. Relays that serve <c>/v1/videos</c> add
/// those links once a video is completed and their clients read only them, so without them such a client
/// shows a finished video as nothing; the official SDKs ignore keys they do not know.
/// </summary>
public sealed record OpenAiVideo(
    string Id,
    string Object,
    string Model,
    string Status,
    int Progress,
    long CreatedAt,
    long? CompletedAt,
    long? ExpiresAt,
    string? Prompt,
    string Size,
    string Seconds,
    string? RemixedFromVideoId,
    OpenAiVideoError? Error,
    string? VideoUrl,
    string? ThumbnailUrl);

/// <summary>Why a video failed.</summary>
public sealed record OpenAiVideoError(string Code, string Message);

/// <summary>One page of <c>GET /v1/videos</c> (<c>VideoListResource</c>).</summary>
public sealed record OpenAiVideoList(string Object, IReadOnlyList<OpenAiVideo> Data, string? FirstId, string? LastId, bool HasMore);

/// <summary>The answer to <c>DELETE /v1/videos/{id}</c>.</summary>
public sealed record OpenAiDeletedVideo(string Id, string Object, bool Deleted);

/// <summary>Serialization of the OpenAI surface's wire records: snake_case, nulls written.</summary>
[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(OpenAiVideo))]
[JsonSerializable(typeof(OpenAiVideoList))]
[JsonSerializable(typeof(OpenAiDeletedVideo))]
[JsonSerializable(typeof(OpenAiCreateVideoRequest))]
[JsonSerializable(typeof(OpenAiRemixVideoRequest))]
[JsonSerializable(typeof(VideoTimeline))]
[JsonSerializable(typeof(WebhookDeliveryList))]
public sealed partial class OpenAiJsonContext : JsonSerializerContext;

public static class OpenAiVideoMapping
{
    /// <summary>
    /// The same task record the unified surface reads, in OpenAI's words. OpenAI has no
    /// <c>cancelled</c> status, so a cancelled task reads as <c>failed</c> with its error code.
    /// </summary>
    /// <param name="task">The stored task.</param>
    /// <param name="blobs">Where the finished files are; it signs the links, as for the unified query.</param>
    /// <param name="fileTtl">How long stored files stay downloadable after completion, and how long each link lasts (<c>FILE_URL_TTL</c>).</param>
    /// <param name="request">The request the links are handed out on.</param>
    public static OpenAiVideo AsOpenAiVideo(this VideoTask task, IBlobStore blobs, TimeSpan fileTtl, HttpRequest request)
    {
        var completed = task.Stage == TaskStage.Completed;
        var completedAt = task.CompletedAt is { } ms ? ms / 1000 : (long?)null;
        var (width, height) = completed && task.Width is { } w && task.Height is { } h ? (w, h) : Shapes.For(task.Size, task.AspectRatio);
        return new OpenAiVideo(
            task.Id,
            "video",
            task.Model,
            StatusOf(task.Stage),
            completed ? 100 : Math.Clamp(task.Progress, 0, 99),
            task.CreatedAt / 1000,
            completedAt,
            completed && completedAt is { } at ? at + (long)fileTtl.TotalSeconds : null,
            task.Prompt,
            string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{width}x{height}"),
            task.Duration.ToString(System.Globalization.CultureInfo.InvariantCulture),
            task.RemixedFrom,
            task.Error is { } error ? new OpenAiVideoError(error.Code, error.Message) : null,
            completed && task.VideoKey is { } video ? blobs.GetReadUrl(video, fileTtl, request) : null,
            completed && task.ThumbnailKey is { } thumbnail ? blobs.GetReadUrl(thumbnail, fileTtl, request) : null);
    }

    /// <summary>pending → queued, processing → in_progress, failed and cancelled → failed.</summary>
    public static string StatusOf(TaskStage stage) => VideoStatus.Of(stage) switch
    {
        VideoStatus.Pending => "queued",
        VideoStatus.Processing => "in_progress",
        VideoStatus.Completed => "completed",
        _ => "failed",
    };
}
