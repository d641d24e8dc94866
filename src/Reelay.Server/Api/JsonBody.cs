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

        byte[] body;
        try
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, request.HttpContext.RequestAborted);
            body = buffer.ToArray();
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, TooLarge(maxBytes));
        }

        if (body.Length == 0)
        {
            return (null, ApiError.BadRequest("The body is empty; send a JSON object.", code: "empty_body"));
        }

        try
        {
            var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 16 });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                document.Dispose();
                return (null, ApiError.BadRequest($"The body must be a JSON object, not {Describe(document.RootElement.ValueKind)}.", code: "invalid_json"));
            }

            return (document, null);
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is { } line ? $" (line {line + 1}, byte {e.BytePositionInLine + 1})" : "";
            return (null, ApiError.BadRequest($"The body is not valid JSON{where}. Check quotes, commas and brackets.", code: "invalid_json"));
        }
    }

    /// <summary>An optional string; null when absent or JSON null.</summary>
    public static ApiError? String(JsonElement body, string name, out string? value)
    {
        value = null;
        if (!body.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (element.ValueKind != JsonValueKind.String)
        {
            return WrongType(name, "a string", element);
        }

        value = element.GetString();
        return null;
    }

    /// <summary>An optional whole number; numeric strings ("8") are accepted since clients send both.</summary>
    public static ApiError? Integer(JsonElement body, string name, long min, long max, out long? value)
    {
        value = null;
        if (!body.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        long number;
        if (element.ValueKind == JsonValueKind.Number)
        {
            if (!element.TryGetInt64(out number))
            {
                return ApiError.BadRequest($"'{name}' must be a whole number, got {element.GetRawText()}.", name, "invalid_type");
            }
        }
        else if (element.ValueKind != JsonValueKind.String
            || !long.TryParse(element.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out number))
        {
            return WrongType(name, "a whole number", element);
        }

        if (number < min || number > max)
        {
            return ApiError.BadRequest($"'{name}' must be between {min} and {max}, got {number}.", name, "out_of_range");
        }

        value = number;
        return null;
    }

    /// <summary>An optional boolean.</summary>
    public static ApiError? Boolean(JsonElement body, string name, out bool? value)
    {
        value = null;
        if (!body.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (element.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            return WrongType(name, "true or false", element);
        }

        value = element.GetBoolean();
        return null;
    }

    /// <summary>An optional array of strings.</summary>
    public static ApiError? StringArray(JsonElement body, string name, int maxItems, out List<string> values)
    {
        values = [];
        if (!body.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (element.ValueKind != JsonValueKind.Array)
        {
            return WrongType(name, "an array of strings", element);
        }

        var count = element.GetArrayLength();
        if (count > maxItems)
        {
            return ApiError.BadRequest($"'{name}' has {count} items; at most {maxItems} are accepted.", name, "too_many_images");
        }

        var index = 0;
        foreach (var item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                return WrongType($"{name}[{index}]", "a string (an http(s) URL or a data:image/...;base64, URI)", item);
            }

            values.Add(item.GetString()!);
            index++;
        }

        return null;
    }

    private static ApiError WrongType(string name, string expected, JsonElement element) =>
        ApiError.BadRequest($"'{name}' must be {expected}, got {Describe(element.ValueKind)}.", name, "invalid_type");

    private static string Describe(JsonValueKind kind) => kind switch
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
