using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Reelay.Storage.Relational;
using SQLitePCL;

namespace Reelay.Storage.Sqlite;

/// <summary>SQLite's spellings of what the relational stores share.</summary>
public sealed class SqliteDialect : SqlDialect
{
    public static readonly SqliteDialect Instance = new();

    private SqliteDialect()
    {
    }

    /// <summary>One process owns the file, so its clock (the caller's <c>@now</c>) is the only one leases meet.</summary>
    public override string LeaseNow => "@now";

    /// <summary>Nothing: SQLite runs one writer at a time, so two claims never see the same rows free.</summary>
    public override string SkipLocked => "";

    // SQLite binds no arrays: the ids travel as one JSON list, which json_each unpacks.
    public override string IsAnyOf(string column, string parameter) => $"{column} IN (SELECT value FROM json_each({parameter}))";

    public override object Ids(IEnumerable<long> ids) => "[" + string.Join(',', ids.Select(id => id.ToString(CultureInfo.InvariantCulture))) + "]";

    public override object Texts(IReadOnlyList<string> values) => TaskRows.Json(values);

    // '$': the task store's prepared statements bind by SQLite's own names.
    public override char ParameterMarker => '$';

    public override string TaskOrder => "rowid";

    // The name columns are declared COLLATE NOCASE: a plain comparison ignores case and uses the key.
    public override string SameName(string column, string parameter) => $"{column} = {parameter}";

    public override string NameKey(string column) => $"({column})";

    public override string Contains(string text, string part) => $"instr({text}, {part}) > 0";

    public override string UtcDay(string unixMs) => $"strftime('%Y-%m-%d', {unixMs} / 1000, 'unixepoch')";

    public override bool IsUniqueViolation(DbException e) =>
        e is SqliteException { SqliteExtendedErrorCode: raw.SQLITE_CONSTRAINT_PRIMARYKEY or raw.SQLITE_CONSTRAINT_UNIQUE };
}
