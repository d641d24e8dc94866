namespace Reelay.Tasks;

/// <summary>Public task ids: the model family prefix as relays issue them, then 122 random bits (<c>grok:299604b7-…</c>).</summary>
public static class TaskIds
{
    public static string New(string prefix) => string.Concat(prefix, ":", Guid.NewGuid().ToString("D"));

    /// <summary>Cheap shape check so junk ids answer 404 without a database read.</summary>
    public static bool LooksValid(string? id) =>
        id is { Length: > 37 and <= 128 } && id[^37] == ':' && Guid.TryParseExact(id.AsSpan(id.Length - 36), "D", out _);
}
