using System.Collections.Concurrent;
using System.Collections.Frozen;
using Microsoft.Extensions.Options;
using Reelay.Providers;

namespace Reelay.Channels;

/// <summary>
/// The channels in force: those from configuration plus those created through the admin API,
/// validated against the known providers. Swapped as a whole when the admin API changes them or
/// when another instance did (a periodic reload); readers never see a half-built list.
/// </summary>
public sealed class ChannelRegistry : IDisposable
{
    /// <summary>The built-in channel of the local renderer; always present.</summary>
    public const string LocalChannelName = "local";

    private readonly List<ChannelOptions> _configured;
    private readonly IChannelStore _store;
    private readonly ChannelHealthOptions _health;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, ChannelState> _states = new(StringComparer.OrdinalIgnoreCase);
    private readonly SemaphoreSlim _reload = new(1, 1);
    private volatile IReadOnlyList<Channel> _channels;

    public ChannelRegistry(IEnumerable<IVideoProvider> providers, IOptions<List<ChannelOptions>> options, IChannelStore store, IOptions<ChannelHealthOptions> health, TimeProvider time)
    {
        Providers = providers.ToFrozenDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
        _configured = options.Value;
        _store = store;
        _health = health.Value;
        _time = time;
        Local = new Channel(new ChannelSettings(LocalChannelName, ProviderNames.Local, null, null), new Dictionary<string, string?>(), int.MaxValue, 1, true);
        var errors = new List<string>();
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { LocalChannelName };
        var channels = new List<Channel>();
        for (var i = 0; i < _configured.Count; i++)
        {
            var config = _configured[i];
            if (string.IsNullOrWhiteSpace(config.Name))
            {
                config.Name = $"{config.Provider}-{i}";
            }

            if (Validate(config, names) is { } error)
            {
                errors.Add($"Channels:{i} ('{config.Name}'): {error}");
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

    public FrozenDictionary<string, IVideoProvider> Providers { get; }

    /// <summary>The local renderer's channel.</summary>
    public Channel Local { get; }

    /// <summary>Every configured and admin-created channel (not the built-in local one).</summary>
    public IReadOnlyList<Channel> Channels => _channels;

    public Channel? Find(string name) =>
        name.Equals(LocalChannelName, StringComparison.OrdinalIgnoreCase)
            ? Local
            : _channels.FirstOrDefault(c => c.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>This instance's breaker and budgets for a channel (rebuilt if its budgets changed).</summary>
    public ChannelState StateOf(Channel channel)
    {
        var state = _states.GetOrAdd(channel.Name, _ => new ChannelState(channel, _health, _time));
        if (state.SubmitsPerMinute != channel.SubmitsPerMinute || state.PollsPerMinute != channel.PollsPerMinute)
        {
            var fresh = new ChannelState(channel, _health, _time);
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
    /// Checks a channel definition: a known provider, a usable base URL, a unique name. Returns
    /// the problem in words, or null. <paramref name="takenNames"/> gets the name when it is fine.
    /// </summary>
    public string? Validate(ChannelOptions config, ISet<string> takenNames)
    {
        if (string.IsNullOrWhiteSpace(config.Name) || config.Name.Length > 64 || !config.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            return "Name must be 1–64 letters, digits, '-', '_' or '.'.";
        }

        if (!Providers.ContainsKey(config.Provider ?? ""))
        {
            return $"Provider '{config.Provider}' is not one of {string.Join(", ", Providers.Keys.Order())}.";
        }

        if (!string.IsNullOrWhiteSpace(config.BaseUrl)
            && (!Uri.TryCreate(config.BaseUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)))
        {
            return $"BaseUrl '{config.BaseUrl}' is not an absolute http(s) URL.";
        }

        if (config.Provider!.Equals(ProviderNames.Unified, StringComparison.OrdinalIgnoreCase) && string.IsNullOrWhiteSpace(config.BaseUrl))
        {
            return "a unified relay has no public endpoint: set BaseUrl to the relay's address.";
        }

        if (config.Weight < 0 || config.SubmitsPerMinute < 0 || config.PollsPerMinute < 0)
        {
            return "Weight, SubmitsPerMinute and PollsPerMinute cannot be negative.";
        }

        return takenNames.Add(config.Name) ? null : $"the name '{config.Name}' is used twice.";
    }

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

            _channels = channels;
        }
        finally
        {
            _reload.Release();
        }
    }

    public void Dispose()
    {
        foreach (var state in _states.Values)
        {
            state.Dispose();
        }

        _reload.Dispose();
    }
}

/// <summary>Loads admin-created channels at start and picks up other instances' changes every few seconds.</summary>
public sealed partial class ChannelReloader(ChannelRegistry registry, TimeProvider time, ILogger<ChannelReloader> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Loaded before the workers start, so the first dispatch already knows every channel.
        await registry.ReloadAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var outage = new Storage.StoreOutage();
        try
        {
            while (true)
            {
                // After a failure the wait doubles (never below the interval): the channels in memory stay in use meanwhile.
                await Task.Delay(outage.Wait > Interval ? outage.Wait : Interval, time, stoppingToken);
                try
                {
                    await registry.ReloadAsync(stoppingToken);
                    if (outage.Succeeded())
                    {
                        LogReloadRecovered(logger);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    if (outage.Failed())
                    {
                        if (e is Storage.StoreUnavailableException unavailable)
                        {
                            LogReloadPaused(logger, unavailable.Message);
                        }
                        else
                        {
                            LogReloadFailed(logger, e);
                        }
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Reloading channels from the database failed; the channels loaded before stay in use, and it is tried again with backoff")]
    private static partial void LogReloadFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reloading channels from the database pauses: {Reason}. The channels loaded before stay in use; it is tried again with backoff")]
    private static partial void LogReloadPaused(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reloading channels from the database succeeds again")]
    private static partial void LogReloadRecovered(ILogger logger);
}
