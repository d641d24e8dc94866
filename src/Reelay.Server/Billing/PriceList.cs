using System.Collections.Frozen;
using Microsoft.Extensions.Options;
using Reelay.Accounts;
using Reelay.Catalog;

namespace Reelay.Billing;

/// <summary>A model's price in force and where it comes from (<c>configuration</c> or <c>admin</c>).</summary>
public sealed record PricedModel(string Model, Price Price, string Source, long? UpdatedAt);

/// <summary>
/// The prices in force: the configuration's, with those set through the admin API over them. Read
/// on every create from memory; reloaded from the database at start, after each change made here,
/// and every few seconds for changes made by other instances.
/// </summary>
public sealed class PriceList
{
    public const string FromConfiguration = "configuration";
    public const string FromAdmin = "admin";

    private readonly IPriceStore _store;
    private readonly FrozenDictionary<string, PricedModel> _configured;
    private readonly FrozenDictionary<string, long> _channelCosts;
    private volatile FrozenDictionary<string, PricedModel> _current;

    public PriceList(IOptions<BillingOptions> options, IPriceStore store, ModelCatalog catalog)
    {
        _store = store;
        // Checked at startup by BillingOptionsValidator: every name is a catalog model and every price is valid.
        _configured = options.Value.Prices
            .Select(pair => (Model: catalog.Find(pair.Key)?.Name ?? pair.Key, Price: Price.From(pair.Value, out _)))
            .Where(pair => pair.Price is not null)
            .ToFrozenDictionary(pair => pair.Model, pair => new PricedModel(pair.Model, pair.Price!, FromConfiguration, null), StringComparer.OrdinalIgnoreCase);
        _channelCosts = options.Value.ChannelCosts
            .Select(pair => (pair.Key, Micro: Credits.TryToMicro(pair.Value, out var micro) ? micro : 0))
            .ToFrozenDictionary(pair => pair.Key, pair => pair.Micro, StringComparer.OrdinalIgnoreCase);
        _current = _configured;
    }

    /// <summary>The model's price (by its catalog name); null when it is free.</summary>
    public Price? For(string model) => _current.TryGetValue(model, out var priced) ? priced.Price : null;

    /// <summary>The model's price in force with its source; null when it is free.</summary>
    public PricedModel? Priced(string model) => _current.GetValueOrDefault(model);

    /// <summary>Every priced model, by name.</summary>
    public IReadOnlyList<PricedModel> All => [.. _current.Values.OrderBy(p => p.Model, StringComparer.Ordinal)];

    /// <summary>Micro-credits the operator pays the channel per second of video; 0 when no cost price is set.</summary>
    public long ChannelCostPerSecond(string? channel) => channel is not null && _channelCosts.TryGetValue(channel, out var cost) ? cost : 0;

    public async Task ReloadAsync(CancellationToken cancellationToken)
    {
        var stored = await _store.ListAsync(cancellationToken);
        var merged = new Dictionary<string, PricedModel>(_configured, StringComparer.OrdinalIgnoreCase);
        foreach (var price in stored)
        {
            merged[price.Model] = new PricedModel(price.Model, price.Price, FromAdmin, price.UpdatedAt);
        }

        _current = merged.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Sets a model's price at run time (persisted); it applies to creates from now on, never to tasks already holding.</summary>
    public async Task SetAsync(string model, Price price, long now, CancellationToken cancellationToken)
    {
        await _store.UpsertAsync(new StoredPrice(model, price, now), cancellationToken);
        await ReloadAsync(cancellationToken);
    }

    /// <summary>Drops the run-time price: the configuration's applies again, or none. False when none was set.</summary>
    public async Task<bool> RemoveAsync(string model, CancellationToken cancellationToken)
    {
        var removed = await _store.DeleteAsync(model, cancellationToken);
        await ReloadAsync(cancellationToken);
        return removed;
    }

    /// <summary>The price the configuration gives a model, whatever is set at run time.</summary>
    public PricedModel? Configured(string model) => _configured.GetValueOrDefault(model);
}
