using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Reelay.Tasks;

/// <summary>
/// Public task ids: the model family prefix as relays issue them, then a UUID version 7
/// (<c>grok:019ad3e5-…</c>): the creation time in milliseconds, then 74 random bits, so an id cannot
/// be guessed (and another key's id answers 404 anyway).
/// </summary>
public static class TaskIds
{
    /// <summary>Random bytes one id takes: <c>rand_a</c> and <c>rand_b</c> with the bits the version and variant overwrite.</summary>
    private const int RandomBytesPerId = 10;

    /// <summary>Ids made from one draw of the system's cryptographic generator.</summary>
    private const int IdsPerDraw = 64;

    [ThreadStatic] private static byte[]? t_random;
    [ThreadStatic] private static int t_taken;

    /// <summary>
    /// Time-ordered rather than fully random: ids of one model then sort in creation order, so each
    /// insert appends to the primary-key index instead of landing on a random page of it, and a group
    /// commit of many creates writes a few index pages to the WAL instead of one page per row.
    /// The random bits come from the cryptographic generator, as <see cref="Guid.CreateVersion7()"/>'s
    /// do, but drawn for many ids at once: that one reads them with a system call per id.
    /// </summary>
    public static string New(string prefix) => New(prefix, DateTimeOffset.UtcNow);

    internal static string New(string prefix, DateTimeOffset createdAt)
    {
        Span<byte> uuid = stackalloc byte[16];
        BinaryPrimitives.WriteInt64BigEndian(uuid, createdAt.ToUnixTimeMilliseconds() << 16);
        TakeRandom(uuid[6..]);
        uuid[6] = (byte)(0x70 | (uuid[6] & 0x0F));
        uuid[8] = (byte)(0x80 | (uuid[8] & 0x3F));
        var id = new Guid(uuid, bigEndian: true);
        return string.Create(prefix.Length + 37, (prefix, id), static (text, state) =>
        {
            state.prefix.CopyTo(text);
            text[state.prefix.Length] = ':';
            state.id.TryFormat(text[(state.prefix.Length + 1)..], out _, "D");
        });
    }

    /// <summary>Cheap shape check so junk ids answer 404 without a database read.</summary>
    public static bool LooksValid(string? id) =>
        id is { Length: > 37 and <= 128 } && id[^37] == ':' && Guid.TryParseExact(id.AsSpan(id.Length - 36), "D", out _);

    /// <summary>Fills <paramref name="destination"/> with unused bytes of this thread's draw; each byte is handed out once and then wiped.</summary>
    private static void TakeRandom(Span<byte> destination)
    {
        var random = t_random ??= new byte[RandomBytesPerId * IdsPerDraw];
        if (t_taken == 0)
        {
            RandomNumberGenerator.Fill(random);
        }

        var taken = random.AsSpan(t_taken, RandomBytesPerId);
        taken.CopyTo(destination);
        taken.Clear();
        t_taken = (t_taken + RandomBytesPerId) % random.Length;
    }
}
