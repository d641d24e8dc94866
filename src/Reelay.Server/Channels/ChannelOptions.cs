using Reelay.Catalog;
using Reelay.Providers;

namespace Reelay.Channels;

/// <summary>
/// One upstream account, as configured in the <c>Channels</c> list of appsettings.json or with
/// <c>REELAY_Channels__&lt;n&gt;__&lt;Field&gt;</c>.
/// </summary>
public sealed class ChannelOptions
{
    /// <summary>Unique name, shown in the route a task took.</summary>
    public string Name { get; set; } = "";

    /// <summary>Provider name (<see cref="ProviderNames"/>): <c>xai</c>, <c>veo</c>, <c>sora</c>, <c>unified</c>, <c>seedance</c>… or <c>local</c>.</summary>
    public string Provider { get; set; } = "";

    /// <summary>Upstream base URL; empty for the provider's public endpoint.</summary>
    public string? BaseUrl { get; set; }

    /// <summary>Upstream secret. Never logged or returned.</summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// A Google service-account JSON key (<c>vertex-veo</c>; <c>gemini-omni</c> on Vertex AI), in place of
    /// <see cref="ApiKey"/>: it is the channel's secret, kept and redacted exactly as an API key is.
    /// </summary>
    public string? ServiceAccountKey { get; set; }

    /// <summary>Google Cloud project (Vertex AI); empty: the service-account key's <c>project_id</c>.</summary>
    public string? Project { get; set; }

    /// <summary>Google Cloud location (Vertex AI region, e.g. <c>us-central1</c>; Omni on Vertex is <c>global</c>). Empty: the provider's default.</summary>
    public string? Location { get; set; }

    /// <summary>Cloud Storage bucket (<c>my-bucket</c> or <c>gs://my-bucket/prefix</c>) Vertex AI writes results to; empty: results come inline.</summary>
    public string? Bucket { get; set; }

    /// <summary>Public model names this channel serves; <c>public=upstream</c> maps a name. Empty: every catalog model with an upstream id for this provider.</summary>
    public List<string> Models { get; set; } = [];

    /// <summary>
    /// Models this channel lists that are retired, by public name (one of <see cref="Models"/>): from the
    /// day on, a request for one is a 400 <c>model_retired</c> naming the replacement, or runs on it with
    /// <see cref="RetirementOptions.Redirect"/>. For a model the catalog defines, its entry's <c>Retired</c> applies instead.
    /// </summary>
    public Dictionary<string, RetirementOptions> RetiredModels { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Lower is tried first.</summary>
    public int Priority { get; set; }

    /// <summary>Share of traffic among channels of equal priority.</summary>
    public int Weight { get; set; } = 1;

    public bool Enabled { get; set; } = true;

    /// <summary>Most upstream submissions per minute on this channel (0: no limit). Over budget, the next channel is tried.</summary>
    public int SubmitsPerMinute { get; set; }

    /// <summary>Most status polls per minute on this channel (0: no limit). Over budget, polls wait their turn.</summary>
    public int PollsPerMinute { get; set; }

    /// <summary>First wait before polling a job, from which polling backs off. Empty: the provider's own (5 s for most).</summary>
    public TimeSpan? PollInterval { get; set; }

    /// <summary>
    /// Reelay's address as the upstream sees it (<c>https://reelay.example.com/</c>). When set, and the
    /// provider takes callbacks, each job is submitted with its own callback URL under it
    /// (<c>/callbacks/{provider}/{token}</c>), polled at once when a callback comes, and otherwise
    /// only every <see cref="CallbackPollInterval"/>. Absolute http(s), without query or fragment;
    /// admin-created channels set it as <c>public_callback_base_url</c>.
    /// </summary>
    public string? PublicCallbackBaseUrl { get; set; }

    /// <summary>With callbacks on: the fallback poll interval, in case a callback is lost. Default 1 min.</summary>
    public TimeSpan CallbackPollInterval { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>Where a channel's definition lives: configuration (read-only at run time) or the admin API (stored in the database).</summary>
public enum ChannelSource
{
    Config,
    Admin,
}

/// <summary>A channel as the router uses it: immutable config. Runtime health lives in <see cref="ChannelState"/>.</summary>
/// <param name="Settings">What the provider gets.</param>
/// <param name="Models">Public model name → upstream model id (null: the catalog's id); empty for "every model of the provider".</param>
public sealed record Channel(
    ChannelSettings Settings,
    IReadOnlyDictionary<string, string?> Models,
    int Priority,
    int Weight,
    bool Enabled,
    int SubmitsPerMinute = 0,
    int PollsPerMinute = 0,
    ChannelSource Source = ChannelSource.Config,
    TimeSpan? PollInterval = null,
    Uri? PublicCallbackBaseUrl = null,
    TimeSpan? CallbackPollInterval = null)
{
    public string Name => Settings.Name;

    public string Provider => Settings.Provider;

    /// <summary>The listed models it retires (<see cref="ChannelOptions.RetiredModels"/>), by public name.</summary>
    public IReadOnlyDictionary<string, ModelRetirement> RetiredModels { get; init; } = NoRetirements;

    private static readonly IReadOnlyDictionary<string, ModelRetirement> NoRetirements = new Dictionary<string, ModelRetirement>();

    /// <summary>The models list as configured (<c>public</c> or <c>public=upstream</c>).</summary>
    public IReadOnlyList<string> ModelsAsConfigured =>
        [.. Models.Select(pair => pair.Value is null ? pair.Key : pair.Key + "=" + pair.Value)];

    /// <summary>Built from configuration or an admin request.</summary>
    public static Channel From(ChannelOptions options, ChannelSource source = ChannelSource.Config)
    {
        var models = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in options.Models)
        {
            var equals = entry.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0)
            {
                models[entry.Trim()] = null;
            }
            else
            {
                models[entry[..equals].Trim()] = entry[(equals + 1)..].Trim();
            }
        }

        var baseUrl = string.IsNullOrWhiteSpace(options.BaseUrl) ? null : new Uri(options.BaseUrl.TrimEnd('/') + "/");
        var secret = string.IsNullOrWhiteSpace(options.ServiceAccountKey) ? options.ApiKey : options.ServiceAccountKey;
        var settings = new ChannelSettings(options.Name, options.Provider.ToLowerInvariant(), baseUrl, string.IsNullOrWhiteSpace(secret) ? null : secret)
        {
            Project = string.IsNullOrWhiteSpace(options.Project) ? null : options.Project.Trim(),
            Location = string.IsNullOrWhiteSpace(options.Location) ? null : options.Location.Trim(),
            Bucket = string.IsNullOrWhiteSpace(options.Bucket) ? null : options.Bucket.Trim(),
        };
        return new Channel(
            settings,
            models, options.Priority, Math.Max(1, options.Weight), options.Enabled,
            Math.Max(0, options.SubmitsPerMinute), Math.Max(0, options.PollsPerMinute), source, options.PollInterval,
            string.IsNullOrWhiteSpace(options.PublicCallbackBaseUrl) ? null : new Uri(options.PublicCallbackBaseUrl.TrimEnd('/') + "/"),
            options.CallbackPollInterval)
        {
            RetiredModels = options.RetiredModels.Count == 0
                ? NoRetirements
                : options.RetiredModels.ToDictionary(pair => pair.Key.Trim(), pair => new ModelRetirement(pair.Value.On, pair.Value.ReplacedBy.Trim(), pair.Value.Redirect), StringComparer.OrdinalIgnoreCase),
        };
    }
}
