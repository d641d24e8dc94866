using System.Security.Cryptography;

namespace Reelay.Webhooks;

/// <summary>
/// The event types a task's changes cause, and which a target receives when it names none:
/// every type but <see cref="Progress"/>, which is opt-in because a long render sends many.
/// </summary>
public static class WebhookEvents
{
    public const string Processing = "video.processing";
    public const string Progress = "video.progress";
    public const string Completed = "video.completed";
    public const string Failed = "video.failed";
    public const string Cancelled = "video.cancelled";

    public static readonly IReadOnlyList<string> All = [Processing, Progress, Completed, Failed, Cancelled];

    /// <summary>At most one <see cref="Progress"/> event per task in this long: enough to draw a bar, not a flood.</summary>
    public static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(2);

    /// <summary>
    /// A list of event types as a client or operator sends it → the stored list (full names, no
    /// duplicates), or what is wrong with it. The short names Replicate's <c>webhook_events_filter</c>
    /// style suggests (<c>completed</c>, <c>progress</c>) are read as the full ones.
    /// </summary>
    public static string? Normalize(IReadOnlyList<string> given, out IReadOnlyList<string> types)
    {
        var normalized = new List<string>();
        foreach (var name in given)
        {
            var trimmed = name.Trim();
            var full = trimmed.StartsWith("video.", StringComparison.Ordinal) ? trimmed : "video." + trimmed;
            if (!All.Contains(full, StringComparer.Ordinal))
            {
                types = [];
                return $"'{(trimmed.Length > 40 ? trimmed[..40] + "…" : trimmed)}' is not an event type; use {string.Join(", ", All)}";
            }

            if (!normalized.Contains(full, StringComparer.Ordinal))
            {
                normalized.Add(full);
            }
        }

        if (normalized.Count == 0)
        {
            types = [];
            return $"names no event type; use {string.Join(", ", All)}, or leave it out for every type but {Progress}";
        }

        types = normalized;
        return null;
    }

    /// <summary>A new event id: the <c>webhook-id</c> receivers dedupe by, so unguessable and never reused.</summary>
    public static string NewEventId() => "evt_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
}

/// <summary>
/// When a failed delivery is tried again: at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and
/// 24 h after each failure (about three days in all, so a receiver down over a weekend still gets its
/// events), never sooner than the receiver's <c>Retry-After</c>.
/// </summary>
public static class WebhookRetrySchedule
{
    private static readonly TimeSpan[] Delays =
    [
        TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2), TimeSpan.FromHours(5),
        TimeSpan.FromHours(10), TimeSpan.FromHours(14), TimeSpan.FromHours(20), TimeSpan.FromHours(24),
    ];

    /// <summary>Tries in all, the first included.</summary>
    public static int MaxAttempts => Delays.Length + 1;

    /// <summary>
    /// The wait after the <paramref name="attempts"/>th failed try, or null when that was the last. A
    /// <paramref name="retryAfter"/> longer than the schedule's wait is honoured, up to a day.
    /// </summary>
    public static TimeSpan? After(int attempts, TimeSpan? retryAfter)
    {
        if (attempts < 1 || attempts > Delays.Length)
        {
            return null;
        }

        var wait = Delays[attempts - 1];
        return retryAfter is { } asked && asked > wait ? (asked < TimeSpan.FromDays(1) ? asked : TimeSpan.FromDays(1)) : wait;
    }
}
