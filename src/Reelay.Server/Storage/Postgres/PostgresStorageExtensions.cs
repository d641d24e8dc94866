using Microsoft.Extensions.Options;
using Reelay.Health;
using Reelay.Storage.Relational;

namespace Reelay.Storage.Postgres;

public static class PostgresStorageExtensions
{
    /// <summary>The values <c>Storage:Provider</c> may take.</summary>
    public const string Sqlite = "sqlite", Postgres = "postgres";

    /// <summary>
    /// Whether configuration chooses PostgreSQL (<c>Storage:Provider</c> = <c>postgres</c>) over the embedded
    /// SQLite file (<c>sqlite</c>, the default). Any other value stops startup, naming the setting.
    /// </summary>
    public static bool ChoosesPostgres(IConfiguration configuration)
    {
        var provider = configuration["Storage:Provider"];
        if (string.IsNullOrWhiteSpace(provider) || provider.Equals(Sqlite, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return provider.Equals(Postgres, StringComparison.OrdinalIgnoreCase)
            ? true
            : throw new OptionsValidationException("Storage", typeof(PostgresOptions),
                [$"Storage:Provider must be '{Sqlite}' (the default) or '{Postgres}', not '{provider}'."]);
    }

    /// <summary>
    /// The scale-out store: tasks, keys, accounts and their ledger, prices, the audit log, channels and the
    /// webhook outbox in one PostgreSQL database (<c>Storage:Postgres:ConnectionString</c>) that several
    /// instances share, and its readiness check. Registers exactly the services <c>AddSqliteStorage</c> does.
    /// </summary>
    public static IServiceCollection AddPostgresStorage(this IServiceCollection services)
    {
        services.AddOptions<PostgresOptions>().BindConfiguration("Storage:Postgres").ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgresOptions>, PostgresOptionsValidator>());
        // One data source (connection pool) per process, made once the settings have been validated.
        services.TryAddSingleton(sp => new PostgresDatabase(sp.GetRequiredService<IOptions<PostgresOptions>>().Value, sp.GetRequiredService<ILogger<PostgresDatabase>>()));
        services.AddRelationalStores<PostgresDatabase, PostgresTaskStore>();
        services.AddHealthChecks().AddCheck<PostgresHealthCheck>("database", tags: [HealthExtensions.ReadyTag]);
        return services;
    }
}
