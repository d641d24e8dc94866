using System.Collections.Concurrent;
using System.Collections.Frozen;
using Microsoft.Extensions.Options;
using Reelay.Catalog;
using System.Diagnostics.Metrics;
using Reelay.Providers;
using Reelay.Telemetry;

namespace Reelay.Channels;

/// <summary>
/// The channels in force: those from configuration plus those created through the admin API,
/// validated against the known providers. Swapped as a whole when the admin API changes them or
/// when another instance did (a periodic reload); readers never see a half-built list. The model
/// names they list go to the catalog (<see cref="IModelListings"/>), swapped with them.
/// </summary>
public sealed class ChannelRegistry : IModelListings, IDisposable
{
    /// <summary>The built-in channel of the local renderer; always present.</summary>
    public const string LocalChannelName = "local";

    private readonly List<ChannelOptions> _configured;
    private readonly IChannelStore _store;
    private readonly ChannelHealthOptions _health;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, ChannelState> _states = new(StringComparer.OrdinalIgnoreCase);
    private readonly SemaphoreSlim _reload = new(1, 1);
    private volatile Snapshot _snapshot;

    /// <param name="options">Named and checked by <see cref="ChannelOptionsValidator"/> before this runs.</param>
    /// <param name="telemetry">Times every upstream call of the providers handed out (<see cref="MeasuredProvider"/>), and observes the breakers.</param>
    public ChannelRegistry(IEnumerable<IVideoProvider> providers, IOptions<List<ChannelOptions>> options, IChannelStore store, IOptions<ChannelHealthOptions> health, TimeProvider time, ReelayTelemetry telemetry)
    {
        Providers = providers.ToFrozenDictionary(p => p.Name, p => (IVideoProvider)new MeasuredProvider(p, telemetry, LatencyOf), StringComparer.OrdinalIgnoreCase);
        _configured = options.Value;
        _store = store;
        _health = health.Value;
        _time = time;
        Local = new Channel(new ChannelSettings(LocalChannelName, ProviderNames.Local, null, null), new Dictionary<string, string?>(), int.MaxValue, 1, true);
        _snapshot = Snap([.. _configured.Select(c => Channel.From(c))]);
        // 0 closed, 1 half-open (one trial call), 2 open (the channel is skipped), per channel on this instance.
        telemetry.Meter.CreateObservableGauge("reelay.channel.breaker", () => Channels.Append(Local).Select(channel => new Measurement<int>(
            StateOf(channel).Breaker switch { BreakerState.Open => 2, BreakerState.HalfOpen => 1, _ => 0 },
            new KeyValuePair<string, object?>("channel", channel.Name), new KeyValuePair<string, object?>("provider", channel.Provider))),
            description: "Each channel's circuit breaker on this instance: 0 closed, 1 half-open, 2 open.");
    }

    public FrozenDictionary<string, IVideoProvider> Providers { get; }

    /// <summary>The local renderer's channel.</summary>
    public Channel Local { get; }

    /// <summary>Every configured and admin-created channel (not the built-in local one).</summary>
    public IReadOnlyList<Channel> Channels => _snapshot.Channels;

    /// <summary>The names the channels list, each with the first lister's provider defaults; the catalog keeps those it does not know.</summary>
    public IReadOnlyList<ListedModel> Listed => _snapshot.Listed;

    public Channel? Find(string name) =>
        name.Equals(LocalChannelName, StringComparison.OrdinalIgnoreCase)
            ? Local
            : Channels.FirstOrDefault(c => c.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Where a channel's call times go; null for a channel this instance has no state for yet.</summary>
    private UpstreamLatency? LatencyOf(string channel) => _states.TryGetValue(channel, out var state) ? state.Latency : null;

    /// <summary>This instance's breaker and budgets for a channel (rebuilt if its budgets changed).</summary>
    public ChannelState StateOf(Channel channel)
    {
        var state = _states.GetOrAdd(channel.Name, _ => new ChannelState(channel, _health, _time));
        if (state.SubmitsPerMinute != channel.SubmitsPerMinute || state.PollsPerMinute != channel.PollsPerMinute)
        {
            var fresh = new ChannelState(channel, _health, _time, state.Latency);
            if (_states.TryUpdate(channel.Name, fresh, state))
            {
                state.Dispose();
                return fresh;
            }

            fresh.Dispose();
            return _states[channel.Name];
        }

        return state;
    }

    /// <summary>
    /// Checks a channel definition against the known providers; <paramref name="takenNames"/> gets
    /// the name when it is fine.
    /// </summary>
    public ChannelProblem? Validate(ChannelOptions config, ISet<string> takenNames) => ChannelRules.Check(config, Providers.Keys, takenNames);

    /// <summary>Names in use by configuration (and the local channel): the admin API may not take them.</summary>
    public bool IsConfigured(string name) =>
        name.Equals(LocalChannelName, StringComparison.OrdinalIgnoreCase) || _configured.Any(c => c.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Rebuilds the list from configuration plus the database. Admin rows that became invalid are skipped.</summary>
    public async Task ReloadAsync(CancellationToken cancellationToken)
    {
        await _reload.WaitAsync(cancellationToken);
        try
        {
            var channels = _configured.Select(c => Channel.From(c)).ToList();
            var names = new HashSet<string>(channels.Select(c => c.Name).Append(LocalChannelName), StringComparer.OrdinalIgnoreCase);
            foreach (var stored in await _store.ListAsync(cancellationToken))
            {
                if (Validate(stored, names) is null)
                {
                    channels.Add(Channel.From(stored, ChannelSource.Admin));
                }
            }

            _snapshot = Snap(channels);
        }
        finally
        {
            _reload.Release();
        }
    }

    /// <summary>
    /// The channels and the names they list, built together so the catalog never sees a model whose
    /// channel is not yet (or no longer) there. Disabled channels list too: their models exist, and
    /// a live key is told no upstream is configured, as for a catalog model.
    /// </summary>
    private Snapshot Snap(IReadOnlyList<Channel> channels)
    {
        var listed = channels
            .OrderBy(c => c.Priority).ThenBy(c => c.Name, StringComparer.Ordinal)
            .Where(c => Providers.ContainsKey(c.Provider))
            .SelectMany(c => c.Models.Keys.Select(name => new ListedModel(name, c.Name, c.Provider, Providers[c.Provider].Capabilities.DefaultModel)
            {
                Retirement = c.RetiredModels.GetValueOrDefault(name),
            }))
            .ToList();
        return new Snapshot(channels, listed);
    }

    private sealed record Snapshot(IReadOnlyList<Channel> Channels, IReadOnlyList<ListedModel> Listed);

    public void Dispose()
    {
        foreach (var state in _states.Values)
        {
            state.Dispose();
        }

        _reload.Dispose();
    }
}
