using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Storage.Sqlite;
using Reelay.Tasks;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Engine;

/// <summary>
/// Thousands of test-mode renders queued behind one render slot, as a free test key can queue them:
/// the waiting tasks cost no writes, and the WAL stays small however busy the engine is.
/// </summary>
public class QueuedLocalRendersTests
{
    private const int Queued = 3000;

    private const long WalLimitBytes = 64L * 1024 * 1024;

    /// <summary>How long the queue is watched once every task has been submitted and polled once.</summary>
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Create_ThousandsQueuedBehindOneRenderSlot_WaitingTasksAreNotRewrittenAndWalStaysSmall()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(new Dictionary<string, string?>
        {
            ["LocalRenderer:MaxConcurrentRenders"] = "1",
            // The queue is the point here: admission would refuse most of it (as it should in service).
            ["Limits:MaxInFlightPerTestKey"] = "0",
            ["Limits:LocalAdmission"] = "false",
        });
        var database = app.Services.GetRequiredService<SqliteDatabase>();
        var store = app.Services.GetRequiredService<SqliteTaskStore>();
        using var stopWatching = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var largestWal = WatchWalAsync(database, stopWatching.Token);
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        // 15 s renders: the slot stays busy, so nearly every task waits in the renderer's queue.
        await Parallel.ForAsync(0, Queued, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (i, token) =>
            await client.CreateAsync(new { model = "reelay-preview", prompt = $"queued render {i}", size = "480P", duration = 15 }, token));
        await WaitUntilAllPolledOnceAsync(database, TimeSpan.FromSeconds(180), ct);

        var before = await PollCountsAsync(database, ct);
        var rowsBefore = store.RowsWritten;
        var started = Stopwatch.GetTimestamp();
        await Task.Delay(Window, ct);
        var rows = store.RowsWritten - rowsBefore;
        var elapsed = Stopwatch.GetElapsedTime(started);
        var after = await PollCountsAsync(database, ct);
        await stopWatching.CancelAsync();

        // Polled in the window yet still running: only the render in the slot (and the next one starting).
        var polledWhileRunning = after.Where(t => t.Value.Stage == "running" && t.Value.Polls != before.GetValueOrDefault(t.Key).Polls).ToList();
        var running = after.Count(t => t.Value.Stage == "running");
        var rowsPerSecond = rows / elapsed.TotalSeconds;
        Assert.True(running > Queued * 9 / 10, $"only {running} tasks were still waiting: the test needs a queue");
        Assert.True(polledWhileRunning.Count <= 2, $"{polledWhileRunning.Count} of {running} running tasks were polled in {elapsed.TotalSeconds:0.0} s");
        // Polling each waiting task once a second would write twice as many rows a second as there are
        // tasks; under 1% is left: the rendering task's polls and the finishing of those done.
        Assert.True(rowsPerSecond < Queued / 100.0, $"{rowsPerSecond:0.0} task rows written a second with {running} tasks waiting");
        Assert.True(await largestWal < WalLimitBytes, $"the WAL reached {await largestWal:N0} bytes");

        // No idle pooled session holds a snapshot: the whole WAL can be emptied. The engine still reads
        // and writes, and on a loaded machine one of its reads can outlast a single attempt; a leaked
        // snapshot outlasts them all.
        var truncated = await database.TruncateWalAsync(TimeSpan.FromSeconds(5), ct);
        for (var attempt = 1; attempt < 6 && truncated.Busy; attempt++)
        {
            truncated = await database.TruncateWalAsync(TimeSpan.FromSeconds(5), ct);
        }

        Assert.False(truncated.Busy, "a reader kept a snapshot through six attempts: the WAL could not be emptied");
        Assert.Equal(0, truncated.LogFrames);
    }

    [Fact]
    public async Task Create_SeveralBehindOneRenderSlot_EachCompletesWhenItsTurnComes()
    {
        var ct = TestContext.Current.CancellationToken;
        // Far beyond the test's wait: a task waiting for the slot is taken up only because the renderer reports its start.
        await using var app = ReelayApp.Start(new Dictionary<string, string?>
        {
            ["LocalRenderer:MaxConcurrentRenders"] = "1",
            ["Engine:PushSafetyInterval"] = "01:00:00",
        });
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await client.CreateAsync(new { model = "reelay-preview", prompt = $"in turn {i}", size = "480P", duration = 1 }, ct));
        }

        foreach (var id in ids)
        {
            var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);
            Assert.Equal("completed", task.GetProperty("status").GetString());
        }
    }

    /// <summary>The WAL file's largest size, sampled every 20 ms until cancelled.</summary>
    private static async Task<long> WatchWalAsync(SqliteDatabase database, CancellationToken cancellationToken)
    {
        var largest = 0L;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                largest = Math.Max(largest, database.WalBytes());
            }
        }
        catch (OperationCanceledException)
        {
        }

        return largest;
    }

    /// <summary>Every task submitted to the renderer and polled at least once since (its first poll follows the submission).</summary>
    private static async Task WaitUntilAllPolledOnceAsync(SqliteDatabase database, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            using (var session = await database.RentSessionAsync(cancellationToken))
            {
                var command = session.Command("SELECT COUNT(*) FROM tasks WHERE stage IN ('pending', 'submitting') OR (stage = 'running' AND polls = 0)");
                var left = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
                if (left == 0)
                {
                    return;
                }

                Assert.True(DateTime.UtcNow < deadline, $"{left} tasks were not yet submitted and polled after {timeout}");
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    private static async Task<Dictionary<string, (string Stage, long Polls)>> PollCountsAsync(SqliteDatabase database, CancellationToken cancellationToken)
    {
        using var session = await database.RentSessionAsync(cancellationToken);
        await using var reader = await session.Command("SELECT id, stage, polls FROM tasks").ExecuteReaderAsync(cancellationToken);
        var counts = new Dictionary<string, (string, long)>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            counts[reader.GetString(0)] = (reader.GetString(1), reader.GetInt64(2));
        }

        return counts;
    }
}
