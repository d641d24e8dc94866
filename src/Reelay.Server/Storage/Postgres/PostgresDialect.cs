using System.Data.Common;
using Npgsql;
using Reelay.Storage.Relational;

namespace Reelay.Storage.Postgres;

/// <summary>PostgreSQL's spellings of what the relational stores share.</summary>
public sealed class PostgresDialect : SqlDialect
{
    public static readonly PostgresDialect Instance = new();

    private PostgresDialect()
    {
    }

    /// <summary>The database's clock (<see cref="PostgresDatabase.NowMs"/>): every instance compares lease expiries with the same one.</summary>
    public override string LeaseNow => PostgresDatabase.NowMs;

    /// <summary>Several instances claim at once: each skips the rows another is stamping instead of waiting for them.</summary>
    public override string SkipLocked => "FOR UPDATE SKIP LOCKED";

    public override string IsAnyOf(string column, string parameter) => $"{column} = ANY({parameter})";

    public override object Ids(IEnumerable<long> ids) => ids.ToArray();

    public override object Texts(IReadOnlyList<string> values) => values.ToArray();

    public override char ParameterMarker => '@';

    /// <summary>PostgreSQL has no rowid: the tasks table numbers its rows in <c>seq</c>.</summary>
    public override string TaskOrder => "seq";

    // The unique indexes are on lower(name), as SQLite's COLLATE NOCASE keys compare.
    public override string SameName(string column, string parameter) => $"lower({column}) = lower({parameter})";

    public override string NameKey(string column) => $"((lower({column})))";

    public override string Contains(string text, string part) => $"strpos({text}, {part}) > 0";

    public override string UtcDay(string unixMs) => $"to_char(to_timestamp({unixMs} / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD')";

    public override bool IsUniqueViolation(DbException e) => e is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };
}
