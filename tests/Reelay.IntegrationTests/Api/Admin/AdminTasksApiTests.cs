using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Reelay.IntegrationTests.Channels;
using Reelay.Keys;
using Reelay.Storage.Sqlite;
using Reelay.Testing;
using Reelay.Testing.Fakes;

namespace Reelay.IntegrationTests.Api.Admin;

/// <summary>Tasks and usage from the operator's side: list with filters, inspect with ledger rows, retry a failed task as a new one; usage with revenue, upstream cost and margin.</summary>
public class AdminTasksApiTests
{
    [Fact]
    public async Task Retry_FailedTask_MakesANewTaskWithANewHoldAndLeavesTheOldOneAlone()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var relay = await FakeUnifiedRelayServer.StartNewAsync(ct);
        relay.Scenario = FakeScenario.RefuseAtSubmit;
        await using var app = UpstreamGateway.Start([new("relay", "unified", relay)], new Dictionary<string, string?> { ["Billing:Prices:grok-video-3:PerVideo"] = "1" });
        var (account, client) = await app.CreateFundedClientAsync(3, cancellationToken: ct);
        using (client)
        {
            var failed = await client.CreateAsync(new { model = "grok-video-3", prompt = "try again later", duration = 6 }, ct);
            Assert.Equal("failed", (await client.WaitForEndAsync(failed, TimeSpan.FromSeconds(60), ct)).GetProperty("status").GetString());
            relay.Scenario = FakeScenario.Success;
            using var admin = app.AdminClient();

            using var retry = await admin.PostAsync($"/admin/tasks/{Uri.EscapeDataString(failed)}/retry", null, ct);
            var retried = await retry.Content.ReadFromJsonAsync<JsonElement>(ct);
            Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
            var newId = retried.GetProperty("id").GetString()!;
            var done = await client.WaitForEndAsync(newId, TimeSpan.FromSeconds(60), ct);
            using var retryCompleted = await admin.PostAsync($"/admin/tasks/{Uri.EscapeDataString(newId)}/retry", null, ct);

            Assert.NotEqual(failed, newId);
            Assert.Equal("completed", done.GetProperty("status").GetString());
            Assert.Equal(6, done.GetProperty("duration").GetInt32());
            Assert.Equal(["hold 1", "release 1"], Billing.SettlementTests.Movements(await app.AdminTaskViewAsync(failed, ct)));
            Assert.Equal(["hold 1", "charge 1"], Billing.SettlementTests.Movements(await app.AdminTaskViewAsync(newId, ct)));
            Assert.Equal(2m, (await app.AccountAsync(account, ct)).GetProperty("balance").GetDecimal());
            Assert.Equal(HttpStatusCode.Conflict, retryCompleted.StatusCode);
            var audit = await admin.GetFromJsonAsync<JsonElement>($"/admin/audit?action=task.retry", ct);
            Assert.Equal(newId, audit.GetProperty("data")[0].GetProperty("after").GetProperty("id").GetString());
        }
    }

    [Fact]
    public async Task List_FiltersByAccountStatusAndModel_NewestFirstPagedByAfter()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["Engine:Enabled"] = "false", ["Limits:LocalAdmission"] = "false" });
        var (account, client) = await app.CreateFundedClientAsync(1, mode: "test", cancellationToken: ct);
        var (_, other) = await app.CreateFundedClientAsync(1, mode: "test", cancellationToken: ct);
        using (client)
        using (other)
        {
            var ids = new List<string>();
            for (var i = 0; i < 3; i++)
            {
                ids.Add(await client.CreateAsync(new { model = "reelay-preview", prompt = $"mine {i}" }, ct));
            }

            await other.CreateAsync(new { model = "reelay-preview", prompt = "not mine" }, ct);
            await client.CreateAsync(new { model = "grok-video-3", prompt = "another model" }, ct);
            using var admin = app.AdminClient();

            var first = await admin.GetFromJsonAsync<JsonElement>($"/admin/tasks?account_id={account}&model=reelay-preview&status=pending&limit=2", ct);
            var rest = await admin.GetFromJsonAsync<JsonElement>($"/admin/tasks?account_id={account}&model=reelay-preview&status=pending&limit=2&after={first.GetProperty("last_id").GetString()}", ct);
            var none = await admin.GetFromJsonAsync<JsonElement>($"/admin/tasks?account_id={account}&status=completed", ct);
            using var bad = await admin.GetAsync("/admin/tasks?status=done", ct);

            Assert.Equal([ids[2], ids[1]], first.GetProperty("data").EnumerateArray().Select(t => t.GetProperty("id").GetString()));
            Assert.Equal([ids[0]], rest.GetProperty("data").EnumerateArray().Select(t => t.GetProperty("id").GetString()));
            Assert.Equal(0, none.GetProperty("data").GetArrayLength());
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        }
    }

    [Fact]
    public async Task Usage_AfterCompletedTasks_ShowsChargesToTheClientAndCostAndMarginToTheOperator()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var relay = await FakeUnifiedRelayServer.StartNewAsync(ct);
        await using var app = UpstreamGateway.Start([new("relay", "unified", relay)], new Dictionary<string, string?>
        {
            ["Billing:Prices:grok-video-3:PerSecond"] = "0.5",
            ["Billing:ChannelCosts:relay"] = "0.2",
        });
        var (account, client) = await app.CreateFundedClientAsync(10, cancellationToken: ct);
        using (client)
        {
            foreach (var prompt in (string[])["one", "two"])
            {
                var id = await client.CreateAsync(new { model = "grok-video-3", prompt, duration = 10 }, ct);
                await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);
            }

            var mine = await client.GetFromJsonAsync<JsonElement>("/v1/usage", ct);
            using var admin = app.AdminClient();
            var byChannel = await admin.GetFromJsonAsync<JsonElement>($"/admin/usage?account_id={account}&group_by=channel", ct);
            using var badGroup = await admin.GetAsync("/admin/usage?group_by=colour", ct);
            using var badDay = await client.GetAsync("/v1/usage?from=yesterday", ct);

            // Each 1 s video at 0.5 per second: 0.5 charged, 0.2 paid upstream.
            Assert.Equal(9m, mine.GetProperty("balance").GetDecimal());
            Assert.Equal(1m, mine.GetProperty("total_charged").GetDecimal());
            var day = Assert.Single(mine.GetProperty("data").EnumerateArray());
            Assert.Equal(DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), day.GetProperty("day").GetString());
            Assert.Equal("grok-video-3", day.GetProperty("group").GetString());
            Assert.Equal(2, day.GetProperty("completed").GetInt32());
            Assert.Equal(JsonValueKind.Null, day.GetProperty("upstream_cost").ValueKind);
            var channel = Assert.Single(byChannel.GetProperty("data").EnumerateArray());
            Assert.Equal("relay", channel.GetProperty("group").GetString());
            Assert.Equal(1m, channel.GetProperty("charged").GetDecimal());
            Assert.Equal(0.4m, channel.GetProperty("upstream_cost").GetDecimal());
            Assert.Equal(0.6m, channel.GetProperty("margin").GetDecimal());
            Assert.Equal(HttpStatusCode.BadRequest, badGroup.StatusCode);
            Assert.Equal(HttpStatusCode.BadRequest, badDay.StatusCode);
        }
    }

    [Fact]
    public async Task Upgrade_DatabaseFromBeforeAccounts_KeysKeepWorkingAsUnlimitedOneKeyAccounts()
    {
        var ct = TestContext.Current.CancellationToken;
        var dataDir = Path.Combine(Path.GetTempPath(), "reelay-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDir);
        const string secret = "sk-live-olderkeyolderkeyolderkeyolderkey";
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(dataDir, "reelay.db")};Pooling=False"))
        {
            // The schema as it was before accounts: the first four migrations, with a key and a finished task of it.
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode=WAL; CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);";
            command.ExecuteNonQuery();
            for (var version = 1; version <= 4; version++)
            {
                command.CommandText = SqliteSchema.Migrations[version - 1] + $"; INSERT INTO schema_migrations VALUES ({version}, 0);";
                command.ExecuteNonQuery();
            }

            command.CommandText = """
                INSERT INTO api_keys (id, name, mode, prefix, hash, created_at) VALUES ('key_0123456789abcdef01234567', 'old', 'live', 'sk-live-olde', $hash, 1);
                INSERT INTO tasks (id, owner_key_id, mode, model, requested_model, prompt, aspect_ratio, size, duration, images_json, options_json,
                    surface, stage, created_at, updated_at, completed_at, deadline_at, next_at, error_code, error_message)
                VALUES ('grok:00000000-0000-0000-0000-000000000001', 'key_0123456789abcdef01234567', 'live', 'grok-video-3', 'grok-video-3', 'old', '3:2', '720P',
                    10, '[]', '{}', 'unified', 'failed', 1, 1, 1, 2, 1, 'upstream_error', 'old failure');
                """;
            command.Parameters.AddWithValue("$hash", KeyAuthenticator.Hash(secret));
            command.ExecuteNonQuery();
        }

        try
        {
            await using var app = ReelayApp.Start(new Dictionary<string, string?>
            {
                ["Engine:Enabled"] = "false",
                ["Limits:LocalAdmission"] = "false",
                ["Billing:Prices:reelay-preview:PerVideo"] = "1",
            }, dataDir);
            using var client = app.ClientFor(secret);

            var old = await client.QueryAsync("grok:00000000-0000-0000-0000-000000000001", ct);
            var id = await client.CreateAsync(new { model = "reelay-preview", prompt = "after the upgrade" }, ct);

            Assert.Equal("failed", old.GetProperty("status").GetString());
            Assert.Equal(0m, old.GetProperty("cost").GetDecimal());
            var account = (await app.AdminTaskViewAsync(id, ct)).GetProperty("account_id").GetString()!;
            Assert.Equal("acct_0123456789abcdef01234567", account);
            var books = await app.AccountAsync(account, ct);
            Assert.True(books.GetProperty("unlimited").GetBoolean());
            Assert.Equal(1m, books.GetProperty("held").GetDecimal());
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }
}
