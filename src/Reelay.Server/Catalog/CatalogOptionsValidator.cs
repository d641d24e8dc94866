using Microsoft.Extensions.Options;

namespace Reelay.Catalog;

/// <summary>
/// Stops startup on a catalog that cannot work, naming the entry and the value: no ratios or sizes,
/// a ratio or size Reelay cannot render, a default duration outside the allowed ones, one name for
/// two models.
/// </summary>
internal sealed class CatalogOptionsValidator : IValidateOptions<CatalogOptions>
{
    public ValidateOptionsResult Validate(string? name, CatalogOptions options)
    {
        var errors = new List<string>();
        var owners = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (model, o) in options.Models.OrderBy(pair => pair.Key, StringComparer.Ordinal))
        {
            var before = errors.Count;
            if (o.AspectRatios.Count == 0)
            {
                errors.Add($"Catalog model '{model}' lists no AspectRatios.");
            }

            errors.AddRange(o.AspectRatios.Where(ratio => !Shapes.TryParseRatio(ratio, out _, out _))
                .Select(ratio => $"Catalog model '{model}': aspect ratio '{ratio}' is not of the form W:H."));
            if (o.Sizes.Count == 0)
            {
                errors.Add($"Catalog model '{model}' lists no Sizes.");
            }

            errors.AddRange(o.Sizes.Where(size => Shapes.ShortSide(size) is null)
                .Select(size => $"Catalog model '{model}': size '{size}' is not one of {string.Join(", ", Shapes.SizeClasses)}."));
            if (errors.Count == before && ModelCatalog.ToEntry(model, o) is var entry && !entry.AllowsDuration(entry.DefaultDuration))
            {
                errors.Add($"Catalog model '{model}': DefaultDuration {entry.DefaultDuration} is not among its durations ({entry.DescribeDurations()}).");
            }

            foreach (var alias in o.Aliases.Prepend(model))
            {
                if (!owners.TryAdd(alias, model))
                {
                    errors.Add($"Catalog name or alias '{alias}' is used by both '{owners[alias]}' and '{model}'.");
                }
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
