using Reelay.Providers;

namespace Reelay.Tasks;

/// <summary>
/// A create request as a surface parsed it, before the catalog checks it: field types are right,
/// values are not yet validated. Both the unified and the OpenAI surfaces produce one.
/// </summary>
public sealed class TaskDraft
{
    public string? Model { get; set; }
    public string? Prompt { get; set; }
    public string? AspectRatio { get; set; }
    public string? Size { get; set; }

    /// <summary><c>portrait</c>, <c>landscape</c> or <c>square</c>: picks the shape when no ratio is given, and must agree with one that is.</summary>
    public string? Orientation { get; set; }
    public List<string> Images { get; set; } = [];
    public int? Duration { get; set; }
    public long? Seed { get; set; }
    public string? NegativePrompt { get; set; }
    public string? CallbackUrl { get; set; }
    /// <summary>The webhook event types <see cref="CallbackUrl"/> receives, already checked by the surface; null: the default set.</summary>
    public IReadOnlyList<string>? WebhookEvents { get; set; }
    /// <summary>Pass-through options (<c>enhance_prompt</c>; the Sora app's <c>watermark</c>, <c>private</c>, <c>style</c>), stored with the task.</summary>
    public Dictionary<string, string> Options { get; } = new(StringComparer.Ordinal);
    public string? IdempotencyKey { get; set; }
    public string? RemixedFrom { get; set; }

    /// <summary>The client's deadline (<c>Cancel-After</c> header or <c>timeout</c> field): past it, counted from the create, the task is cancelled.</summary>
    public TimeSpan? CancelAfter { get; set; }

    /// <summary>Only price the request: check it as a create would, store and hold nothing.</summary>
    public bool DryRun { get; set; }

    /// <summary>Which API the draft came through.</summary>
    public TaskSurface Surface { get; init; } = TaskSurface.Unified;

    /// <summary>Wire name of each field on the surface that made the draft, for error messages (OpenAI says <c>seconds</c> where unified says <c>duration</c>).</summary>
    public FieldNames Names { get; init; } = FieldNames.Unified;
}

/// <summary>How a surface names the draft's fields.</summary>
public sealed record FieldNames(string Model, string Prompt, string AspectRatio, string Size, string Images, string Duration)
{
    public static readonly FieldNames Unified = new("model", "prompt", "aspect_ratio", "size", "images", "duration");

    /// <summary>The wire name of a field an upstream cannot render (an option is named by its problem, not here).</summary>
    public string Of(RenderField field) => field switch
    {
        RenderField.AspectRatio => AspectRatio,
        RenderField.Size => Size,
        _ => Duration,
    };
}
