using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Reelay.Api.Errors;

namespace Reelay.Api;

/// <summary>
/// Reads a JSON object body within a size limit, and typed fields out of it with errors that name
/// the field and the type expected — the answers clients need, where model binding would give a
/// generic "bad request".
/// </summary>
public static class JsonBody
{
    public static async Task<(JsonDocument? Document, ApiError? Error)> ReadObjectAsync(HttpRequest request, long maxBytes)
    {
        if (!IsJson(request.ContentType))
        {
            return (null, new ApiError(415,
                $"Send the body as JSON with Content-Type: application/json (got {(string.IsNullOrEmpty(request.ContentType) ? "none" : "'" + request.ContentType + "'")}).",
                "unsupported_media_type"));
        }

        if (request.ContentLength > maxBytes)
        {
            return (null, TooLarge(maxBytes));
        }

        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = maxBytes;
        }

        if (request.ContentLength == 0)
        {
            return (null, ApiError.BadRequest("The body is empty; send a JSON object.", code: "empty_body"));
        }

        JsonDocument document;
        try
        {
            // Parsed straight from the request stream into pooled buffers: no copy of the body.
            document = await JsonDocument.ParseAsync(request.Body, new JsonDocumentOptions { MaxDepth = 16 }, request.HttpContext.RequestAborted);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, TooLarge(maxBytes));
        }
        catch (JsonException e)
        {
            if (e.BytePositionInLine == 0 && e.LineNumber == 0 && e.Message.Contains("does not contain any JSON tokens", StringComparison.Ordinal))
            {
                return (null, ApiError.BadRequest("The body is empty; send a JSON object.", code: "empty_body"));
            }

            var where = e.LineNumber is { } line ? $" (line {line + 1}, byte {e.BytePositionInLine + 1})" : "";
            return (null, ApiError.BadRequest($"The body is not valid JSON{where}. Check quotes, commas and brackets.", code: "invalid_json"));
        }

        var kind = document.RootElement.ValueKind;
        if (kind != JsonValueKind.Object)
        {
            document.Dispose();
            return (null, ApiError.BadRequest($"The body must be a JSON object, not {Describe(kind)}.", code: "invalid_json"));
        }

        return (document, null);
    }

    /// <summary>Typed reads of a body's fields; the first problem is kept in <see cref="JsonFields.Error"/>.</summary>
    public static JsonFields Fields(JsonElement body) => new(body);

    internal static ApiError WrongType(string name, string expected, JsonElement element) =>
        ApiError.BadRequest($"'{name}' must be {expected}, got {Describe(element.ValueKind)}.", name, "invalid_type");

    internal static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    private static ApiError TooLarge(long maxBytes) =>
        new(413, $"The body is larger than {maxBytes / (1024 * 1024)} MiB. Send large images as URLs instead of data URIs.", "body_too_large");

    private static bool IsJson(string? contentType) =>
        contentType is not null
        && (contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase)
            || (contentType.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && contentType.Contains("+json", StringComparison.OrdinalIgnoreCase)));
}

/// <summary>
/// Reads optional fields of a JSON object, each of one expected type. After the first mismatch
/// every later read returns null and <see cref="Error"/> says what to fix.
/// </summary>
public sealed class JsonFields(JsonElement body)
{
    public ApiError? Error { get; private set; }

    /// <summary>A string; null when absent or JSON null.</summary>
    public string? String(string name) =>
        Read(name, JsonValueKind.String, "a string") is { } element ? element.GetString() : null;

    /// <summary>true or false.</summary>
    public bool? Boolean(string name)
    {
        if (Find(name) is not { } element)
        {
            return null;
        }

        if (element.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return element.GetBoolean();
        }

        Error = JsonBody.WrongType(name, "true or false", element);
        return null;
    }

    /// <summary>A whole number within a range; numeric strings ("8") are accepted since clients send both.</summary>
    public long? Integer(string name, long min, long max)
    {
        if (Find(name) is not { } element)
        {
            return null;
        }

        long number;
        if (element.ValueKind == JsonValueKind.Number)
        {
            if (!element.TryGetInt64(out number))
            {
                Error = ApiError.BadRequest($"'{name}' must be a whole number, got {element.GetRawText()}.", name, "invalid_type");
                return null;
            }
        }
        else if (element.ValueKind != JsonValueKind.String
            || !long.TryParse(element.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out number))
        {
            Error = JsonBody.WrongType(name, "a whole number", element);
            return null;
        }

        if (number < min || number > max)
        {
            Error = ApiError.BadRequest($"'{name}' must be between {min} and {max}, got {number}.", name, "out_of_range");
            return null;
        }

        return number;
    }

    /// <summary>An array of strings (empty when absent).</summary>
    public List<string> StringArray(string name, int maxItems, string itemDescription)
    {
        var values = new List<string>();
        if (Read(name, JsonValueKind.Array, "an array of strings") is not { } element)
        {
            return values;
        }

        var count = element.GetArrayLength();
        if (count > maxItems)
        {
            Error = ApiError.BadRequest($"'{name}' has {count} items; at most {maxItems} are accepted.", name, "too_many_items");
            return values;
        }

        var index = 0;
        foreach (var item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                Error = JsonBody.WrongType($"{name}[{index}]", $"a string ({itemDescription})", item);
                return [];
            }

            values.Add(item.GetString()!);
            index++;
        }

        return values;
    }

    /// <summary>An object (for nested fields), or null.</summary>
    public JsonElement? Object(string name) => Read(name, JsonValueKind.Object, "an object");

    private JsonElement? Read(string name, JsonValueKind kind, string expected)
    {
        if (Find(name) is not { } element)
        {
            return null;
        }

        if (element.ValueKind == kind)
        {
            return element;
        }

        Error = JsonBody.WrongType(name, expected, element);
        return null;
    }

    private JsonElement? Find(string name) =>
        Error is null && body.TryGetProperty(name, out var element) && element.ValueKind != JsonValueKind.Null ? element : null;
}
