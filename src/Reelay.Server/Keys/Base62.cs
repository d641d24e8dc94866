using System.Numerics;
using System.Security.Cryptography;

namespace Reelay.Keys;

/// <summary>Base62 text for secrets: URL-safe, copy-paste safe (no punctuation).</summary>
public static class Base62
{
    /// <summary>A random secret of <paramref name="bytes"/> bytes in Base62.</summary>
    public static string NewSecret(int bytes = 32) => Encode(RandomNumberGenerator.GetBytes(bytes));

    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        var value = new BigInteger(bytes, isUnsigned: true, isBigEndian: true);
        var chars = new List<char>(bytes.Length * 4 / 3 + 2);
        while (value > 0)
        {
            value = BigInteger.DivRem(value, 62, out var remainder);
            chars.Add(Alphabet[(int)remainder]);
        }

        // Fixed length so every secret of one size looks alike.
        var length = (int)Math.Ceiling(bytes.Length * 8 / Math.Log2(62));
        while (chars.Count < length)
        {
            chars.Add('0');
        }

        chars.Reverse();
        return new string([.. chars]);
    }
}
