using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Storage;

/// <summary>The SQLite write-ahead log across a crash: a WAL left large by a killed process shrinks on the next start.</summary>
public class SqliteWalTests
{
    private const long LargeWalBytes = 24L * 1024 * 1024;

    [Fact]
    public async Task Kill9_WithLargeWal_RestartEmptiesItAndKeepsEveryTask()
    {
        var ct = TestContext.Current.CancellationToken;
        var dataDir = Path.Combine(Path.GetTempPath(), "reelay-wal-" + Guid.NewGuid().ToString("N"));
        var adminKey = "sk-admin-wal-" + Guid.NewGuid().ToString("N");
        var wal = Path.Combine(dataDir, "reelay.db-wal");
        // API only: nothing but the test's creates writes, so the WAL's size is the test's doing. The
        // creates are never rendered, so admission (which would refuse them as a backlog) is off.
        var apiOnly = new Dictionary<string, string>
        {
            ["REELAY_Engine__Enabled"] = "false",
            ["REELAY_Limits__MaxInFlightPerTestKey"] = "0",
            ["REELAY_Limits__LocalAdmission"] = "false",
        };
        await using var first = new ServerProcess(dataDir, adminKey, apiOnly);
        await first.StartAsync(ct);
        var key = await CreateKeyAsync(first, ct);

        var ids = new List<string>();
        // A reader in another process holding one snapshot throughout: no checkpoint can empty the
        // WAL past it, so the creates grow it large, as a crash under heavy writes would leave it.
        // Read-only, so closing it later does not checkpoint the file either.
        await using (var reader = new SqliteConnection($"Data Source={Path.Combine(dataDir, "reelay.db")};Mode=ReadOnly;Pooling=False"))
        {
            await reader.OpenAsync(ct);
            using var snapshot = reader.BeginTransaction(deferred: true);
            await using (var count = reader.CreateCommand())
            {
                count.CommandText = "SELECT COUNT(*) FROM tasks";
                await count.ExecuteScalarAsync(ct);
            }

            using var client = first.ClientFor(key);
            // A long prompt of three-byte characters: about 20 KiB a row.
            var prompt = new string('视', 7000);
            while (Size(wal) < LargeWalBytes)
            {
                var round = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => client.CreateAsync(new { model = "reelay-preview", prompt }, ct)));
                ids.AddRange(round);
            }

            // The creates can outrun the checkpointer's once-a-second pass: let it meet the snapshot first.
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (Occurrences(first.Log, "WAL checkpoint could not complete") == 0 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, ct);
            }

            await first.KillAsync();
        }

        var left = Size(wal);
        Assert.True(left >= LargeWalBytes, $"the killed server left a WAL of {left:N0} bytes");
        // The checkpointer kept failing on the snapshot, and said so once.
        Assert.Equal(1, Occurrences(first.Log, "WAL checkpoint could not complete"));

        await using var second = new ServerProcess(dataDir, adminKey, apiOnly);
        await second.StartAsync(ct);

        var after = Size(wal);
        Assert.True(after < 1024 * 1024, $"the WAL is still {after:N0} bytes after the restart (was {left:N0})\n{second.Log}");
        using var again = second.ClientFor(key);
        foreach (var id in new[] { ids[0], ids[^1] })
        {
            var task = await again.QueryAsync(id, ct);
            Assert.Equal("pending", task.GetProperty("status").GetString());
        }

        await second.KillAsync();
        Directory.Delete(dataDir, recursive: true);
    }

    private static long Size(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;

    private static int Occurrences(string text, string value)
    {
        var count = 0;
        for (var at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private static async Task<string> CreateKeyAsync(ServerProcess server, CancellationToken ct)
    {
        using var admin = server.ClientFor(server.AdminKey);
        using var response = await admin.PostAsJsonAsync("/admin/keys", new { name = "wal", mode = "test" }, ct);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("key").GetString()!;
    }
}
