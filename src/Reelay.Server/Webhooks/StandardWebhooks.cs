using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Reelay.Webhooks;

/// <summary>
/// Signing as the Standard Webhooks specification defines it: a secret <c>whsec_</c> + base64 of random
/// bytes; for each message the headers <c>webhook-id</c>, <c>webhook-timestamp</c> (Unix seconds) and
/// <c>webhook-signature</c>, which holds <c>v1,</c> + base64 of HMAC-SHA256 over <c>id.timestamp.body</c>
/// keyed with the secret's bytes — one such signature per secret in force, separated by spaces.
/// </summary>
public static class StandardWebhooks
{
    public const string SecretPrefix = "whsec_";

    /// <summary>A new secret: 32 random bytes, the size the specification recommends at most (24 to 64).</summary>
    public static string NewSecret() => SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>The <c>webhook-signature</c> header for a message, signed with each of <paramref name="secrets"/>.</summary>
    public static string Signature(IReadOnlyList<string> secrets, string messageId, long timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{messageId}.{timestamp}."));
        var content = new byte[prefix.Length + body.Length];
        prefix.CopyTo(content, 0);
        body.CopyTo(content.AsSpan(prefix.Length));
        return string.Join(' ', secrets.Select(secret => "v1," + Convert.ToBase64String(HMACSHA256.HashData(KeyOf(secret), content))));
    }

    private static byte[] KeyOf(string secret) =>
        Convert.FromBase64String(secret.StartsWith(SecretPrefix, StringComparison.Ordinal) ? secret[SecretPrefix.Length..] : secret);
}
