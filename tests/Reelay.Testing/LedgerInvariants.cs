using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;
using Xunit;

namespace Reelay.Testing;

/// <summary>
/// The books of a Reelay database, checked from the outside with plain SQL: credits never drift.
/// <list type="bullet">
/// <item>every ended task has settled: held = charged + released, neither negative; no unfinished task has;</item>
/// <item>each task's ledger rows add up to its hold, charge and release (and those of deleted tasks to held = charged + released);</item>
/// <item>each account's balance is its top-ups and adjustments less its charges, its holds are the open holds of its unfinished tasks,
/// and balance − holds ≥ 0 unless it is unlimited;</item>
/// <item>no ledger row was changed or removed: each account's rows are numbered 1…n without gaps, each carrying the balance and holds
/// the rows before it lead to, and the database's own triggers refuse updates and deletes.</item>
/// </list>
/// <see cref="ReelayApp"/> runs it when disposed, so every test that starts Reelay checks it at its end; tests that run Reelay as a
/// process (<see cref="ServerProcess"/>) call it after their last kill. The same SQL runs on SQLite and on PostgreSQL
/// (<see cref="AssertHoldInPostgres"/>): both stores keep the same tables.
/// </summary>
public static class LedgerInvariants
{
    private const string Terminal = "('completed', 'failed', 'cancelled')";

    /// <summary>Checks the database at <paramref name="databasePath"/>; fails the test with every broken rule. A missing file (nothing was stored) passes.</summary>
    public static void AssertHold(string databasePath)
    {
        if (Violations(databasePath) is { Count: > 0 } violations)
        {
            Assert.Fail($"The ledger invariants do not hold in {databasePath}:\n" + string.Join("\n", violations.Take(50)));
        }
    }

    /// <summary>Checks the PostgreSQL database <paramref name="connectionString"/> names; fails the test with every broken rule.</summary>
    public static void AssertHoldInPostgres(string connectionString)
    {
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        if (Scalar(connection, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'ledger'") == 0)
        {
            return;
        }

        // REPEATABLE READ: one snapshot, so a server still running cannot show a half-settled task.
        Scalar(connection, "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1");
        var violations = Violations(connection, postgres: true);
        Scalar(connection, "COMMIT; SELECT 1");
        if (violations.Count > 0)
        {
            Assert.Fail($"The ledger invariants do not hold in {connection.Database}:\n" + string.Join("\n", violations.Take(50)));
        }
    }

    /// <summary>Every broken rule, one line each; empty when the books are right or there is nothing to check.</summary>
    public static List<string> Violations(string databasePath)
    {
        if (!File.Exists(databasePath))
        {
            return [];
        }

        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Mode = SqliteOpenMode.ReadWrite, Pooling = false, DefaultTimeout = 30 }.ToString());
        try
        {
            connection.Open();
        }
        catch (SqliteException e) when (e.SqliteErrorCode is 14 or 8 or 13 or 10)
        {
            // SQLITE_CANTOPEN, READONLY, FULL, IOERR: a test that broke the file's surroundings on purpose.
            return [];
        }

        if (Scalar(connection, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'ledger'") == 0)
        {
            return [];
        }

        // One read transaction: a server still running cannot show a half-settled task (it settles in the task's own transaction).
        Scalar(connection, "BEGIN; SELECT 1");
        var violations = Violations(connection, postgres: false);
        Scalar(connection, "COMMIT; SELECT 1");
        return violations;
    }

    /// <summary>The rules in SQL both databases speak, inside the caller's read transaction.</summary>
    private static List<string> Violations(DbConnection connection, bool postgres)
    {
        var violations = new List<string>();
        Collect(violations, connection, $"""
            SELECT 'task ' || id || ' (' || stage || ') held ' || held || ' but charged ' || COALESCE(CAST(charged AS TEXT), 'null') || ' and released ' || COALESCE(CAST(released AS TEXT), 'null')
            FROM tasks WHERE stage IN {Terminal} AND (charged IS NULL OR released IS NULL OR charged < 0 OR released < 0 OR charged + released <> held)
            """);
        Collect(violations, connection, $"""
            SELECT 'unfinished task ' || id || ' (' || stage || ') is already settled: charged ' || COALESCE(CAST(charged AS TEXT), 'null') || ', released ' || COALESCE(CAST(released AS TEXT), 'null')
            FROM tasks WHERE stage NOT IN {Terminal} AND (charged IS NOT NULL OR released IS NOT NULL)
            """);
        Collect(violations, connection, """
            SELECT 'task ' || t.id || ': held/charged/released ' || t.held || '/' || COALESCE(t.charged, 0) || '/' || COALESCE(t.released, 0)
                || ' but its ledger rows say ' || COALESCE(l.hold, 0) || '/' || COALESCE(l.charge, 0) || '/' || COALESCE(l.release, 0)
            FROM tasks t LEFT JOIN (
                SELECT task_id, SUM(CASE kind WHEN 'hold' THEN amount END) AS hold, SUM(CASE kind WHEN 'charge' THEN amount END) AS charge,
                    SUM(CASE kind WHEN 'release' THEN amount END) AS release
                FROM ledger WHERE task_id IS NOT NULL GROUP BY task_id) l ON l.task_id = t.id
            WHERE COALESCE(l.hold, 0) <> t.held OR COALESCE(l.charge, 0) <> COALESCE(t.charged, 0) OR COALESCE(l.release, 0) <> COALESCE(t.released, 0)
            """);
        Collect(violations, connection, """
            SELECT 'deleted task ' || task_id || ': its ledger rows hold ' || hold || ' but charge ' || charge || ' and release ' || release
            FROM (SELECT task_id, SUM(CASE kind WHEN 'hold' THEN amount ELSE 0 END) AS hold, SUM(CASE kind WHEN 'charge' THEN amount ELSE 0 END) AS charge,
                    SUM(CASE kind WHEN 'release' THEN amount ELSE 0 END) AS release
                FROM ledger WHERE task_id IS NOT NULL AND task_id NOT IN (SELECT id FROM tasks) GROUP BY task_id) AS deleted
            WHERE hold <> charge + release
            """);
        Collect(violations, connection, """
            SELECT 'account ' || a.id || ': balance ' || a.balance || ' but top-ups and adjustments less charges come to ' || COALESCE(l.balance, 0)
            FROM accounts a LEFT JOIN (
                SELECT account_id, SUM(CASE kind WHEN 'topup' THEN amount WHEN 'adjust' THEN amount WHEN 'charge' THEN -amount ELSE 0 END) AS balance
                FROM ledger GROUP BY account_id) l ON l.account_id = a.id
            WHERE a.balance <> COALESCE(l.balance, 0)
            """);
        Collect(violations, connection, """
            SELECT 'account ' || a.id || ': holds ' || a.held || ' but its ledger says ' || COALESCE(l.held, 0) || ' and its unfinished tasks hold ' || COALESCE(t.held, 0)
            FROM accounts a
            LEFT JOIN (SELECT account_id, SUM(CASE kind WHEN 'hold' THEN amount WHEN 'charge' THEN -amount WHEN 'release' THEN -amount ELSE 0 END) AS held
                FROM ledger GROUP BY account_id) l ON l.account_id = a.id
            LEFT JOIN (SELECT account_id, SUM(held) AS held FROM tasks WHERE stage NOT IN ('completed', 'failed', 'cancelled') GROUP BY account_id) t ON t.account_id = a.id
            WHERE a.held <> COALESCE(l.held, 0) OR a.held <> COALESCE(t.held, 0)
            """);
        Collect(violations, connection, """
            SELECT 'account ' || id || ' is overdrawn: balance ' || balance || ', held ' || held FROM accounts WHERE unlimited = 0 AND balance - held < 0
            """);
        Collect(violations, connection, """
            SELECT 'account ' || a.id || ': ' || COALESCE(l.rows, 0) || ' ledger rows numbered up to ' || COALESCE(l.top, 0) || ', the account counts ' || a.ledger_seq
            FROM accounts a LEFT JOIN (SELECT account_id, COUNT(*) AS rows, MAX(seq) AS top FROM ledger GROUP BY account_id) l ON l.account_id = a.id
            WHERE COALESCE(l.rows, 0) <> a.ledger_seq OR COALESCE(l.top, 0) <> a.ledger_seq
            """);
        Collect(violations, connection, """
            SELECT 'ledger row ' || account_id || '#' || seq || ' (' || kind || ' ' || amount || ') says balance ' || balance_after || ', held ' || held_after
                || ' but the rows before it lead to ' || (previous_balance + CASE kind WHEN 'topup' THEN amount WHEN 'adjust' THEN amount WHEN 'charge' THEN -amount ELSE 0 END)
                || ', ' || (previous_held + CASE kind WHEN 'hold' THEN amount WHEN 'charge' THEN -amount WHEN 'release' THEN -amount ELSE 0 END)
            FROM (SELECT *, COALESCE(LAG(balance_after) OVER (PARTITION BY account_id ORDER BY seq), 0) AS previous_balance,
                    COALESCE(LAG(held_after) OVER (PARTITION BY account_id ORDER BY seq), 0) AS previous_held FROM ledger) AS rows_before
            WHERE balance_after <> previous_balance + CASE kind WHEN 'topup' THEN amount WHEN 'adjust' THEN amount WHEN 'charge' THEN -amount ELSE 0 END
               OR held_after <> previous_held + CASE kind WHEN 'hold' THEN amount WHEN 'charge' THEN -amount WHEN 'release' THEN -amount ELSE 0 END
               OR (kind <> 'adjust' AND amount <= 0)
            """);
        var triggers = postgres
            ? "SELECT COUNT(*) FROM information_schema.triggers WHERE event_object_table = 'ledger' AND trigger_name IN ('ledger_append_only_update', 'ledger_append_only_delete')"
            : "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name IN ('ledger_append_only_update', 'ledger_append_only_delete')";
        if (Scalar(connection, triggers) != 2)
        {
            violations.Add("the triggers that keep the ledger append-only are missing");
        }

        return violations;
    }

    private static void Collect(List<string> violations, DbConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            violations.Add(reader.GetString(0));
        }
    }

    private static long Scalar(DbConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
