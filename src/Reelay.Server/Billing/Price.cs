using System.Collections.Frozen;
using Reelay.Accounts;
using Reelay.Catalog;

namespace Reelay.Billing;

/// <summary>What a price counts: each second of output, or each video whatever its length.</summary>
public enum PriceUnit
{
    Second,
    Video,
}

/// <summary>
/// A model's price in micro-credits per <see cref="Unit"/>: <see cref="Amount"/>, or the amount of
/// the request's size class when <see cref="Sizes"/> names it, plus every option surcharge whose
/// <c>name=value</c> the request carries (<c>style=anime</c>); a bare <c>name</c> stands for
/// <c>name=true</c> (<c>enable_upsample</c>, an upstream's audio switch).
/// </summary>
public sealed record Price(PriceUnit Unit, long Amount)
{
    private static readonly IReadOnlyDictionary<string, long> Empty = FrozenDictionary<string, long>.Empty;

    /// <summary>Amount per unit by size class (<c>1080P</c>), replacing <see cref="Amount"/>.</summary>
    public IReadOnlyDictionary<string, long> Sizes { get; init; } = Empty;

    /// <summary>Added per unit when the request's option <c>name</c> has <c>value</c>, keyed <c>name=value</c> or <c>name</c> (for true).</summary>
    public IReadOnlyDictionary<string, long> Options { get; init; } = Empty;

    /// <summary>The price of one unit for this size and these options.</summary>
    public long UnitPrice(string size, IReadOnlyDictionary<string, string> options)
    {
        var amount = Sizes.TryGetValue(Shapes.ClassOf(size), out var bySize) ? bySize : Amount;
        foreach (var (option, surcharge) in Options)
        {
            var equals = option.IndexOf('=', StringComparison.Ordinal);
            var (name, wanted) = equals < 0 ? (option, "true") : (option[..equals], option[(equals + 1)..]);
            if (options.TryGetValue(name, out var value) && value.Equals(wanted, StringComparison.OrdinalIgnoreCase))
            {
                amount += surcharge;
            }
        }

        return amount;
    }

    /// <summary>The hold for a request: the unit price times the requested seconds, or once per video.</summary>
    public Quote QuoteFor(string model, string size, int durationSeconds, IReadOnlyDictionary<string, string> options)
    {
        var unitPrice = UnitPrice(size, options);
        return new Quote(model, Unit, unitPrice, durationSeconds, Unit == PriceUnit.Second ? unitPrice * durationSeconds : unitPrice);
    }

    /// <summary><c>second</c> or <c>video</c>, as the API and the database spell the unit.</summary>
    public static string UnitText(PriceUnit unit) => unit == PriceUnit.Video ? "video" : "second";

    public static PriceUnit? ParseUnit(string? text) => text switch
    {
        "second" => PriceUnit.Second,
        "video" => PriceUnit.Video,
        _ => null,
    };

    /// <summary>
    /// The price a set of settings describes, or what is wrong with them: exactly one of
    /// <see cref="PriceOptions.PerSecond"/> and <see cref="PriceOptions.PerVideo"/>, amounts of zero or more
    /// with at most six decimals, sizes among the size classes, options spelled <c>name=value</c> or <c>name</c>.
    /// Configuration and the admin API are checked by this one rule.
    /// </summary>
    public static Price? From(PriceOptions options, out string? problem)
    {
        problem = null;
        if (options.PerSecond is null == options.PerVideo is null)
        {
            problem = "set exactly one of PerSecond and PerVideo";
            return null;
        }

        var unit = options.PerSecond is not null ? PriceUnit.Second : PriceUnit.Video;
        if (!TryAmount(options.PerSecond ?? options.PerVideo!.Value, out var amount))
        {
            problem = $"{(unit == PriceUnit.Second ? "PerSecond" : "PerVideo")} must be zero or more credits with at most six decimals, got {options.PerSecond ?? options.PerVideo}";
            return null;
        }

        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (size, credits) in options.Sizes)
        {
            var sizeClass = size.Trim().ToUpperInvariant();
            if (!Shapes.SizeClasses.Contains(sizeClass))
            {
                problem = $"size '{size}' is not one of {string.Join(", ", Shapes.SizeClasses)}";
                return null;
            }

            if (!TryAmount(credits, out var sizeAmount))
            {
                problem = $"the price for size {sizeClass} must be zero or more credits with at most six decimals, got {credits}";
                return null;
            }

            sizes[sizeClass] = sizeAmount;
        }

        var surcharges = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (option, credits) in options.Options)
        {
            var equals = option.IndexOf('=', StringComparison.Ordinal);
            if (option.Length == 0 || equals == 0 || equals == option.Length - 1 || option.Trim() != option || option.IndexOf('=', equals + 1) > 0)
            {
                problem = $"option '{option}' must be spelled name=value as the request carries it (style=anime), or name alone for name=true (enable_upsample)";
                return null;
            }

            if (!TryAmount(credits, out var surcharge))
            {
                problem = $"the surcharge for option '{option}' must be zero or more credits with at most six decimals, got {credits}";
                return null;
            }

            surcharges[option] = surcharge;
        }

        return new Price(unit, amount) { Sizes = sizes.ToFrozenDictionary(), Options = surcharges.ToFrozenDictionary() };
    }

    /// <summary>The settings this price would be configured with (for answers and storage).</summary>
    public PriceOptions ToOptions() => new()
    {
        PerSecond = Unit == PriceUnit.Second ? Credits.ToCredits(Amount) : null,
        PerVideo = Unit == PriceUnit.Video ? Credits.ToCredits(Amount) : null,
        Sizes = Sizes.ToDictionary(p => p.Key, p => Credits.ToCredits(p.Value), StringComparer.OrdinalIgnoreCase),
        Options = Options.ToDictionary(p => p.Key, p => Credits.ToCredits(p.Value), StringComparer.Ordinal),
    };

    private static bool TryAmount(decimal credits, out long micro) => Credits.TryToMicro(credits, out micro) & micro >= 0;
}

/// <summary>What a request will hold: <see cref="Amount"/> micro-credits, from the unit price and the requested length.</summary>
public sealed record Quote(string Model, PriceUnit Unit, long UnitPrice, int DurationSeconds, long Amount)
{
    /// <summary>How messages explain the amount: "10 s × 0.05 credits per second" or "1 video at 2 credits".</summary>
    public string Explain() => Unit == PriceUnit.Second
        ? $"{DurationSeconds} s × {Credits.Format(UnitPrice)} credits per second"
        : $"one video at {Credits.Format(UnitPrice)} credits";
}

/// <summary>What a finished task costs.</summary>
public static class Settlement
{
    /// <summary>
    /// The charge for a completed task: per second, the unit price times the seconds of the stored video
    /// (as probed, to the millisecond, rounded up to a micro-credit); per video, the whole hold. Never more
    /// than the hold: a longer video than asked for costs what was asked for.
    /// </summary>
    public static long Charge(PriceUnit? unit, long unitPrice, long held, double actualSeconds)
    {
        if (held <= 0 || unit is null)
        {
            return 0;
        }

        if (unit == PriceUnit.Video)
        {
            return held;
        }

        var seconds = Math.Round((decimal)Math.Max(0, actualSeconds), 3);
        return (long)Math.Min(held, Math.Ceiling(unitPrice * seconds));
    }

    /// <summary>What the operator pays upstream for a video of this length, at a channel's cost price per second.</summary>
    public static long UpstreamCost(long costPerSecond, double actualSeconds) =>
        (long)Math.Ceiling(costPerSecond * Math.Round((decimal)Math.Max(0, actualSeconds), 3));
}
