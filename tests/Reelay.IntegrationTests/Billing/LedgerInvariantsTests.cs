using Microsoft.Data.Sqlite;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Billing;

/// <summary>The checker every test runs at its end must see broken books: each kind of damage, done by hand to a real database, is reported.</summary>
public class LedgerInvariantsTests
{
    [Theory]
    [InlineData("UPDATE accounts SET balance = balance + 1", "balance")]
    [InlineData("UPDATE accounts SET held = 0", "holds")]
    [InlineData("UPDATE tasks SET stage = 'failed'", "held")]
    [InlineData("DROP TRIGGER ledger_append_only_update; UPDATE ledger SET amount = amount + 1 WHERE kind = 'hold'", "ledger")]
    [InlineData("DROP TRIGGER ledger_append_only_delete; DELETE FROM ledger WHERE seq = 1", "ledger rows")]
    public async Task Violations_BooksDamagedByHand_AreReported(string damage, string mentioned)
    {
        var path = await BooksWithAHoldAsync();
        try
        {
            Assert.Empty(LedgerInvariants.Violations(path));

            Execute(path, damage);

            var violations = LedgerInvariants.Violations(path);
            Assert.Contains(violations, v => v.Contains(mentioned, StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }

    [Fact]
    public async Task Ledger_UpdateOrDelete_IsRefusedByTheDatabase()
    {
        var path = await BooksWithAHoldAsync();
        try
        {
            var updated = Assert.Throws<SqliteException>(() => Execute(path, "UPDATE ledger SET amount = 0"));
            var deleted = Assert.Throws<SqliteException>(() => Execute(path, "DELETE FROM ledger"));

            Assert.Contains("ledger rows are append-only", updated.Message, StringComparison.Ordinal);
            Assert.Contains("ledger rows are append-only", deleted.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }

    /// <summary>A stopped instance's database with a funded account and one task holding credits.</summary>
    private static async Task<string> BooksWithAHoldAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        var dataDir = Path.Combine(Path.GetTempPath(), "reelay-test-" + Guid.NewGuid().ToString("N"));
        await using (var app = ReelayApp.Start(new Dictionary<string, string?>
        {
            ["Engine:Enabled"] = "false",
            ["Limits:LocalAdmission"] = "false",
            ["Billing:Prices:reelay-preview:PerVideo"] = "1",
        }, dataDir))
        {
            var (_, client) = await app.CreateFundedClientAsync(5, cancellationToken: ct);
            using (client)
            {
                await client.CreateAsync(new { model = "reelay-preview", prompt = "held" }, ct);
            }
        }

        return Path.Combine(dataDir, "reelay.db");
    }

    private static void Execute(string path, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
