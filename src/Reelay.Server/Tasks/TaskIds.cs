namespace Reelay.Tasks;

/// <summary>
/// Public task ids: the model family prefix as relays issue them, then a UUID version 7
/// (<c>grok:019ad3e5-…</c>): the creation time in milliseconds, then 74 random bits, so an id cannot
/// be guessed (and another key's id answers 404 anyway).
/// </summary>
public static class TaskIds
{
    /// <summary>
    /// Time-ordered rather than fully random: ids of one model then sort in creation order, so each
    /// insert appends to the primary-key index instead of landing on a random page of it, and a group
    /// commit of many creates writes a few index pages to the WAL instead of one page per row.
    /// </summary>
    public static string New(string prefix) => string.Concat(prefix, ":", Guid.CreateVersion7().ToString("D"));

    /// <summary>Cheap shape check so junk ids answer 404 without a database read.</summary>
    public static bool LooksValid(string? id) =>
        id is { Length: > 37 and <= 128 } && id[^37] == ':' && Guid.TryParseExact(id.AsSpan(id.Length - 36), "D", out _);
}
