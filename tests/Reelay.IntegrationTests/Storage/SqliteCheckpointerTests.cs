using Microsoft.Extensions.DependencyInjection;
using Reelay.Storage.Sqlite;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Storage;

/// <summary>The checkpointer under a steady write load: the log is emptied as it fills, and its file reused rather than cut.</summary>
public class SqliteCheckpointerTests
{
    private const long MiB = 1024 * 1024;

    [Fact]
    public async Task Create_SteadyLoad_LogIsEmptiedInPlaceAndItsFillIsWhatSqliteHolds()
    {
        var ct = TestContext.Current.CancellationToken;
        var app = ReelayApp.Start(new Dictionary<string, string?>
        {
            // API only: the creates are the only writes, and admission would refuse them as a backlog.
            ["Engine:Enabled"] = "false",
            ["Limits:MaxInFlightPerTestKey"] = "0",
            ["Limits:LocalAdmission"] = "false",
        });
        var database = app.Services.GetRequiredService<SqliteDatabase>();
        var wal = database.WalPath;
        try
        {
            using var client = await app.CreateClientWithKeyAsync("test", ct);
            // A long prompt of three-byte characters: about 20 KiB a row, so the log fills in seconds.
            var prompt = new string('视', 7000);
            var emptied = new List<(long FillBefore, long FileAfter)>();
            var largestFile = 0L;
            var lastFill = 0L;
            var deadline = DateTime.UtcNow.AddSeconds(90);
            while (emptied.Count < 2 && DateTime.UtcNow < deadline)
            {
                await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => client.CreateAsync(new { model = "reelay-preview", prompt }, ct)));
                var fill = database.WalLogBytes();
                var file = File.Exists(wal) ? new FileInfo(wal).Length : 0;
                largestFile = Math.Max(largestFile, file);
                if (lastFill > SqliteCheckpointer.EmptyAboveBytes && fill < lastFill)
                {
                    emptied.Add((lastFill, file));
                }

                lastFill = fill;
            }

            Assert.True(emptied.Count >= 2, $"the log was emptied {emptied.Count} times in 90 s of writes (fill {lastFill:N0} bytes, file {largestFile:N0})");
            // Written over from the start, not truncated and grown again: the file stays at the size it reached.
            Assert.All(emptied, e => Assert.True(e.FileAfter >= SqliteCheckpointer.EmptyAboveBytes, $"the WAL file was {e.FileAfter:N0} bytes after the log was emptied"));
            Assert.True(largestFile < 64 * MiB, $"the WAL file reached {largestFile:N0} bytes");

            // The fill the commits report is what SQLite's own checkpoint counts in the log. The write gate
            // holds the checkpointer's RESTART off between the two looks. One that ran after the last commit
            // (it may have been under way as the loop ended) leaves a fill of 0 beside frames the next commit
            // writes over, nothing to compare: then a create starts the log over and they are looked at again.
            var compared = false;
            for (var attempt = 0; attempt < 5 && !compared; attempt++)
            {
                await client.CreateAsync(new { model = "reelay-preview", prompt = "one more commit" }, ct);
                using (await database.EnterWriteAsync(ct))
                {
                    var passive = await database.CheckpointAsync(ct);
                    var fill = database.WalLogBytes();
                    if (fill > 0)
                    {
                        Assert.Equal(32 + (passive.LogFrames * (24 + 4096)), fill);
                        compared = true;
                    }
                }
            }

            Assert.True(compared, "the log was emptied after each of five commits");
        }
        finally
        {
            await app.DisposeAsync();
        }

        // On the way out the log is truncated: no file of stale frames is left beside the database.
        var left = File.Exists(wal) ? new FileInfo(wal).Length : 0;
        Assert.True(left == 0, $"the WAL is {left:N0} bytes after shutdown");
    }
}
