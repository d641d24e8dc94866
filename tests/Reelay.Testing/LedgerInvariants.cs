using Microsoft.Data.Sqlite;
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
/// process (<see cref="ServerProcess"/>) call it after their last kill.
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

    /// <summary>Every broken rule, one line each; empty when the books are right or there is nothing to check.</summary>
    public static List<string> Violations(string databasePath)
    {
        var violations = new List<string>();
        if (!File.Exists(databasePath))
        {
            return violations;
        }

        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Mode = SqliteOpenMode.ReadWrite, Pooling = false, DefaultTimeout = 30 }.ToString());
        try
        {
            connection.Open();
        }
        catch (SqliteException e) when (e.SqliteErrorCode is 14 or 8 or 13 or 10)
        {
            // SQLITE_CANTOPEN, READONLY, FULL, IOERR: a test that broke the file's surroundings on purpose.
            return violations;
        }

        if (Scalar(connection, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'ledger'") == 0)
        {
            return violations;
        }

        // One read transaction: a server still running cannot show a half-settled task (it settles in the task's own transaction).
        Scalar(connection, "BEGIN; SELECT 1");

        Collect(violations, connection, $"""
            SELECT 'task ' || id || ' (' || stage || ') held ' || held || ' but charged ' || IFNULL(charged, 'null') || ' and released ' || IFNULL(released, 'null')
            FROM tasks WHERE stage IN {Terminal} AND (charged IS NULL OR released IS NULL OR charged < 0 OR released < 0 OR charged + released <> held)
            """);
        Collect(violations, connection, $"""
            SELECT 'unfinished task ' || id || ' (' || stage || ') is already settled: charged ' || IFNULL(charged, 'null') || ', released ' || IFNULL(released, 'null')
            FROM tasks WHERE stage NOT IN {Terminal} AND (charged IS NOT NULL OR released IS NOT NULL)
            """);
        Collect(violations, connection, """
            SELECT 'task ' || t.id || ': held/charged/released ' || t.held || '/' || IFNULL(t.charged, 0) || '/' || IFNULL(t.released, 0)
                || ' but its ledger rows say ' || IFNULL(l.hold, 0) || '/' || IFNULL(l.charge, 0) || '/' || IFNULL(l.release, 0)
            FROM tasks t LEFT JOIN (
                SELECT task_id, SUM(CASE kind WHEN 'hold' THEN amount END) AS hold, SUM(CASE kind WHEN 'charge' THEN amount END) AS charge,
                    SUM(CASE kind WHEN 'release' THEN amount END) AS release
                FROM ledger WHERE task_id IS NOT NULL GROUP BY task_id) l ON l.task_id = t.id
            WHERE IFNULL(l.hold, 0) <> t.held OR IFNULL(l.charge, 0) <> IFNULL(t.charged, 0) OR IFNULL(l.release, 0) <> IFNULL(t.released, 0)
            """);
        Collect(violations, connection, """
            SELECT 'deleted task ' || task_id || ': its ledger rows hold ' || hold || ' but charge ' || charge || ' and release ' || release
            FROM (SELECT task_id, SUM(CASE kind WHEN 'hold' THEN amount ELSE 0 END) AS hold, SUM(CASE kind WHEN 'charge' THEN amount ELSE 0 END) AS charge,
                    SUM(CASE kind WHEN 'release' THEN amount ELSE 0 END) AS release
                FROM ledger WHERE task_id IS NOT NULL AND task_id NOT IN (SELECT id FROM tasks) GROUP BY task_id)
            WHERE hold <> charge + release
            """);
        Collect(violations, connection, """
            SELECT 'account ' || a.id || ': balance ' || a.balance || ' but top-ups and adjustments less charges come to ' || IFNULL(l.balance, 0)
            FROM accounts a LEFT JOIN (
                SELECT account_id, SUM(CASE kind WHEN 'topup' THEN amount WHEN 'adjust' THEN amount WHEN 'charge' THEN -amount ELSE 0 END) AS balance
                FROM ledger GROUP BY account_id) l ON l.account_id = a.id
            WHERE a.balance <> IFNULL(l.balance, 0)
            """);
        Collect(violations, connection, """
            SELECT 'account ' || a.id || ': holds ' || a.held || ' but its ledger says ' || IFNULL(l.held, 0) || ' and its unfinished tasks hold ' || IFNULL(t.held, 0)
            FROM accounts a
            LEFT JOIN (SELECT account_id, SUM(CASE kind WHEN 'hold' THEN amount WHEN 'charge' THEN -amount WHEN 'release' THEN -amount ELSE 0 END) AS held
                FROM ledger GROUP BY account_id) l ON l.account_id = a.id
            LEFT JOIN (SELECT account_id, SUM(held) AS held FROM tasks WHERE stage NOT IN ('completed', 'failed', 'cancelled') GROUP BY account_id) t ON t.account_id = a.id
            WHERE a.held <> IFNULL(l.held, 0) OR a.held <> IFNULL(t.held, 0)
            """);
        Collect(violations, connection, """
            SELECT 'account ' || id || ' is overdrawn: balance ' || balance || ', held ' || held FROM accounts WHERE unlimited = 0 AND balance - held < 0
            """);
        Collect(violations, connection, """
            SELECT 'account ' || a.id || ': ' || IFNULL(l.rows, 0) || ' ledger rows numbered up to ' || IFNULL(l.top, 0) || ', the account counts ' || a.ledger_seq
            FROM accounts a LEFT JOIN (SELECT account_id, COUNT(*) AS rows, MAX(seq) AS top FROM ledger GROUP BY account_id) l ON l.account_id = a.id
            WHERE IFNULL(l.rows, 0) <> a.ledger_seq OR IFNULL(l.top, 0) <> a.ledger_seq
            """);
        Collect(violations, connection, """
            SELECT 'ledger row ' || account_id || '#' || seq || ' (' || kind || ' ' || amount || ') says balance ' || balance_after || ', held ' || held_after
                || ' but the rows before it lead to ' || (previous_balance + CASE kind WHEN 'topup' THEN amount WHEN 'adjust' THEN amount WHEN 'charge' THEN -amount ELSE 0 END)
                || ', ' || (previous_held + CASE kind WHEN 'hold' THEN amount WHEN 'charge' THEN -amount WHEN 'release' THEN -amount ELSE 0 END)
            FROM (SELECT *, IFNULL(LAG(balance_after) OVER (PARTITION BY account_id ORDER BY seq), 0) AS previous_balance,
                    IFNULL(LAG(held_after) OVER (PARTITION BY account_id ORDER BY seq), 0) AS previous_held FROM ledger)
            WHERE balance_after <> previous_balance + CASE kind WHEN 'topup' THEN amount WHEN 'adjust' THEN amount WHEN 'charge' THEN -amount ELSE 0 END
               OR held_after <> previous_held + CASE kind WHEN 'hold' THEN amount WHEN 'charge' THEN -amount WHEN 'release' THEN -amount ELSE 0 END
               OR (kind <> 'adjust' AND amount <= 0)
            """);
        if (Scalar(connection, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name IN ('ledger_append_only_update', 'ledger_append_only_delete')") != 2)
        {
            violations.Add("the triggers that keep the ledger append-only are missing");
        }

        Scalar(connection, "COMMIT; SELECT 1");
        return violations;
    }

    private static void Collect(List<string> violations, SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            violations.Add(reader.GetString(0));
        }
    }

    private static long Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
