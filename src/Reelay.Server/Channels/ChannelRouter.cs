using System.Collections.Frozen;
using Microsoft.Extensions.Options;
using Reelay.Catalog;
using Reelay.Keys;
using Reelay.Providers;

namespace Reelay.Channels;

/// <summary>One way to run a task: a channel, its provider and the upstream model id.</summary>
public sealed record RouteCandidate(Channel Channel, IVideoProvider Provider, string UpstreamModel);

/// <summary>
/// Picks the channels that may run a model, in the order to try them. Test-mode keys always get
/// the local renderer: they never reach a paid upstream.
/// </summary>
public sealed class ChannelRouter
{
    /// <summary>The built-in channel of the local renderer; always present.</summary>
    public const string LocalChannelName = "local";

    private readonly FrozenDictionary<string, IVideoProvider> _providers;
    private readonly Channel _local;
    private readonly IReadOnlyList<Channel> _channels;

    public ChannelRouter(IEnumerable<IVideoProvider> providers, IOptions<List<ChannelOptions>> options)
    {
        _providers = providers.ToFrozenDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
        _local = new Channel(new ChannelSettings(LocalChannelName, ProviderNames.Local, null, null), new Dictionary<string, string?>(), int.MaxValue, 1, true);
        var channels = new List<Channel>();
        var errors = new List<string>();
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { LocalChannelName };
        foreach (var (config, index) in options.Value.Select((c, i) => (c, i)))
        {
            var label = string.IsNullOrWhiteSpace(config.Name) ? $"Channels:{index}" : $"channel '{config.Name}'";
            if (string.IsNullOrWhiteSpace(config.Name))
            {
                config.Name = config.Provider + "-" + index;
            }

            if (!names.Add(config.Name))
            {
                errors.Add($"{label}: the name is used twice.");
            }

            if (!_providers.ContainsKey(config.Provider))
            {
                errors.Add($"{label}: Provider '{config.Provider}' is not one of {string.Join(", ", _providers.Keys.Order())}.");
                continue;
            }

            if (!string.IsNullOrWhiteSpace(config.BaseUrl) && !Uri.TryCreate(config.BaseUrl, UriKind.Absolute, out _))
            {
                errors.Add($"{label}: BaseUrl '{config.BaseUrl}' is not an absolute URL.");
                continue;
            }

            channels.Add(Channel.From(config));
        }

        if (errors.Count > 0)
        {
            throw new OptionsValidationException("Channels", typeof(ChannelOptions), errors);
        }

        _channels = channels;
    }

    public IReadOnlyList<Channel> Channels => _channels;

    /// <summary>Candidates for a model and key mode, best first; empty when nothing can serve it.</summary>
    public IReadOnlyList<RouteCandidate> Candidates(ModelEntry model, KeyMode mode)
    {
        var local = _providers[ProviderNames.Local];
        if (mode == KeyMode.Test)
        {
            return [new RouteCandidate(_local, local, model.Name)];
        }

        var candidates = new List<RouteCandidate>();
        foreach (var channel in _channels)
        {
            if (!channel.Enabled)
            {
                continue;
            }

            string? upstreamModel;
            if (channel.Models.Count > 0)
            {
                if (!TryMatch(channel, model, out upstreamModel))
                {
                    continue;
                }
            }
            else if (!model.UpstreamModels.TryGetValue(channel.Provider, out upstreamModel))
            {
                continue;
            }

            candidates.Add(new RouteCandidate(channel, _providers[channel.Provider], upstreamModel ?? model.UpstreamModelFor(channel.Provider)));
        }

        candidates.Sort((a, b) => a.Channel.Priority.CompareTo(b.Channel.Priority));
        if (candidates.Count == 0 && model.UpstreamModels.ContainsKey(ProviderNames.Local))
        {
            candidates.Add(new RouteCandidate(_local, local, model.UpstreamModelFor(ProviderNames.Local)));
        }

        return candidates;
    }

    /// <summary>The channel a task was routed to, for polling and finishing.</summary>
    public RouteCandidate? Find(string channelName, string upstreamModel)
    {
        var channel = channelName.Equals(LocalChannelName, StringComparison.OrdinalIgnoreCase)
            ? _local
            : _channels.FirstOrDefault(c => c.Name.Equals(channelName, StringComparison.OrdinalIgnoreCase));
        return channel is not null && _providers.TryGetValue(channel.Provider, out var provider)
            ? new RouteCandidate(channel, provider, upstreamModel)
            : null;
    }

    /// <summary>The sentence a 503 says when a live key asks for a model no channel serves.</summary>
    public static string MissingSetting(ModelEntry model)
    {
        var providers = model.UpstreamModels.Keys.Where(p => p != ProviderNames.Local).Order().ToList();
        var provider = providers.FirstOrDefault() ?? "unified";
        return $"No upstream is configured for model '{model.Name}'. Add a channel that serves it: set REELAY_Channels__0__Provider={provider} " +
            $"and REELAY_Channels__0__ApiKey=<{provider} key>" +
            (providers.Count > 1 ? $" (providers that serve it: {string.Join(", ", providers)})" : "") +
            ", or use a test-mode key to render a local preview.";
    }

    private static bool TryMatch(Channel channel, ModelEntry model, out string? upstreamModel)
    {
        foreach (var name in model.Aliases.Prepend(model.Name))
        {
            if (channel.Models.TryGetValue(name, out upstreamModel))
            {
                return true;
            }
        }

        upstreamModel = null;
        return false;
    }
}
