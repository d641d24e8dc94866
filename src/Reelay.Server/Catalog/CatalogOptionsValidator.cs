using Microsoft.Extensions.Options;

namespace Reelay.Catalog;

/// <summary>
/// Stops startup on a catalog that cannot work, naming the entry and the value: no ratios or sizes,
/// a ratio or size Reelay cannot render, a pixel size outside its sizes or far from every ratio, a
/// default duration outside the allowed ones, one name for two models.
/// </summary>
internal sealed class CatalogOptionsValidator : IValidateOptions<CatalogOptions>
{
    /// <summary>How far (|ln| of the ratios) a pixel size may be from the ratio it counts as: 1792x1024 is 1.6 % off 16:9.</summary>
    internal const double MaxPixelSizeDistortion = 0.03;

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

            errors.AddRange(o.Sizes.Where(size => Shapes.IsPixels(size) || Shapes.ShortSide(size) is null)
                .Select(size => $"Catalog model '{model}': size '{size}' is not one of {string.Join(", ", Shapes.SizeClasses)} (list pixel sizes under PixelSizes)."));
            foreach (var pixels in o.PixelSizes)
            {
                if (!Shapes.IsPixels(pixels))
                {
                    errors.Add($"Catalog model '{model}': pixel size '{pixels}' is not WIDTHxHEIGHT with even sides.");
                    continue;
                }

                var (width, height) = Shapes.For(pixels, "1:1");
                if (!o.Sizes.Contains(Shapes.ClassOf(pixels), StringComparer.OrdinalIgnoreCase))
                {
                    errors.Add($"Catalog model '{model}': pixel size '{pixels}' is a {Shapes.ClassOf(pixels)} size, which is not among its Sizes.");
                }

                if (Shapes.Nearest(o.AspectRatios, width, height) is not ({ } ratio, <= MaxPixelSizeDistortion)
                    || Shapes.Orientation(ratio) != Shapes.Orientation(width, height))
                {
                    errors.Add($"Catalog model '{model}': pixel size '{pixels}' is near none of its AspectRatios.");
                }
            }

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

        foreach (var (model, o) in options.Models.Where(pair => pair.Value.Retired is not null).OrderBy(pair => pair.Key, StringComparer.Ordinal))
        {
            var replacement = o.Retired!.ReplacedBy;
            if (!owners.TryGetValue(replacement, out var owner) || owner.Equals(model, StringComparison.OrdinalIgnoreCase))
            {
                errors.Add($"Catalog model '{model}': Retired:ReplacedBy '{replacement}' is not another catalog model.");
            }
            else if (options.Models[owner].Retired is { Redirect: true } && o.Retired.Redirect)
            {
                errors.Add($"Catalog model '{model}' redirects to '{owner}', which is retired and redirects too: name the model that finally serves it.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
