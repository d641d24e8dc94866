using System.Data;
using Reelay.Accounts;

namespace Reelay.Storage.Relational;

/// <summary>
/// The limit columns accounts and keys share (<c>allowed_models_json</c> … <c>callback_url</c>), as
/// Dapper reads and binds them on SQLite or PostgreSQL: lists are JSON text in the row, typed lists everywhere else.
/// </summary>
internal class AccessLimitsRow
{
    /// <summary>The columns under the names of this class's properties, optionally of a table alias.</summary>
    public static string Columns(string alias = "", string prefix = "") =>
        string.Join(", ", ((string[])["allowed_models_json AS AllowedModelsJson", "expires_at AS ExpiresAt", "rpm AS Rpm", "max_in_flight AS MaxInFlight",
            "max_spend_per_day AS MaxSpendPerDay", "allowed_ips_json AS AllowedIpsJson", "callback_url AS CallbackUrl"])
            .Select(column => (alias.Length > 0 ? alias + "." : "") + column.Replace(" AS ", " AS " + prefix, StringComparison.Ordinal)));

    /// <summary>SET clause for an UPDATE, bound by <see cref="Bind"/>.</summary>
    public const string Assignments = """
        allowed_models_json = @AllowedModelsJson, expires_at = @ExpiresAt, rpm = @Rpm, max_in_flight = @MaxInFlight,
        max_spend_per_day = @MaxSpendPerDay, allowed_ips_json = @AllowedIpsJson, callback_url = @CallbackUrl
        """;

    public const string InsertColumns = "allowed_models_json, expires_at, rpm, max_in_flight, max_spend_per_day, allowed_ips_json, callback_url";

    public const string InsertValues = "@AllowedModelsJson, @ExpiresAt, @Rpm, @MaxInFlight, @MaxSpendPerDay, @AllowedIpsJson, @CallbackUrl";

    public string? AllowedModelsJson { get; set; }
    public long? ExpiresAt { get; set; }
    public long? Rpm { get; set; }
    public long? MaxInFlight { get; set; }
    public long? MaxSpendPerDay { get; set; }
    public string? AllowedIpsJson { get; set; }
    public string? CallbackUrl { get; set; }

    public AccessLimits ToLimits() => new()
    {
        AllowedModels = AllowedModelsJson is null ? null : TaskRows.ReadList(AllowedModelsJson),
        ExpiresAt = ExpiresAt,
        RequestsPerMinute = (int?)Rpm,
        MaxInFlight = (int?)MaxInFlight,
        MaxSpendPerDay = MaxSpendPerDay,
        AllowedIps = AllowedIpsJson is null ? null : TaskRows.ReadList(AllowedIpsJson),
        CallbackUrl = CallbackUrl,
    };

    /// <summary>
    /// Adds the limit parameters <see cref="Assignments"/> and <see cref="InsertValues"/> name, each with its
    /// type: PostgreSQL cannot tell the type of a bare null in an <c>INSERT … SELECT</c>.
    /// </summary>
    public static void Bind(Dapper.DynamicParameters parameters, AccessLimits limits)
    {
        parameters.Add("AllowedModelsJson", limits.AllowedModels is null ? null : TaskRows.Json(limits.AllowedModels), DbType.String);
        parameters.Add("ExpiresAt", limits.ExpiresAt, DbType.Int64);
        parameters.Add("Rpm", (long?)limits.RequestsPerMinute, DbType.Int64);
        parameters.Add("MaxInFlight", (long?)limits.MaxInFlight, DbType.Int64);
        parameters.Add("MaxSpendPerDay", limits.MaxSpendPerDay, DbType.Int64);
        parameters.Add("AllowedIpsJson", limits.AllowedIps is null ? null : TaskRows.Json(limits.AllowedIps), DbType.String);
        parameters.Add("CallbackUrl", limits.CallbackUrl, DbType.String);
    }
}
