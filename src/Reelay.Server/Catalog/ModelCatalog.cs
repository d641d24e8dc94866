using System.Collections.Frozen;
using Microsoft.Extensions.Options;

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
    public bool AllowsDuration(int seconds) =>
        Durations.Count > 0 ? Durations.Contains(seconds) : seconds >= MinDuration && seconds <= MaxDuration;

    /// <summary>The durations a size is limited to, or null when the model's own apply.</summary>
    public IReadOnlyList<int>? DurationsFor(string size) => DurationsBySize.GetValueOrDefault(size);

    /// <summary>"4, 6 or 8" / "1–15": how error messages name the allowed durations.</summary>
    public string DescribeDurations() =>
        Durations.Count > 0 ? string.Join(", ", Durations) : $"{MinDuration}–{MaxDuration}";

    /// <summary>The upstream model id for a provider.</summary>
    public string UpstreamModelFor(string provider) => UpstreamModels.TryGetValue(provider, out var id) ? id : Name;
}

/// <summary>Looks models up by name or alias (case-insensitive). Built once from configuration.</summary>
public sealed class ModelCatalog
{
    private readonly FrozenDictionary<string, ModelEntry> _byName;

    /// <param name="options">Checked by <see cref="CatalogOptionsValidator"/> before this runs.</param>
    public ModelCatalog(IOptions<CatalogOptions> options)
    {
        Entries = [.. options.Value.Models.Select(pair => ToEntry(pair.Key, pair.Value)).OrderBy(e => e.Name, StringComparer.Ordinal)];
        _byName = Entries
            .SelectMany(entry => entry.Aliases.Prepend(entry.Name).Select(name => KeyValuePair.Create(name, entry)))
            .ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    public IReadOnlyList<ModelEntry> Entries { get; }

    public ModelEntry? Find(string name) => _byName.GetValueOrDefault(name);

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
            o.DurationsBySize.ToFrozenDictionary(p => p.Key.ToUpperInvariant(), p => (IReadOnlyList<int>)p.Value.AsReadOnly(), StringComparer.Ordinal));
}
