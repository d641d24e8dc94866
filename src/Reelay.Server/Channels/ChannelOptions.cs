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

    /// <summary>Provider: <c>xai</c>, <c>veo</c>, <c>sora</c>, <c>unified</c> or <c>local</c>.</summary>
    public string Provider { get; set; } = "";

    /// <summary>Upstream base URL; empty for the provider's public endpoint.</summary>
    public string? BaseUrl { get; set; }

    /// <summary>Upstream secret. Never logged or returned.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Public model names this channel serves; <c>public=upstream</c> maps a name. Empty: every catalog model with an upstream id for this provider.</summary>
    public List<string> Models { get; set; } = [];

    /// <summary>Lower is tried first.</summary>
    public int Priority { get; set; }

    /// <summary>Share of traffic among channels of equal priority.</summary>
    public int Weight { get; set; } = 1;

    public bool Enabled { get; set; } = true;
}

/// <summary>A channel as the router uses it: immutable config.</summary>
/// <param name="Settings">What the provider gets.</param>
/// <param name="Models">Public model name → upstream model id; empty for "every model of the provider".</param>
public sealed record Channel(ChannelSettings Settings, IReadOnlyDictionary<string, string?> Models, int Priority, int Weight, bool Enabled)
{
    public string Name => Settings.Name;

    public string Provider => Settings.Provider;

    /// <summary>Built from configuration.</summary>
    public static Channel From(ChannelOptions options)
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
        return new Channel(
            new ChannelSettings(options.Name, options.Provider.ToLowerInvariant(), baseUrl, string.IsNullOrWhiteSpace(options.ApiKey) ? null : options.ApiKey),
            models, options.Priority, Math.Max(1, options.Weight), options.Enabled);
    }
}
