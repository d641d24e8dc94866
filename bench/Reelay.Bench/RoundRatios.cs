using System.Globalization;

namespace Reelay.Bench;

/// <summary>
/// How every section compares interleaved rounds: each round's measurement against the baseline run
/// beside it in that round (under the same background load), summed up by the median of those ratios.
/// The ratio of two median rounds may pair rounds far apart, so sections show it beside, not instead.
/// </summary>
internal static class RoundRatios
{
    /// <summary>Each round's measurement against the baseline of the same round.</summary>
    public static double[] Of<T>(IReadOnlyList<T> measured, IReadOnlyList<T> baseline, Func<T, double> figure) =>
        [.. measured.Zip(baseline, (m, b) => figure(m) / figure(b))];

    public static double Median(IReadOnlyList<double> ratios)
    {
        var sorted = ratios.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>The rounds' ratios as a table cell: "40 %, 41 %, 33 %".</summary>
    public static string Each(IEnumerable<double> ratios) =>
        string.Join(", ", ratios.Select(r => r.ToString("P0", CultureInfo.InvariantCulture)));
}
