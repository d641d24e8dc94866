using System.Globalization;
using System.Text.Json;
using Reelay.Api.Errors;
using Reelay.Catalog;

namespace Reelay.Api.Admin;

/// <summary>A model's retirement as the admin API shows it: the day, the replacement, whether requests are moved there.</summary>
/// <param name="On">The day (UTC, <c>2026-06-30</c>) from which requests for the model are refused or redirected.</param>
/// <param name="ReplacedBy">The model named in the refusal, or run instead.</param>
/// <param name="Redirect">True: requests run on the replacement (the answer's <c>Reelay-Model-Redirect</c> header and the task's route say so).</param>
public sealed record RetirementView(string On, string ReplacedBy, bool Redirect)
{
    public static RetirementView? Of(ModelRetirement? retirement) =>
        retirement is null ? null : new(retirement.Date, retirement.ReplacedBy, retirement.Redirect);
}

/// <summary>
/// Reads <c>{"on": "2026-06-30", "replaced_by": "veo3.1", "redirect": false}</c>, the one shape a retirement
/// has wherever the admin API takes one (a catalog entry's <c>retired</c>, a channel's <c>retired_models</c>).
/// </summary>
public static class RetirementField
{
    private const int MaxNameChars = 200;

    /// <summary>The retirement in <paramref name="value"/> (null for JSON null: not retired), or the 400 naming what to fix in <paramref name="field"/>.</summary>
    public static ApiError? Read(JsonElement value, string field, out RetirementOptions? retired)
    {
        retired = null;
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            return JsonBody.WrongType(field, "an object {\"on\": \"2026-06-30\", \"replaced_by\": \"model\", \"redirect\": false}, or null", value);
        }

        foreach (var property in value.EnumerateObject())
        {
            if (property.Name is not ("on" or "replaced_by" or "redirect"))
            {
                var name = property.Name.Length <= 40 ? property.Name : property.Name[..40] + "…";
                return ApiError.BadRequest($"'{field}.{name}' is not a retirement field: send on, replaced_by and redirect.", $"{field}.{name}", "unknown_field");
            }
        }

        var fields = JsonBody.Fields(value);
        var on = fields.String("on");
        var replacedBy = fields.String("replaced_by");
        var redirect = fields.Boolean("redirect");
        if (fields.Error is { } error)
        {
            // The nested field by its full name: 'retired.redirect' must be true or false.
            return ApiError.BadRequest(error.Message.Replace($"'{error.Param}'", $"'{field}.{error.Param}'", StringComparison.Ordinal), $"{field}.{error.Param}", error.Code ?? "invalid_type");
        }

        if (string.IsNullOrWhiteSpace(on) || !TryParseDay(on.Trim(), out var day))
        {
            return ApiError.BadRequest($"'{field}.on' must be the day the model retires, as 2026-06-30 (or an ISO 8601 time).", $"{field}.on", on is null ? "missing_field" : "invalid_value");
        }

        if (string.IsNullOrWhiteSpace(replacedBy) || replacedBy.Trim().Length > MaxNameChars)
        {
            return ApiError.BadRequest($"'{field}.replaced_by' must name the model that replaces it (at most {MaxNameChars} characters).", $"{field}.replaced_by", replacedBy is null ? "missing_field" : "invalid_value");
        }

        retired = new RetirementOptions { On = day, ReplacedBy = replacedBy.Trim(), Redirect = redirect ?? false };
        return null;
    }

    private static bool TryParseDay(string text, out DateTimeOffset day) =>
        DateTimeOffset.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out day)
        || DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out day);
}
