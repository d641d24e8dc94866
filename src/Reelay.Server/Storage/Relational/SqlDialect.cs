using System.Data.Common;

namespace Reelay.Storage.Relational;

/// <summary>
/// The spellings in which SQLite and PostgreSQL differ, for the statements the relational stores share.
/// Everything else they write in the SQL both understand (<c>ON CONFLICT … DO UPDATE</c>, <c>RETURNING</c>,
/// <c>CAST</c>, <c>FILTER</c>, <c>true</c>/<c>false</c>).
/// </summary>
public abstract class SqlDialect
{
    /// <summary>
    /// The time leases are taken and compared at, in Unix ms: PostgreSQL's clock, which every instance
    /// shares, or the caller's <c>@now</c> on SQLite, where one process owns the file.
    /// </summary>
    public abstract string LeaseNow { get; }

    /// <summary>What ends a claim's inner <c>SELECT</c> so that concurrent claimers skip each other's rows ("" where one writer runs at a time).</summary>
    public abstract string SkipLocked { get; }

    /// <summary>The character that starts a parameter's name in the statements the backend prepares itself.</summary>
    public abstract char ParameterMarker { get; }

    /// <summary>The column that orders tasks created within the same millisecond (their insertion order).</summary>
    public abstract string TaskOrder { get; }

    /// <summary>A condition that <paramref name="column"/> is one of the ids bound to <paramref name="parameter"/> by <see cref="Ids"/>.</summary>
    public abstract string IsAnyOf(string column, string parameter);

    /// <summary>The value to bind for <see cref="IsAnyOf"/>.</summary>
    public abstract object Ids(IEnumerable<long> ids);

    /// <summary>The value to bind for <see cref="IsAnyOf"/> over a text column.</summary>
    public abstract object Texts(IReadOnlyList<string> values);

    /// <summary>A condition that a name column equals a parameter, ignoring ASCII case, as its unique key does.</summary>
    public abstract string SameName(string column, string parameter);

    /// <summary>The <c>ON CONFLICT</c> target of a table whose key is a name unique regardless of case.</summary>
    public abstract string NameKey(string column);

    /// <summary>A condition that <paramref name="text"/> contains <paramref name="part"/> (both already lower-cased by the caller).</summary>
    public abstract string Contains(string text, string part);

    /// <summary>The UTC day (<c>YYYY-MM-DD</c>) of a Unix-ms column.</summary>
    public abstract string UtcDay(string unixMs);

    /// <summary>True when the statement broke a unique (or primary) key.</summary>
    public abstract bool IsUniqueViolation(DbException e);
}
