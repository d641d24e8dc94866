using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Unicode;
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
        catch (IOException e)
        {
            // Kestrel's BadHttpRequestException is an IOException: the body ended before its
            // Content-Length, or its chunked framing broke. The client's fault, so a 400.
            return (null, Unreadable(e));
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

        // The parser checks the grammar, not the text: a string may hold bytes that are not UTF-8,
        // or an escaped lone surrogate ("\ud800"), and reading it — or comparing a property name
        // with it — throws later. Checked once here, so every field read after this is safe.
        if (HasInvalidText(document.RootElement) && FindInvalidText(document.RootElement, "") is { } invalid)
        {
            document.Dispose();
            return (null, invalid);
        }

        return (document, null);
    }

    /// <summary>The 400 for a request body that could not be read to its end (truncated, broken chunked framing).</summary>
    public static ApiError Unreadable(IOException exception) =>
        ApiError.BadRequest($"The body could not be read to its end ({exception.Message.TrimEnd('.')}). Send the whole body, as its Content-Length or chunked framing declares.", code: "incomplete_body");

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

    /// <summary>
    /// Whether any string or property name is not valid Unicode text. Allocation-free for the common
    /// body (valid UTF-8, no escapes): every create runs it, while the path-building search below
    /// runs only when this finds something.
    /// </summary>
    private static bool HasInvalidText(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (IsInvalid(JsonMarshal.GetRawUtf8PropertyName(property), property) || HasInvalidText(property.Value))
                    {
                        return true;
                    }
                }

                return false;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    if (HasInvalidText(item))
                    {
                        return true;
                    }
                }

                return false;
            case JsonValueKind.String:
                return IsInvalid(JsonMarshal.GetRawUtf8Value(element), element);
            default:
                return false;
        }
    }

    private static bool IsInvalid(ReadOnlySpan<byte> raw, JsonProperty property) =>
        !Utf8.IsValid(raw) || (raw.IndexOf((byte)'\\') >= 0 && !Decodes(() => property.Name));

    private static bool IsInvalid(ReadOnlySpan<byte> raw, JsonElement element) =>
        !Utf8.IsValid(raw) || (raw.IndexOf((byte)'\\') >= 0 && !Decodes(element.GetString));

    private static bool Decodes(Func<string?> decode)
    {
        try
        {
            decode();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>The first string or property name, depth first, that is not valid Unicode text; null when all are.</summary>
    private static ApiError? FindInvalidText(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (Problem(JsonMarshal.GetRawUtf8PropertyName(property), () => property.Name) is { } problem)
                    {
                        var where = path.Length == 0 ? "the body" : $"'{path}'";
                        return ApiError.BadRequest($"A property name in {where} is not valid UTF-8 text: {problem}.", path.Length == 0 ? null : path, "invalid_utf8");
                    }

                    if (FindInvalidText(property.Value, Shorten(path.Length == 0 ? property.Name : path + "." + property.Name)) is { } error)
                    {
                        return error;
                    }
                }

                return null;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (FindInvalidText(item, $"{path}[{index++}]") is { } error)
                    {
                        return error;
                    }
                }

                return null;
            case JsonValueKind.String:
                return Problem(JsonMarshal.GetRawUtf8Value(element), element.GetString) is { } found
                    ? ApiError.BadRequest($"'{path}' is not valid UTF-8 text: {found}.", path, "invalid_utf8")
                    : null;
            default:
                return null;
        }
    }

    /// <summary>What is wrong with a string token's raw bytes (escapes not yet decoded), or null.</summary>
    private static string? Problem(ReadOnlySpan<byte> raw, Func<string?> decode)
    {
        if (!Utf8.IsValid(raw))
        {
            return "it holds bytes that are not UTF-8. Send the body encoded as UTF-8";
        }

        if (raw.IndexOf((byte)'\\') < 0)
        {
            return null;
        }

        // Valid bytes, but escapes: only a \uXXXX surrogate without its partner fails to decode.
        // Decoding is the one check that matches what every later read does.
        try
        {
            decode();
            return null;
        }
        catch (InvalidOperationException)
        {
            return "it holds a lone surrogate escape such as \\ud800. Escape a character outside the Basic Multilingual Plane as a pair (\\ud83d\\ude00), or send it as UTF-8";
        }
    }

    /// <summary>Field paths go into messages and <c>param</c>; a megabyte-long property name should not.</summary>
    private static string Shorten(string path) => path.Length <= 120 ? path : path[..120] + "…";

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
                var text = element.GetRawText();
                Error = ApiError.BadRequest($"'{name}' must be a whole number, got {(text.Length <= 40 ? text : text[..40] + "…")}.", name, "invalid_type");
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
