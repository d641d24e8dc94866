using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using Reelay.Accounts;
using Reelay.Api.Errors;
using Reelay.Images;

namespace Reelay.Api.Admin;

/// <summary>
/// Limits of an account or a key on the wire; every field may be null (no limit). In a create or update
/// body, a field left out keeps its value, a field sent as null removes the limit.
/// </summary>
public sealed record LimitsView
{
    [Description("Model names, or prefixes ending in * (\"grok-*\"); null: every model. A key's list narrows its account's.")]
    public IReadOnlyList<string>? AllowedModels { get; init; }

    [Description("Unix ms (or an ISO 8601 time in a request) after which requests answer 401.")]
    public long? ExpiresAt { get; init; }

    [Description("Create requests per minute (429 with Retry-After above it).")]
    public int? RequestsPerMinute { get; init; }

    [Description("Unfinished tasks at once (429 above it).")]
    public int? MaxInFlight { get; init; }

    [Description("Credits held or charged per UTC day (429 above it).")]
    public decimal? MaxSpendPerDay { get; init; }

    [Description("Client addresses allowed, as CIDRs or single addresses (403 for any other).")]
    public IReadOnlyList<string>? AllowedIps { get; init; }

    [Description("The callback_url of every create that names none.")]
    public string? CallbackUrl { get; init; }

    public static LimitsView From(AccessLimits limits) => new()
    {
        AllowedModels = limits.AllowedModels,
        ExpiresAt = limits.ExpiresAt,
        RequestsPerMinute = limits.RequestsPerMinute,
        MaxInFlight = limits.MaxInFlight,
        MaxSpendPerDay = limits.MaxSpendPerDay is { } micro ? Credits.ToCredits(micro) : null,
        AllowedIps = limits.AllowedIps,
        CallbackUrl = limits.CallbackUrl,
    };
}

/// <summary>Reads the <c>limits</c> object of an admin request, field by field, so a mistake names the field.</summary>
public static class AdminLimits
{
    private static readonly string[] Names = ["allowed_models", "expires_at", "requests_per_minute", "max_in_flight", "max_spend_per_day", "allowed_ips", "callback_url"];

    private const int MaxListItems = 100;

    /// <summary>
    /// <paramref name="current"/> changed by the fields present in <paramref name="limits"/> (an object, or
    /// absent); null values remove a limit. Unknown fields are refused, so a misspelt limit is not silently ignored.
    /// </summary>
    public static ApiError? Read(JsonElement body, AccessLimits current, NetworkPolicy network, out AccessLimits updated)
    {
        updated = current;
        if (!body.TryGetProperty("limits", out var limits) || limits.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (limits.ValueKind != JsonValueKind.Object)
        {
            return JsonBody.WrongType("limits", "an object", limits);
        }

        foreach (var property in limits.EnumerateObject())
        {
            if (!Names.Contains(property.Name))
            {
                return ApiError.BadRequest($"'limits.{Shorten(property.Name)}' is not a limit; the limits are {string.Join(", ", Names)}.", "limits." + Shorten(property.Name), "unknown_field");
            }

            var field = "limits." + property.Name;
            var value = property.Value;
            var clear = value.ValueKind == JsonValueKind.Null;
            ApiError? error = null;
            switch (property.Name)
            {
                case "allowed_models":
                    IReadOnlyList<string>? models = null;
                    error = clear ? null : ReadList(value, field, "a model name or a prefix ending in * (grok-*)", IsModelPattern, out models);
                    updated = updated with { AllowedModels = models };
                    break;
                case "expires_at":
                    long? expires = null;
                    error = clear ? null : ReadTime(value, field, out expires);
                    updated = updated with { ExpiresAt = expires };
                    break;
                case "requests_per_minute":
                    long? rpm = null;
                    error = clear ? null : ReadWhole(value, field, 1, 1_000_000, out rpm);
                    updated = updated with { RequestsPerMinute = (int?)rpm };
                    break;
                case "max_in_flight":
                    long? inFlight = null;
                    error = clear ? null : ReadWhole(value, field, 1, 1_000_000, out inFlight);
                    updated = updated with { MaxInFlight = (int?)inFlight };
                    break;
                case "max_spend_per_day":
                    long? spend = null;
                    error = clear ? null : ReadCredits(value, field, positive: false, out spend);
                    updated = updated with { MaxSpendPerDay = spend };
                    break;
                case "allowed_ips":
                    IReadOnlyList<string>? ips = null;
                    error = clear ? null : ReadList(value, field, "a CIDR such as 203.0.113.0/24, or one address", text => AccessLimits.TryParseNetwork(text, out _), out ips);
                    updated = updated with { AllowedIps = ips };
                    break;
                default:
                    string? url = null;
                    if (!clear)
                    {
                        url = value.ValueKind == JsonValueKind.String ? value.GetString()!.Trim() : null;
                        error = url is null ? JsonBody.WrongType(field, "an http(s) URL", value)
                            : !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || url.Length > 4096
                                ? ApiError.BadRequest($"'{field}' must be an absolute http(s) URL of at most 4096 characters.", field, "invalid_callback_url")
                                : network.CheckCallbackUrl(url) is { } refused ? ApiError.BadRequest($"'{field}' {refused}.", field, "invalid_callback_url") : null;
                    }

                    updated = updated with { CallbackUrl = url };
                    break;
            }

            if (error is not null)
            {
                return error;
            }
        }

        return null;
    }

    /// <summary>
    /// Credits as a JSON number (or numeric string) with at most six decimals; <paramref name="positive"/>
    /// refuses zero; <paramref name="signed"/> lets a non-zero amount be negative (an adjustment).
    /// </summary>
    public static ApiError? ReadCredits(JsonElement value, string field, bool positive, out long? micro, bool signed = false)
    {
        micro = null;
        decimal credits;
        if (value.ValueKind == JsonValueKind.Number ? !value.TryGetDecimal(out credits)
            : value.ValueKind != JsonValueKind.String || !decimal.TryParse(value.GetString(), NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out credits))
        {
            return JsonBody.WrongType(field, "an amount of credits (a number)", value);
        }

        if (!Credits.TryToMicro(credits, out var amount))
        {
            return ApiError.BadRequest($"'{field}' has more than six decimals or is too large: credits are counted in millionths.", field, "invalid_amount");
        }

        if (signed ? amount == 0 : amount < 0 || (positive && amount == 0))
        {
            return ApiError.BadRequest(
                signed ? $"'{field}' must not be 0: send the credits to add, or a negative amount to take away." : $"'{field}' must be {(positive ? "more than" : "at least")} 0, got {credits.ToString(CultureInfo.InvariantCulture)}.",
                field, "invalid_amount");
        }

        micro = amount;
        return null;
    }

    private static ApiError? ReadWhole(JsonElement value, string field, long min, long max, out long? number)
    {
        number = null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var whole))
        {
            return JsonBody.WrongType(field, "a whole number", value);
        }

        if (whole < min || whole > max)
        {
            return ApiError.BadRequest($"'{field}' must be between {min} and {max}, got {whole}.", field, "out_of_range");
        }

        number = whole;
        return null;
    }

    /// <summary>Unix ms, or an ISO 8601 time with its offset (2027-01-31T00:00:00Z).</summary>
    private static ApiError? ReadTime(JsonElement value, string field, out long? unixMs)
    {
        unixMs = null;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var ms) && ms > 0)
        {
            unixMs = ms;
            return null;
        }

        if (value.ValueKind == JsonValueKind.String
            && DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
        {
            unixMs = time.ToUnixTimeMilliseconds();
            return null;
        }

        return ApiError.BadRequest($"'{field}' must be a time: Unix milliseconds, or ISO 8601 such as \"2027-01-31T00:00:00Z\".", field, "invalid_time");
    }

    private static ApiError? ReadList(JsonElement value, string field, string itemDescription, Func<string, bool> valid, out IReadOnlyList<string>? items)
    {
        items = null;
        if (value.ValueKind != JsonValueKind.Array)
        {
            return JsonBody.WrongType(field, "an array of strings", value);
        }

        if (value.GetArrayLength() > MaxListItems)
        {
            return ApiError.BadRequest($"'{field}' has {value.GetArrayLength()} items; at most {MaxListItems} are accepted.", field, "too_many_items");
        }

        var list = new List<string>();
        var index = 0;
        foreach (var item in value.EnumerateArray())
        {
            var text = item.ValueKind == JsonValueKind.String ? item.GetString()!.Trim() : null;
            if (text is null or { Length: 0 or > 200 } || !valid(text))
            {
                return ApiError.BadRequest($"'{field}[{index}]' must be {itemDescription}.", $"{field}[{index}]", "invalid_value");
            }

            list.Add(text);
            index++;
        }

        items = list;
        return null;
    }

    private static bool IsModelPattern(string text) => text.IndexOf('*', StringComparison.Ordinal) is var star && (star < 0 || star == text.Length - 1);

    private static string Shorten(string value) => value.Length <= 40 ? value : value[..40] + "…";
}
