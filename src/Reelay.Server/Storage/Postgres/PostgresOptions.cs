using Microsoft.Extensions.Options;
using Npgsql;

namespace Reelay.Storage.Postgres;

/// <summary>The PostgreSQL store (section <c>Storage:Postgres</c>), used when <c>Storage:Provider</c> is <c>postgres</c>.</summary>
public sealed class PostgresOptions
{
    /// <summary>
    /// An Npgsql connection string (<c>Host=…;Port=…;Database=…;Username=…;Password=…</c>). Reelay adds its
    /// own defaults where it says nothing: automatic preparation of the hot statements, a bounded wait for a
    /// pooled connection, and an application name that shows in <c>pg_stat_activity</c>.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>What a refused request's <c>Retry-After</c> says while the database cannot be reached.</summary>
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(2);
}

/// <summary>Rejects PostgreSQL settings that cannot work, naming the setting.</summary>
internal sealed class PostgresOptionsValidator : IValidateOptions<PostgresOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgresOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            return ValidateOptionsResult.Fail("Storage:Postgres:ConnectionString is required when Storage:Provider is 'postgres' (for example Host=127.0.0.1;Database=reelay;Username=reelay;Password=…).");
        }

        try
        {
            _ = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        }
        catch (ArgumentException e)
        {
            return ValidateOptionsResult.Fail($"Storage:Postgres:ConnectionString is not a valid connection string: {e.Message}");
        }

        return options.RetryAfter <= TimeSpan.Zero
            ? ValidateOptionsResult.Fail($"Storage:Postgres:RetryAfter must be positive, not {options.RetryAfter}.")
            : ValidateOptionsResult.Success;
    }
}
