namespace Reelay.Images;

/// <summary><c>data:image/…;base64,…</c> URIs, as clients send reference images inline.</summary>
public static class DataUri
{
    /// <summary>Media types accepted in a data URI.</summary>
    public static readonly IReadOnlyList<string> ImageTypes = ["image/png", "image/jpeg", "image/jpg", "image/webp", "image/gif"];

    /// <summary>Checks the form without decoding: returns an error text, or null when it is well formed.</summary>
    public static string? Check(string uri, int maxBytes)
    {
        var comma = uri.IndexOf(',', StringComparison.Ordinal);
        if (comma < 0)
        {
            return "a data URI needs a comma before its payload (data:image/png;base64,…)";
        }

        var header = uri.AsSpan(5, comma - 5);
        if (!header.EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
        {
            return "a data URI must be base64-encoded (data:image/png;base64,…)";
        }

        var mediaType = header[..^7].ToString().ToLowerInvariant();
        if (!ImageTypes.Contains(mediaType))
        {
            return $"the data URI's media type '{mediaType}' is not one of {string.Join(", ", ImageTypes)}";
        }

        var payloadLength = uri.Length - comma - 1;
        if ((long)payloadLength * 3 / 4 > maxBytes)
        {
            return $"the image is larger than the limit of {maxBytes} bytes";
        }

        return IsBase64(uri.AsSpan(comma + 1)) ? null : "the data URI's payload is not valid base64";
    }

    /// <summary>The decoded bytes, or null when the payload is not base64.</summary>
    public static byte[]? Decode(string uri)
    {
        var comma = uri.IndexOf(',', StringComparison.Ordinal);
        if (comma < 0)
        {
            return null;
        }

        // Decoded from the span into an array of the exact size: a payload of megabytes is neither
        // copied into a substring first nor trimmed afterwards.
        var payload = uri.AsSpan(comma + 1);
        if (!System.Buffers.Text.Base64.IsValid(payload, out var length))
        {
            return null;
        }

        var bytes = new byte[length];
        return Convert.TryFromBase64Chars(payload, bytes, out var written) && written == length ? bytes : null;
    }

    private static bool IsBase64(ReadOnlySpan<char> payload) =>
        payload.Length > 0 && System.Buffers.Text.Base64.IsValid(payload);
}
