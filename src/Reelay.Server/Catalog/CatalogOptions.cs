namespace Reelay.Catalog;

/// <summary>The public model catalog: name → what clients may ask of it and which upstream model serves it.</summary>
public sealed class CatalogOptions
{
    /// <summary>Entries keyed by public model name.</summary>
    public Dictionary<string, ModelOptions> Models { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

/// <summary>One catalog entry.</summary>
public sealed class ModelOptions
{
    /// <summary>Other names clients use for this model (upstream ids, older relay names).</summary>
    public List<string> Aliases { get; set; } = [];

    /// <summary>Prefix of the task ids this model issues (<c>grok</c> → <c>grok:…</c>). Default: the model name.</summary>
    public string? IdPrefix { get; set; }

    /// <summary>One line for <c>GET /v1/models</c>.</summary>
    public string? Description { get; set; }

    /// <summary>Accepted aspect ratios; the first is the default unless <see cref="DefaultAspectRatio"/> says otherwise.</summary>
    public List<string> AspectRatios { get; set; } = [];

    public string? DefaultAspectRatio { get; set; }

    /// <summary>Accepted size classes (<c>480P</c>, <c>720P</c>, <c>1080P</c>, <c>4K</c>): each names the short side.</summary>
    public List<string> Sizes { get; set; } = [];

    public string? DefaultSize { get; set; }

    /// <summary>
    /// Exact sizes in pixels the model also takes (Sora: <c>1792x1024</c>, <c>1024x1792</c>); a request
    /// naming one renders exactly that size. Each falls in one of <see cref="Sizes"/> by its short
    /// side and is near one of <see cref="AspectRatios"/>, which it counts as.
    /// </summary>
    public List<string> PixelSizes { get; set; } = [];

    /// <summary>Accepted durations in seconds, when only some are allowed; otherwise <see cref="MinDuration"/>–<see cref="MaxDuration"/>.</summary>
    public List<int> Durations { get; set; } = [];

    public int MinDuration { get; set; } = 1;

    public int MaxDuration { get; set; } = 15;

    public int DefaultDuration { get; set; } = 6;

    /// <summary>Sizes that allow only some durations (Veo: 1080P and 4K need 8 s), by size class.</summary>
    public Dictionary<string, List<int>> DurationsBySize { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Most reference images one request may carry.</summary>
    public int MaxImages { get; set; } = 1;

    /// <summary>A task of this model that has not finished after this long fails with <c>timeout</c>.</summary>
    public TimeSpan MaxLifetime { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Options every task of this model carries (e.g. <c>image_mode: components</c>), below the client's own.</summary>
    public Dictionary<string, string> Options { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// When set, the model is retired from its date on: a request for it is a 400 <c>model_retired</c>
    /// naming the replacement, or, with <see cref="RetirementOptions.Redirect"/>, runs on the replacement.
    /// </summary>
    public RetirementOptions? Retired { get; set; }

    /// <summary>Upstream model id per provider name (<c>xai</c> → <c>grok-imagine-video</c>); the public name otherwise.</summary>
    public Dictionary<string, string> UpstreamModels { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

/// <summary>A model's retirement: from when, what replaces it, and whether requests are moved there.</summary>
public sealed class RetirementOptions
{
    /// <summary>The day (UTC) from which the model is retired.</summary>
    public DateTimeOffset On { get; set; }

    /// <summary>The catalog model that replaces it (named in the error, or run instead with <see cref="Redirect"/>).</summary>
    public string ReplacedBy { get; set; } = "";

    /// <summary>Run requests on <see cref="ReplacedBy"/> instead of refusing them (the task's route and a response header say so). Default false: the replacement may bill differently.</summary>
    public bool Redirect { get; set; }
}
