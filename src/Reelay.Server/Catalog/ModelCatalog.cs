using System.Collections.Frozen;
using Microsoft.Extensions.Options;
using Reelay.Providers;

namespace Reelay.Catalog;

/// <summary>A catalog entry, normalized and frozen.</summary>
public sealed record ModelEntry(
    string Name,
    IReadOnlyList<string> Aliases,
    string IdPrefix,
    string? Description,
    IReadOnlyList<string> AspectRatios,
    string DefaultAspectRatio,
    IReadOnlyList<string> Sizes,
    string DefaultSize,
    IReadOnlyList<int> Durations,
    int MinDuration,
    int MaxDuration,
    int DefaultDuration,
    int MaxImages,
    TimeSpan MaxLifetime,
    IReadOnlyDictionary<string, string> UpstreamModels,
    IReadOnlyDictionary<string, string> Options,
    IReadOnlyDictionary<string, IReadOnlyList<int>> DurationsBySize)
{
    /// <summary>Exact pixel sizes (<c>1792x1024</c>) the model takes besides its size classes.</summary>
    public IReadOnlyList<string> PixelSizes { get; init; } = [];

    /// <summary>When and by what the model is retired; null for a model in service.</summary>
    public ModelRetirement? Retirement { get; init; }

    /// <summary>The retirement in force at <paramref name="now"/>, or null.</summary>
    public ModelRetirement? RetiredAt(DateTimeOffset now) => Retirement is { } r && now >= r.On ? r : null;

    /// <summary>The channel whose <c>Models</c> list made this model, for a model the catalog does not know; null for catalog entries.</summary>
    public string? ListedBy { get; init; }

    public bool AllowsDuration(int seconds) =>
        Durations.Count > 0 ? Durations.Contains(seconds) : seconds >= MinDuration && seconds <= MaxDuration;

    /// <summary>The durations a size is limited to, or null when the model's own apply.</summary>
    public IReadOnlyList<int>? DurationsFor(string size) => DurationsBySize.GetValueOrDefault(size);

    /// <summary>"4, 6 or 8" / "1–15": how error messages name the allowed durations.</summary>
    public string DescribeDurations() =>
        Durations.Count > 0 ? string.Join(", ", Durations) : $"{MinDuration}–{MaxDuration}";

    /// <summary>The upstream model id for a provider.</summary>
    public string UpstreamModelFor(string provider) => UpstreamModels.TryGetValue(provider, out var id) ? id : Name;

    /// <summary>
    /// The ratio an orientation stands for on this model: the default when it has that orientation,
    /// else the default's mirror (3:2 → 2:3), else the first listed of that orientation; null when
    /// the model has none (no square shape).
    /// </summary>
    public string? RatioFor(string orientation)
    {
        if (Shapes.Orientation(DefaultAspectRatio) == orientation)
        {
            return DefaultAspectRatio;
        }

        var colon = DefaultAspectRatio.IndexOf(':', StringComparison.Ordinal);
        var mirror = colon < 0 ? "" : DefaultAspectRatio[(colon + 1)..] + ":" + DefaultAspectRatio[..colon];
        return AspectRatios.Contains(mirror, StringComparer.Ordinal) && Shapes.Orientation(mirror) == orientation
            ? mirror
            : AspectRatios.FirstOrDefault(ratio => Shapes.Orientation(ratio) == orientation);
    }
}

/// <summary>A model's retirement (<see cref="RetirementOptions"/>), frozen.</summary>
public sealed record ModelRetirement(DateTimeOffset On, string ReplacedBy, bool Redirect)
{
    /// <summary>The date as messages and headers write it (<c>2026-06-30</c>).</summary>
    public string Date => On.UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>A model name listed outside the catalog (in a channel's <c>Models</c>), with the provider whose defaults it takes.</summary>
/// <param name="Name">The public name as listed.</param>
/// <param name="ListedBy">The channel that lists it first (by priority, then name).</param>
/// <param name="Provider">That channel's provider.</param>
/// <param name="Defaults">That provider's <see cref="ProviderCapabilities.DefaultModel"/>.</param>
public sealed record ListedModel(string Name, string ListedBy, string Provider, ModelDefaults Defaults)
{
    /// <summary>The retirement that channel gives the name, if any.</summary>
    public ModelRetirement? Retirement { get; init; }
}

/// <summary>
/// Model names that something other than the catalog lists. The channels implement it: the
/// catalog sits below them and cannot ask them itself.
/// </summary>
public interface IModelListings
{
    /// <summary>The current listings, best first; a new list whenever they change, so the catalog rebuilds only then.</summary>
    IReadOnlyList<ListedModel> Listed { get; }
}

/// <summary>
/// Looks models up by name or alias (case-insensitive): the configured entries, those set through the
/// admin API over them (stored, reloaded like prices), plus every name a channel lists that no entry
/// knows, with its provider's default capabilities. A view is built only when one of these changed.
/// </summary>
public sealed class ModelCatalog
{
    /// <summary>A listed model's task id prefix when its name would not make a tidy one.</summary>
    private const string FallbackIdPrefix = "video";

    private readonly IReadOnlyDictionary<string, ModelOptions> _configured;
    private readonly ICatalogStore? _store;
    private readonly IModelListings[] _listings;
    private volatile CatalogPart _entries;
    private volatile View _view;

    /// <param name="options">Checked by <see cref="CatalogOptionsValidator"/> before this runs.</param>
    /// <param name="listings">The channels' model lists (none in tests that build a catalog alone).</param>
    /// <param name="store">Entries set at run time; none in tests that build a catalog alone.</param>
    public ModelCatalog(IOptions<CatalogOptions> options, IEnumerable<IModelListings> listings, ICatalogStore? store = null)
    {
        _configured = options.Value.Models.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        _store = store;
        _entries = CatalogPart.Of(_configured, FrozenDictionary<string, StoredModel>.Empty);
        _listings = [.. listings];
        // Neither the entries nor any listing match this first view, so the first lookup builds the real one.
        _view = new View([.. _listings.Select(_ => (IReadOnlyList<ListedModel>)null!)], null!, [], FrozenDictionary<string, ModelEntry>.Empty);
    }

    /// <summary>Every model, catalog entries and listed ones, by name.</summary>
    public IReadOnlyList<ModelEntry> Entries => Current.Entries;

    public ModelEntry? Find(string name) => Current.ByName.GetValueOrDefault(name);

    /// <summary>Where an entry comes from: <c>admin</c> (set at run time), <c>configuration</c>, or <c>channel</c> (listed by one).</summary>
    public string SourceOf(ModelEntry entry) =>
        entry.ListedBy is not null ? FromChannel : _entries.Stored.ContainsKey(entry.Name) ? FromAdmin : FromConfiguration;

    public const string FromConfiguration = "configuration";
    public const string FromAdmin = "admin";
    public const string FromChannel = "channel";

    /// <summary>The stored entry of that name (set at run time), if any.</summary>
    public StoredModel? Stored(string name) => _entries.Stored.GetValueOrDefault(name);

    /// <summary>
    /// Why an entry cannot be set at run time, in the configuration's words (the same rules as at
    /// startup, checked against every other entry, so a name or alias cannot be taken twice); empty when it can.
    /// </summary>
    public IReadOnlyList<string> Check(string name, ModelOptions options)
    {
        var all = new Dictionary<string, ModelOptions>(_entries.Options, StringComparer.OrdinalIgnoreCase) { [name] = options };
        var result = new CatalogOptionsValidator().Validate(null, new CatalogOptions { Models = all });
        return result.Failed ? [.. result.Failures ?? []] : [];
    }

    /// <summary>Reads the entries set at run time and puts them in force.</summary>
    public async Task ReloadAsync(CancellationToken cancellationToken)
    {
        if (_store is null)
        {
            return;
        }

        var stored = await _store.ListAsync(cancellationToken);
        _entries = CatalogPart.Of(_configured, stored.ToFrozenDictionary(m => m.Name, StringComparer.OrdinalIgnoreCase));
    }

    /// <summary>Sets an entry at run time (persisted; checked by <see cref="Check"/> first): creates from now on see it.</summary>
    public async Task SetAsync(StoredModel model, CancellationToken cancellationToken)
    {
        await (_store ?? throw new InvalidOperationException("This catalog has no store.")).UpsertAsync(model, cancellationToken);
        await ReloadAsync(cancellationToken);
    }

    /// <summary>Drops the run-time entry: the configuration's applies again, or the model is gone. False when none was set.</summary>
    public async Task<bool> RemoveAsync(string name, CancellationToken cancellationToken)
    {
        var removed = _store is not null && await _store.DeleteAsync(name, cancellationToken);
        await ReloadAsync(cancellationToken);
        return removed;
    }

    /// <summary>The view for the listings in force, rebuilt only when a listing changed.</summary>
    private View Current
    {
        get
        {
            var view = _view;
            if (IsCurrent(view))
            {
                return view;
            }

            var sources = Array.ConvertAll(_listings, l => l.Listed);
            var catalog = _entries;
            // Racing rebuilds make equal views; whichever is stored last wins harmlessly.
            var listed = new Dictionary<string, ModelEntry>(StringComparer.OrdinalIgnoreCase);
            foreach (var model in sources.SelectMany(source => source))
            {
                // A catalog entry (or alias) overrides a listing; the first listing of a name wins.
                if (!string.IsNullOrWhiteSpace(model.Name) && !catalog.ByName.ContainsKey(model.Name) && !listed.ContainsKey(model.Name))
                {
                    listed[model.Name] = FromListing(model);
                }
            }

            var entries = catalog.List.Concat(listed.Values).OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
            var byName = catalog.ByName.Concat(listed).ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
            view = new View(sources, catalog, entries, byName);
            _view = view;
            return view;
        }
    }

    // Every lookup asks: a reference comparison per listing, no allocation.
    private bool IsCurrent(View view)
    {
        if (!ReferenceEquals(view.Catalog, _entries))
        {
            return false;
        }

        for (var i = 0; i < _listings.Length; i++)
        {
            if (!ReferenceEquals(_listings[i].Listed, view.Sources[i]))
            {
                return false;
            }
        }

        return true;
    }

    internal static ModelEntry ToEntry(string name, ModelOptions o) =>
        new(
            name,
            o.Aliases.AsReadOnly(),
            string.IsNullOrWhiteSpace(o.IdPrefix) ? name : o.IdPrefix,
            o.Description,
            o.AspectRatios.AsReadOnly(),
            o.DefaultAspectRatio ?? o.AspectRatios[0],
            o.Sizes.Select(s => s.ToUpperInvariant()).ToList().AsReadOnly(),
            (o.DefaultSize ?? o.Sizes[0]).ToUpperInvariant(),
            o.Durations.AsReadOnly(),
            o.MinDuration,
            o.MaxDuration,
            o.DefaultDuration,
            o.MaxImages,
            o.MaxLifetime,
            o.UpstreamModels.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase),
            o.Options.ToFrozenDictionary(StringComparer.Ordinal),
            o.DurationsBySize.ToFrozenDictionary(p => p.Key.ToUpperInvariant(), p => (IReadOnlyList<int>)p.Value.AsReadOnly(), StringComparer.Ordinal))
        {
            PixelSizes = [.. o.PixelSizes.Select(Shapes.CanonicalPixels)],
            Retirement = o.Retired is { } retired ? new ModelRetirement(retired.On, retired.ReplacedBy, retired.Redirect) : null,
        };

    /// <summary>
    /// A listed model: its provider's defaults, no upstream ids of its own (so only channels that
    /// list it serve it, never every channel of the provider), the default lifetime.
    /// </summary>
    private static ModelEntry FromListing(ListedModel listed)
    {
        var d = listed.Defaults;
        var tidy = listed.Name.Length <= 64 && listed.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
        return new(
            listed.Name,
            [],
            tidy ? listed.Name : FallbackIdPrefix,
            $"Listed by channel '{listed.ListedBy}'; takes what the {listed.Provider} provider takes by default (a Catalog:Models entry can say more).",
            d.AspectRatios,
            d.AspectRatios[0],
            [.. d.Sizes.Select(s => s.ToUpperInvariant())],
            d.Sizes[0].ToUpperInvariant(),
            d.Durations,
            d.MinDuration,
            d.MaxDuration,
            d.DefaultDuration,
            d.MaxImages,
            new ModelOptions().MaxLifetime,
            FrozenDictionary<string, string>.Empty,
            FrozenDictionary<string, string>.Empty,
            d.DurationsBySize.ToFrozenDictionary(p => p.Key.ToUpperInvariant(), p => p.Value, StringComparer.Ordinal))
        {
            ListedBy = listed.ListedBy,
            Retirement = listed.Retirement,
        };
    }

    private sealed record View(IReadOnlyList<ListedModel>[] Sources, CatalogPart Catalog, IReadOnlyList<ModelEntry> Entries, FrozenDictionary<string, ModelEntry> ByName);

    /// <summary>The catalog's own entries in force: the configured ones with the stored ones over them, by name and alias.</summary>
    private sealed record CatalogPart(
        IReadOnlyDictionary<string, ModelOptions> Options, FrozenDictionary<string, StoredModel> Stored, IReadOnlyList<ModelEntry> List, FrozenDictionary<string, ModelEntry> ByName)
    {
        public static CatalogPart Of(IReadOnlyDictionary<string, ModelOptions> configured, FrozenDictionary<string, StoredModel> stored)
        {
            var options = new Dictionary<string, ModelOptions>(configured, StringComparer.OrdinalIgnoreCase);
            foreach (var (name, model) in stored)
            {
                // A stored entry replaces a configured one of the same name (the indexer keeps the configured spelling).
                options[name] = model.Options;
            }

            var list = options.Select(pair => ToEntry(pair.Key, pair.Value)).OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
            var byName = list
                .SelectMany(entry => entry.Aliases.Prepend(entry.Name).Select(name => KeyValuePair.Create(name, entry)))
                .ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
            return new CatalogPart(options, stored, list, byName);
        }
    }
}
