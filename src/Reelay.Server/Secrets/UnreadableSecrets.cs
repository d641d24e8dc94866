using System.Collections.Concurrent;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Reelay.Secrets;

/// <summary>
/// The stored secrets that do not decrypt, each with the reason: what they belong to is not used (a
/// channel is disabled), the admin API and readiness show why, and each is logged once. A holder
/// reports its whole list whenever it reads its secrets.
/// </summary>
public sealed partial class UnreadableSecrets(ILogger<UnreadableSecrets> logger)
{
    private readonly ConcurrentDictionary<string, IReadOnlyDictionary<string, string>> _byHolder = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>Replaces what <paramref name="holder"/> reported before with <paramref name="unreadable"/> (item → reason).</summary>
    public void Report(string holder, IReadOnlyDictionary<string, string> unreadable)
    {
        lock (_gate)
        {
            var before = _byHolder.TryGetValue(holder, out var seen) ? seen : new Dictionary<string, string>();
            foreach (var (item, reason) in unreadable)
            {
                if (!before.TryGetValue(item, out var was) || was != reason)
                {
                    LogUnreadable(logger, holder, item, reason);
                }
            }

            foreach (var item in before.Keys.Where(item => !unreadable.ContainsKey(item)))
            {
                LogReadableAgain(logger, holder, item);
            }

            _byHolder[holder] = new Dictionary<string, string>(unreadable, StringComparer.OrdinalIgnoreCase);
        }
    }

    /// <summary>Why this item's secret does not decrypt, or null when it does (or it has none).</summary>
    public string? Find(string holder, string item) =>
        _byHolder.TryGetValue(holder, out var items) && items.TryGetValue(item, out var reason) ? reason : null;

    /// <summary>Every unreadable secret, by holder and item.</summary>
    public IReadOnlyList<UnreadableSecret> All =>
        [.. _byHolder.OrderBy(pair => pair.Key, StringComparer.Ordinal)
            .SelectMany(pair => pair.Value.OrderBy(item => item.Key, StringComparer.Ordinal).Select(item => new UnreadableSecret(pair.Key, item.Key, item.Value)))];

    [LoggerMessage(Level = LogLevel.Error, Message = "The secret {Holder} of '{Item}' cannot be decrypted, so '{Item}' is not used: {Reason}")]
    private static partial void LogUnreadable(ILogger logger, string holder, string item, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "The secret {Holder} of '{Item}' is readable again (or gone)")]
    private static partial void LogReadableAgain(ILogger logger, string holder, string item);
}

/// <summary>A stored secret that does not decrypt: of which kind, whose, and why.</summary>
public sealed record UnreadableSecret(string Holder, string Item, string Reason);

/// <summary>Readiness says which secrets do not decrypt (degraded, still 200: the rest of the gateway works).</summary>
internal sealed class SecretsHealthCheck(UnreadableSecrets unreadable) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var all = unreadable.All;
        return Task.FromResult(all.Count == 0
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Degraded($"{all.Count} stored secrets cannot be decrypted, so what they belong to is not used: "
                + string.Join(", ", all.Select(secret => $"{secret.Holder} of '{secret.Item}' ({secret.Reason})"))));
    }
}
