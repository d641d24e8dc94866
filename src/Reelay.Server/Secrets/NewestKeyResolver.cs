using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.KeyManagement.Internal;

namespace Reelay.Secrets;

/// <summary>
/// Picks the key that encrypts: the most recently activated one that is neither expired nor revoked.
/// Data Protection's own policy keeps using an older key until a new one is two days old, so that every
/// instance has seen it before anything is encrypted with it. Here an instance reads the ring again
/// when it meets a key it does not know (<see cref="SecretKeyRing"/>), so a rotation can take effect at once.
/// </summary>
internal sealed class NewestKeyResolver : IDefaultKeyResolver
{
    public DefaultKeyResolution ResolveDefaultKeyPolicy(DateTimeOffset now, IEnumerable<IKey> allKeys)
    {
        var candidates = allKeys
            .Where(key => !key.IsRevoked && key.ActivationDate <= now && key.ExpirationDate > now)
            .OrderByDescending(key => key.ActivationDate)
            .ThenByDescending(key => key.CreationDate)
            .ThenBy(key => key.KeyId);
        foreach (var key in candidates)
        {
            if (CanEncrypt(key))
            {
                return new DefaultKeyResolution { DefaultKey = key, ShouldGenerateNewKey = false };
            }
        }

        // None usable: Data Protection makes a key that is active at once.
        return new DefaultKeyResolution { ShouldGenerateNewKey = true };
    }

    private static bool CanEncrypt(IKey key)
    {
        try
        {
            return key.CreateEncryptor() is not null;
        }
        catch (Exception e) when (e is CryptographicException or SecretKeyRingException or InvalidOperationException or FormatException or System.Xml.XmlException)
        {
            // A key this instance cannot open (sealed with another SECRETS_KEY, damaged) never encrypts here.
            return false;
        }
    }
}
