namespace Reelay.Tasks;

/// <summary>
/// Where a task is in the engine. Public status is derived: pending and submitting read as
/// <c>pending</c>; running and finishing as <c>processing</c>.
/// </summary>
public static class Stage
{
    /// <summary>Stored, waiting for the dispatcher.</summary>
    public const string Pending = "pending";

    /// <summary>The attempt is recorded and an upstream call may be in flight: the at-most-once checkpoint.</summary>
    public const string Submitting = "submitting";

    /// <summary>An upstream accepted it; the poller asks about it.</summary>
    public const string Running = "running";

    /// <summary>The upstream finished; the finisher stores the video.</summary>
    public const string Finishing = "finishing";

    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    public static bool IsTerminal(string stage) => stage is Completed or Failed or Cancelled;

    /// <summary>The status clients see on the unified surface.</summary>
    public static string PublicStatus(string stage) => stage switch
    {
        Pending or Submitting => "pending",
        Running or Finishing => "processing",
        _ => stage,
    };
}

/// <summary>A task as stored. Column names are the snake_case of these properties.</summary>
public sealed class VideoTask
{
    public string Id { get; set; } = "";
    public string OwnerKeyId { get; set; } = "";
    /// <summary>live or test: the key's mode when the task was made.</summary>
    public string Mode { get; set; } = "live";
    /// <summary>Public model name as the catalog names it.</summary>
    public string Model { get; set; } = "";
    /// <summary>Model name as the client sent it (an alias, maybe).</summary>
    public string RequestedModel { get; set; } = "";
    public string Prompt { get; set; } = "";
    public string? NegativePrompt { get; set; }
    public string AspectRatio { get; set; } = "";
    public string Size { get; set; } = "";
    public int Duration { get; set; }
    public long? Seed { get; set; }
    /// <summary>JSON array of the image references as given (URLs or data URIs).</summary>
    public string ImagesJson { get; set; } = "[]";
    /// <summary>JSON object of prompt flags and pass-through options.</summary>
    public string OptionsJson { get; set; } = "{}";
    public string? CallbackUrl { get; set; }
    public string? IdempotencyKey { get; set; }
    /// <summary>Which API made it: <c>unified</c> or <c>openai</c>.</summary>
    public string Surface { get; set; } = "unified";
    public string? RemixedFrom { get; set; }

    public string Stage { get; set; } = Tasks.Stage.Pending;
    public int Progress { get; set; }
    public long CreatedAt { get; set; }
    /// <summary>Unix ms of the last status change.</summary>
    public long UpdatedAt { get; set; }
    public long? CompletedAt { get; set; }
    /// <summary>Unix ms after which an unfinished task fails with <c>timeout</c>.</summary>
    public long DeadlineAt { get; set; }
    /// <summary>Unix ms when the task is next due for its stage's worker.</summary>
    public long NextAt { get; set; }
    public string? LeaseToken { get; set; }
    public long? LeaseUntil { get; set; }

    /// <summary>Upstream submissions recorded (the at-most-once counter).</summary>
    public int Attempts { get; set; }
    public int Polls { get; set; }
    /// <summary>Consecutive failed polls; resets on a good answer.</summary>
    public int PollFailures { get; set; }
    public string? Channel { get; set; }
    public string? Provider { get; set; }
    public string? UpstreamModel { get; set; }
    public string? UpstreamId { get; set; }
    public string? ResultLocation { get; set; }
    /// <summary>JSON array of the channels tried, in order, with the outcome of each.</summary>
    public string RouteJson { get; set; } = "[]";
    public string? EnhancedPrompt { get; set; }

    public string? VideoKey { get; set; }
    public string? ThumbnailKey { get; set; }
    public int? Width { get; set; }
    public int? Height { get; set; }
    public double? VideoDuration { get; set; }
    public long? VideoBytes { get; set; }

    public string? ErrorCode { get; set; }
    public string? ErrorMessage { get; set; }

    public string Status => Tasks.Stage.PublicStatus(Stage);
}
