using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;

namespace Reelay.Secrets;

/// <summary>
/// <c>SECRETS_KEY</c>, stretched with HKDF-SHA256 into the AES-256-GCM key that seals each key of the
/// ring. Data Protection hands every new key to <see cref="MasterKeyXmlEncryptor"/> before writing it,
/// and finds <see cref="MasterKeyXmlDecryptor"/> by the type name written beside it.
/// </summary>
public sealed class SecretsMasterKey
{
    internal const string ElementName = "sealedKey";
    private const int NonceBytes = 12;
    private const int TagBytes = 16;
    private static readonly byte[] Context = "Reelay key ring v1"u8.ToArray();

    private readonly byte[] _key;

    public SecretsMasterKey(string secret)
    {
        _key = HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(secret.Trim()), 32, salt: null, info: Context);
    }

    /// <summary>The key element, encrypted and authenticated; the element name is authenticated too.</summary>
    internal XElement Seal(XElement plain)
    {
        var text = Encoding.UTF8.GetBytes(plain.ToString(SaveOptions.DisableFormatting));
        var sealedBytes = new byte[NonceBytes + TagBytes + text.Length];
        var nonce = sealedBytes.AsSpan(0, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        using (var aes = new AesGcm(_key, TagBytes))
        {
            aes.Encrypt(nonce, text, sealedBytes.AsSpan(NonceBytes + TagBytes), sealedBytes.AsSpan(NonceBytes, TagBytes), Context);
        }

        return new XElement(ElementName,
            new XAttribute("version", "1"),
            new XComment(" Encrypted with REELAY_SECRETS_KEY (AES-256-GCM). "),
            new XElement("value", Convert.ToBase64String(sealedBytes)));
    }

    /// <summary>The key element inside, or null when this key did not seal it (or it was altered).</summary>
    internal XElement? Open(XElement sealedElement)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String((string?)sealedElement.Element("value") ?? "");
        }
        catch (FormatException)
        {
            return null;
        }

        if (sealedElement.Name != ElementName || bytes.Length < NonceBytes + TagBytes)
        {
            return null;
        }

        var text = new byte[bytes.Length - NonceBytes - TagBytes];
        try
        {
            using var aes = new AesGcm(_key, TagBytes);
            aes.Decrypt(bytes.AsSpan(0, NonceBytes), bytes.AsSpan(NonceBytes + TagBytes), bytes.AsSpan(NonceBytes, TagBytes), text, Context);
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }

        return XElement.Parse(Encoding.UTF8.GetString(text));
    }
}

/// <summary>Seals each new key of the ring with <see cref="SecretsMasterKey"/>.</summary>
internal sealed class MasterKeyXmlEncryptor(SecretsMasterKey masterKey) : IXmlEncryptor
{
    public EncryptedXmlInfo Encrypt(XElement plaintextElement) => new(masterKey.Seal(plaintextElement), typeof(MasterKeyXmlDecryptor));
}

/// <summary>
/// Opens a sealed key. Created by Data Protection from the type name stored in the key file, with the
/// key ring's own service container, which holds the <see cref="SecretsMasterKey"/> when one is set.
/// </summary>
public sealed class MasterKeyXmlDecryptor(IServiceProvider services) : IXmlDecryptor
{
    public XElement Decrypt(XElement encryptedElement)
    {
        var masterKey = services.GetService<SecretsMasterKey>()
            ?? throw new SecretKeyRingException("The key ring is encrypted with REELAY_SECRETS_KEY, which is not set: set it to the value the ring was made with.");
        return masterKey.Open(encryptedElement)
            ?? throw new SecretKeyRingException("REELAY_SECRETS_KEY does not open the key ring: set it to the value the ring was made with.");
    }
}
