using System.Text.Json.Serialization;
using Reelay.Catalog;
using Reelay.Tasks;

namespace Reelay.Api.OpenAi;

/// <summary>OpenAI's <c>Video</c> object (<c>VideoResource</c>): all 13 keys always present, null where they do not apply.</summary>
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
    OpenAiVideoError? Error);

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
public sealed partial class OpenAiJsonContext : JsonSerializerContext;

public static class OpenAiVideoMapping
{
    /// <summary>
    /// The same task record the unified surface reads, in OpenAI's words. OpenAI has no
    /// <c>cancelled</c> status, so a cancelled task reads as <c>failed</c> with its error code.
    /// </summary>
    /// <param name="task">The stored task.</param>
    /// <param name="fileTtl">How long stored files stay downloadable after completion (<c>FILE_URL_TTL</c>).</param>
    public static OpenAiVideo AsOpenAiVideo(this VideoTask task, TimeSpan fileTtl)
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
            task.Error is { } error ? new OpenAiVideoError(error.Code, error.Message) : null);
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
