using Reelay.Catalog;
using Reelay.Keys;
using Reelay.Providers;

namespace Reelay.Channels;

/// <summary>One way to run a task: a channel, its provider, the upstream model id, and the channel's runtime state.</summary>
public sealed record RouteCandidate(Channel Channel, IVideoProvider Provider, string UpstreamModel, ChannelState State)
{
    /// <summary>Whether jobs on this route are submitted with a callback URL: the channel has a public callback address and the provider takes callbacks.</summary>
    public bool UsesCallbacks => Channel.PublicCallbackBaseUrl is not null && Provider.Capabilities.AcceptsCallbacks;

    /// <summary>
    /// First poll delay: with callbacks, the slow fallback (a callback makes the job due at once);
    /// otherwise the channel's setting, else the provider's.
    /// </summary>
    public TimeSpan PollInterval => UsesCallbacks
        ? Channel.CallbackPollInterval ?? TimeSpan.FromMinutes(1)
        : Channel.PollInterval ?? Provider.Capabilities.PollInterval;

    /// <summary>Longest poll delay after backing off.</summary>
    public TimeSpan MaxPollInterval => PollInterval > Provider.Capabilities.MaxPollInterval ? PollInterval : Provider.Capabilities.MaxPollInterval;
}

/// <summary>A channel passed over because its upstream cannot render the request, and what it takes instead.</summary>
public sealed record RouteRefusal(RouteCandidate Candidate, RenderProblem Problem);

/// <summary>The channels that may run a request, best first, and those that serve its model but cannot render it.</summary>
public sealed record RouteChoice(IReadOnlyList<RouteCandidate> Candidates, IReadOnlyList<RouteRefusal> Refused);

/// <summary>
/// Picks the channels that may run a model, in the order to try them: by priority, then among equals
/// the one with the fewest tasks in flight for its weight (a busy GPU box gets less new work), then
/// weighted at random among those equally loaded. Test-mode keys always get the local renderer: they never reach a paid
/// upstream. Given a request, it passes over the channels whose upstream cannot render it.
/// </summary>
public sealed class ChannelRouter(ChannelRegistry registry)
{
    /// <summary>
    /// Candidates for a request, best first, without those whose provider cannot render its shape,
    /// size or length (<see cref="IVideoProvider.CheckRender"/>); those are listed apart, so an
    /// answer can say what the configured upstreams take.
    /// </summary>
    public RouteChoice Route(ModelEntry model, KeyMode mode, RenderSpec spec)
    {
        var fit = new List<RouteCandidate>();
        var refused = new List<RouteRefusal>();
        foreach (var candidate in Candidates(model, mode))
        {
            if (candidate.Provider.CheckRender(spec with { UpstreamModel = candidate.UpstreamModel }) is { } problem)
            {
                refused.Add(new RouteRefusal(candidate, problem));
            }
            else
            {
                fit.Add(candidate);
            }
        }

        return new RouteChoice(fit, refused);
    }

    /// <summary>What a refusal says about each channel passed over: "channel 'sora-gw' (sora) renders duration 4, 8, 12 seconds".</summary>
    /// <param name="refused">The channels passed over.</param>
    /// <param name="fieldName">How the surface names each field; the unified names when null.</param>
    public static string DescribeRefusals(IEnumerable<RouteRefusal> refused, Func<RenderField, string>? fieldName = null) =>
        string.Join("; ", refused.Select(r =>
            $"channel '{r.Candidate.Channel.Name}' ({r.Candidate.Provider.Name}) renders '{r.Problem.Option ?? (fieldName ?? UnifiedName)(r.Problem.Field)}' {r.Problem.Accepts}"));

    private static string UnifiedName(RenderField field) => field switch
    {
        RenderField.AspectRatio => "aspect_ratio",
        RenderField.Size => "size",
        _ => "duration",
    };

    /// <summary>Candidates for a model and key mode, best first; empty when nothing is configured to serve it.</summary>
    public IReadOnlyList<RouteCandidate> Candidates(ModelEntry model, KeyMode mode)
    {
        if (mode == KeyMode.Test)
        {
            return [ToCandidate(registry.Local, model.Name)];
        }

        var candidates = new List<(RouteCandidate Candidate, double Load, double Key)>();
        foreach (var channel in registry.Channels)
        {
            if (channel.Enabled && ServedModel(channel, model) is { } upstreamModel)
            {
                var candidate = ToCandidate(channel, upstreamModel);
                // In flight per unit of weight: weights 2 and 1 fill as 2:1 while jobs last. Idle
                // channels tie at 0, so sequential traffic keeps the weighted random split.
                var load = candidate.State.InFlight / (double)channel.Weight;
                // Efraimidis–Spirakis: sorting by U^(1/weight) draws a weighted random order.
                var key = Math.Pow(Random.Shared.NextDouble(), 1.0 / channel.Weight);
                candidates.Add((candidate, load, key));
            }
        }

        if (candidates.Count == 0)
        {
            return model.UpstreamModels.ContainsKey(ProviderNames.Local)
                ? [ToCandidate(registry.Local, model.UpstreamModelFor(ProviderNames.Local))]
                : [];
        }

        return [.. candidates
            .OrderBy(c => c.Candidate.Channel.Priority)
            .ThenBy(c => c.Load)
            .ThenByDescending(c => c.Key)
            .Select(c => c.Candidate)];
    }

    /// <summary>The channel a task was routed to, for polling and finishing; null if it no longer exists.</summary>
    public RouteCandidate? Find(string channelName, string upstreamModel) =>
        registry.Find(channelName) is { } channel && registry.Providers.ContainsKey(channel.Provider)
            ? ToCandidate(channel, upstreamModel)
            : null;

    /// <summary>The sentence a 503 says when a live key asks for a model no channel serves.</summary>
    public static string MissingSetting(ModelEntry model)
    {
        var providers = model.UpstreamModels.Keys.Where(p => p != ProviderNames.Local).Order().ToList();
        var provider = providers.FirstOrDefault() ?? ProviderNames.Unified;
        return $"No upstream is configured for model '{model.Name}'. Add a channel that serves it: set REELAY_Channels__0__Provider={provider} " +
            $"and REELAY_Channels__0__ApiKey=<{provider} key>" +
            (providers.Count > 1 ? $" (providers that serve it: {string.Join(", ", providers)})" : "") +
            " or use POST /admin/channels; or use a test-mode key to render a local preview.";
    }

    /// <summary>The upstream model id if the channel serves this model, else null.</summary>
    private static string? ServedModel(Channel channel, ModelEntry model)
    {
        if (channel.Models.Count == 0)
        {
            return model.UpstreamModels.TryGetValue(channel.Provider, out var id) ? id : null;
        }

        foreach (var name in model.Aliases.Prepend(model.Name))
        {
            if (channel.Models.TryGetValue(name, out var mapped))
            {
                return mapped ?? model.UpstreamModelFor(channel.Provider);
            }
        }

        return null;
    }

    private RouteCandidate ToCandidate(Channel channel, string upstreamModel) =>
        new(channel, registry.Providers[channel.Provider], upstreamModel, registry.StateOf(channel));
}
