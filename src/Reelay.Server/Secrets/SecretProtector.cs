using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Reelay.Secrets;

/// <summary>
/// Encrypts and decrypts stored secrets with the key ring (authenticated: AES-256-CBC with
/// HMAC-SHA256, Data Protection's default). A store that keeps a secret keeps only what
/// <see cref="Protect"/> returns — URL-safe text that is useless without the key ring — and reads it
/// back with <see cref="Unprotect"/>, which says why a value does not decrypt instead of throwing:
/// one bad value disables what it belongs to, not the process.
/// </summary>
public sealed class SecretProtector(SecretKeyRing ring)
{
    /// <summary>Encrypts <paramref name="secret"/> under the current key, for one kind of secret (<see cref="SecretPurposes"/>).</summary>
    public string Protect(string purpose, string secret) =>
        Base64Url.EncodeToString(ring.Current().Protector(purpose).Protect(Encoding.UTF8.GetBytes(secret)));

    /// <summary>The secret, or why it cannot be had; never throws for a bad value.</summary>
    public SecretRead Unprotect(string purpose, string protectedValue)
    {
        if (!TryDecode(protectedValue, out var bytes) || SecretKeyRing.KeyIdOf(bytes) is not { } keyId)
        {
            return SecretRead.Failed(SecretFailure.Damaged, null, "it is not a value Reelay encrypted (altered or damaged)");
        }

        var current = ring.Current();
        if (TryUnprotect(current, purpose, bytes, out var secret))
        {
            return SecretRead.Read(secret, keyId);
        }

        // A key another instance added since this one last looked, or one restored into the ring: look now.
        var fresh = ring.Refresh();
        if (fresh != current && TryUnprotect(fresh, purpose, bytes, out secret))
        {
            return SecretRead.Read(secret, keyId);
        }

        var key = fresh.Keys.GetAllKeys().FirstOrDefault(k => k.KeyId == keyId);
        return key switch
        {
            null => SecretRead.Failed(SecretFailure.KeyNotInRing, keyId,
                $"it was encrypted with key {keyId}, which is not in the key ring at {ring.Location} (REELAY_SECRETS_KEY_RING): that key was retired, or this is another key ring"),
            { IsRevoked: true } => SecretRead.Failed(SecretFailure.KeyRevoked, keyId, $"it was encrypted with key {keyId}, which is revoked in the key ring at {ring.Location}"),
            _ => SecretRead.Failed(SecretFailure.Damaged, keyId, $"it does not decrypt with key {keyId}: the stored value was altered or damaged"),
        };
    }

    /// <summary>The key a protected value was encrypted with, or null when it is not one.</summary>
    public static Guid? KeyIdOf(string protectedValue) =>
        TryDecode(protectedValue, out var bytes) ? SecretKeyRing.KeyIdOf(bytes) : null;

    private static bool TryUnprotect(SecretKeyRing.Ring ring, string purpose, byte[] bytes, out string secret)
    {
        try
        {
            secret = Encoding.UTF8.GetString(ring.Protector(purpose).Unprotect(bytes));
            return true;
        }
        catch (CryptographicException)
        {
            secret = "";
            return false;
        }
    }

    private static bool TryDecode(string text, out byte[] bytes)
    {
        bytes = [];
        if (string.IsNullOrEmpty(text) || !Base64Url.IsValid(text))
        {
            return false;
        }

        bytes = Base64Url.DecodeFromChars(text);
        return true;
    }
}

/// <summary>Why a stored secret did not decrypt.</summary>
public enum SecretFailure
{
    None,

    /// <summary>Encrypted with a key the ring does not hold (retired, or another ring).</summary>
    KeyNotInRing,

    /// <summary>Encrypted with a key that was revoked.</summary>
    KeyRevoked,

    /// <summary>The stored value was altered or damaged: it fails authentication.</summary>
    Damaged,
}

/// <summary>What reading a stored secret gave: the secret, or the reason (which never holds the value).</summary>
public sealed record SecretRead(string? Value, SecretFailure Failure, Guid? KeyId, string Reason)
{
    public bool Succeeded => Failure == SecretFailure.None;

    internal static SecretRead Read(string value, Guid keyId) => new(value, SecretFailure.None, keyId, "");

    internal static SecretRead Failed(SecretFailure failure, Guid? keyId, string reason) => new(null, failure, keyId, reason);
}
