using System.Globalization;
using System.Text.Json;
using Reelay.Api.Errors;

namespace Reelay.Api;

/// <summary>
/// The client's own deadline for a task: the <c>Cancel-After</c> header, in Replicate's duration format
/// (<c>90s</c>, <c>5m</c>, <c>1h30m</c>, <c>1.5h</c>, <c>500ms</c>), or a <c>timeout</c> field — seconds as a number,
/// or the same duration text. Both given: the sooner applies. Past it the task is cancelled.
/// </summary>
public static class CancelAfter
{
    public const string Header = "Cancel-After";

    /// <summary>Shortest and longest deadline a client may set; a longer task meets its model's lifetime first anyway.</summary>
    public static readonly TimeSpan Min = TimeSpan.FromSeconds(1), Max = TimeSpan.FromHours(24);

    /// <summary>The deadline from the header and the body's <c>timeout</c> (when the body has one), or an error naming which to fix.</summary>
    public static ApiError? Read(HttpRequest request, JsonElement? timeoutField, out TimeSpan? cancelAfter)
    {
        cancelAfter = null;
        if (request.Headers[Header].FirstOrDefault() is { } header)
        {
            if (!TryParse(header, out var fromHeader))
            {
                return Invalid(Header, header);
            }

            cancelAfter = fromHeader;
        }

        if (timeoutField is { ValueKind: not JsonValueKind.Null } field)
        {
            TimeSpan fromField;
            var ok = field.ValueKind switch
            {
                JsonValueKind.Number => field.TryGetDouble(out var seconds) & TrySeconds(seconds, out fromField),
                JsonValueKind.String => TryParse(field.GetString()!, out fromField),
                _ => Fail(out fromField),
            };
            if (!ok)
            {
                return Invalid("timeout", field.ValueKind == JsonValueKind.String ? field.GetString()! : field.GetRawText());
            }

            cancelAfter = cancelAfter is { } other && other < fromField ? other : fromField;
        }

        return null;
    }

    /// <summary>The form field <c>timeout</c> of a multipart create: the same text the header takes, or bare seconds.</summary>
    public static ApiError? Read(HttpRequest request, string? timeoutField, out TimeSpan? cancelAfter)
    {
        if (Read(request, (JsonElement?)null, out cancelAfter) is { } error)
        {
            return error;
        }

        if (timeoutField is null)
        {
            return null;
        }

        if (!(double.TryParse(timeoutField, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds) ? TrySeconds(seconds, out var fromField) : TryParse(timeoutField, out fromField)))
        {
            return Invalid("timeout", timeoutField);
        }

        cancelAfter = cancelAfter is { } other && other < fromField ? other : fromField;
        return null;
    }

    /// <summary>
    /// A duration as Go writes them (Replicate's servers parse it so): one or more decimal numbers, each
    /// with a unit of <c>h</c>, <c>m</c>, <c>s</c> or <c>ms</c>, such as <c>1h30m</c>; within <see cref="Min"/>..<see cref="Max"/>.
    /// </summary>
    public static bool TryParse(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var span = text.AsSpan().Trim();
        if (span.IsEmpty || span.Length > 40)
        {
            return false;
        }

        double total = 0;
        while (!span.IsEmpty)
        {
            var digits = 0;
            while (digits < span.Length && (char.IsAsciiDigit(span[digits]) || span[digits] == '.'))
            {
                digits++;
            }

            if (digits == 0 || !double.TryParse(span[..digits], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                return false;
            }

            span = span[digits..];
            double unit;
            if (span.StartsWith("ms"))
            {
                unit = 0.001;
                span = span[2..];
            }
            else if (!span.IsEmpty && span[0] is 'h' or 'm' or 's')
            {
                unit = span[0] switch { 'h' => 3600, 'm' => 60, _ => 1 };
                span = span[1..];
            }
            else
            {
                // A bare number has no unit to read it by ("90" could be seconds or minutes): refused.
                return false;
            }

            total += number * unit;
        }

        return TrySeconds(total, out duration);
    }

    private static bool TrySeconds(double seconds, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (double.IsNaN(seconds) || seconds < Min.TotalSeconds || seconds > Max.TotalSeconds)
        {
            return false;
        }

        duration = TimeSpan.FromSeconds(seconds);
        return true;
    }

    private static bool Fail(out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        return false;
    }

    private static ApiError Invalid(string param, string value) =>
        ApiError.BadRequest(
            $"'{param}' must be a duration from 1s to 24h such as 90s, 5m or 1h30m{(param == "timeout" ? " (or a number of seconds)" : "")}, got '{TaskWaits.Shorten(value)}'.",
            param, "invalid_cancel_after");
}
