using System.Globalization;
using System.Text.Json;

namespace Reelay.Providers;

/// <summary>
/// Upstream timestamps in Unix seconds or milliseconds, read as instants. A missing, zero or impossible
/// value is no time at all rather than a failed poll: these times only feed measurements.
/// </summary>
internal static class UnixTime
{
    // DateTimeOffset's own limit (year 9999): beyond it FromUnixTime* throws.
    private const long MaxSeconds = 253_402_300_799;

    public static DateTimeOffset? FromSeconds(long? seconds) =>
        seconds is > 0 and <= MaxSeconds ? DateTimeOffset.FromUnixTimeSeconds(seconds.Value) : null;

    public static DateTimeOffset? FromMilliseconds(long? milliseconds) =>
        milliseconds is > 0 and <= MaxSeconds * 1000 ? DateTimeOffset.FromUnixTimeMilliseconds(milliseconds.Value) : null;

    /// <summary>
    /// A number (or numeric string) in either unit, as relays differ: 13 digits are milliseconds, 10 are
    /// seconds. Anything from 100000000000 up is read as milliseconds (as seconds it would be past year 5000).
    /// </summary>
    public static DateTimeOffset? FromSecondsOrMilliseconds(JsonElement? value)
    {
        long? number = value switch
        {
            { ValueKind: JsonValueKind.Number } n when n.TryGetInt64(out var whole) => whole,
            { ValueKind: JsonValueKind.String } t when long.TryParse(t.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) => parsed,
            _ => null,
        };
        return number >= 100_000_000_000 ? FromMilliseconds(number) : FromSeconds(number);
    }
}
