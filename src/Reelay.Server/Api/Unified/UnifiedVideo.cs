using Reelay.Blobs;
using Reelay.Tasks;

namespace Reelay.Api.Unified;

/// <summary>The create answer, exactly as the seed shows it.</summary>
public sealed record UnifiedCreateResponse(string Id, string Status, long StatusUpdateTime);

/// <summary>The query answer: every field always present, null where it does not apply yet.</summary>
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
    UnifiedError? Error);

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
            task.Error is { } error ? new UnifiedError(error.Code, error.Message) : null);
    }
}
