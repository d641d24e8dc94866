using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Reelay.Blobs.LocalDisk;

/// <summary>
/// Signed, expiring links to stored files: <c>/files/{key}?exp={unix s}&amp;sig={HMAC}</c>. They play
/// in a <c>&lt;video&gt;</c> tag with no header, and stop working after <c>FILE_URL_TTL</c>. The
/// current signing key signs; a link signed with the previous one (before a rotation) still verifies
/// until it expires (<see cref="FileSigningKeys"/>).
/// </summary>
public sealed class FileUrls
{
    private readonly FileSigningKeys _keys;
    private readonly TimeProvider _time;
    private readonly FileLinkOptions _options;

    /// <summary>Links signed with <c>SIGNING_KEY</c> (and <c>SIGNING_KEY_PREVIOUS</c>) alone: no key file, no rotation.</summary>
    public FileUrls(IOptions<FileLinkOptions> options, TimeProvider time)
        : this(FileSigningKeys.FromOptions(options.Value, time), options, time)
    {
    }

    public FileUrls(FileSigningKeys keys, IOptions<FileLinkOptions> options, TimeProvider time)
    {
        _keys = keys;
        _options = options.Value;
        _time = time;
    }

    /// <summary>Absolute signed URL for a stored file, valid for at least <paramref name="lifetime"/>.</summary>
    public string For(string key, TimeSpan lifetime, HttpRequest request)
    {
        var expires = RoundedExpiry(lifetime).ToString(CultureInfo.InvariantCulture);
        return string.Concat(BaseUrl(request), "/files/", key, "?exp=", expires, "&sig=", Sign(_keys.Signing, key, expires));
    }

    /// <summary>Whether a link is authentic and unexpired.</summary>
    public bool Verify(string key, string? expires, string? signature)
    {
        if (expires is null || signature is null
            || !long.TryParse(expires, NumberStyles.None, CultureInfo.InvariantCulture, out var exp)
            || exp < _time.GetUtcNow().ToUnixTimeSeconds())
        {
            return false;
        }

        var given = Encoding.ASCII.GetBytes(signature);
        // Not found under the keys known here: another instance may have rotated them moments ago.
        return SignedWithAny(given, key, expires) || (_keys.Reread() && SignedWithAny(given, key, expires));
    }

    private bool SignedWithAny(byte[] given, string key, string expires)
    {
        var matched = false;
        foreach (var signingKey in _keys.Verifying())
        {
            // Every key is tried: how long verification takes says nothing about which one matched.
            matched |= CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(signingKey, key, expires)), given);
        }

        return matched;
    }

    /// <summary>
    /// <c>PUBLIC_URL</c> when set; otherwise the scheme and host the request came to. That host has passed
    /// <c>AllowedHosts</c> filtering before any handler runs, so with both unset any Host header a client
    /// sends ends up in the links it receives: production sets <c>PUBLIC_URL</c>.
    /// </summary>
    public string BaseUrl(HttpRequest request) =>
        string.IsNullOrWhiteSpace(_options.PublicUrl)
            ? string.Concat(request.Scheme, "://", request.Host.Value, request.PathBase.Value)
            : _options.PublicUrl.TrimEnd('/');

    /// <summary>Expiry rounded up to the minute so repeated queries hand out the same URL (browser caches stay warm).</summary>
    private long RoundedExpiry(TimeSpan lifetime)
    {
        var exp = (_time.GetUtcNow() + lifetime).ToUnixTimeSeconds();
        return (exp + 59) / 60 * 60;
    }

    private static string Sign(byte[] signingKey, string key, string expires)
    {
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(signingKey, Encoding.UTF8.GetBytes(string.Concat(key, "\n", expires)), mac);
        return Base64UrlEncode(mac[..18]);
    }

    private static string Base64UrlEncode(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
