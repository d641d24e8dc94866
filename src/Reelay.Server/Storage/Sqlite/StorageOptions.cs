using Microsoft.Extensions.Options;

namespace Reelay.Storage.Sqlite;

/// <summary>How the database is used (section <c>Storage</c>).</summary>
public sealed class StorageOptions
{
    /// <summary>
    /// How long a write waits for another writer (a second instance, the sqlite3 shell, a backup) to let
    /// go of the database before it fails: a request then answers 503 with <c>Retry-After</c>, a worker
    /// backs off and tries again. A create is answered within about this long, stored or refused.
    /// </summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>While writes fail, how often a small probe write checks whether the database takes writes again, so readiness recovers without traffic.</summary>
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromSeconds(2);
}

/// <summary>Rejects storage settings that cannot work, naming the setting and the value.</summary>
internal sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        List<string> failures = [];
        // Under 100 ms ordinary contention with a second instance would fail writes; past 10 minutes no HTTP client is still waiting.
        if (options.BusyTimeout < TimeSpan.FromMilliseconds(100) || options.BusyTimeout > TimeSpan.FromMinutes(10))
        {
            failures.Add($"Storage:BusyTimeout must be between 00:00:00.100 and 00:10:00, not {options.BusyTimeout}.");
        }
        if (options.ProbeInterval <= TimeSpan.Zero)
        {
            failures.Add($"Storage:ProbeInterval must be positive, not {options.ProbeInterval}.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
