using System.Diagnostics;
using System.Net;
using Reelay.Testing;
using Reelay.Testing.Fakes;
using static Reelay.IntegrationTests.Channels.UpstreamGateway;

namespace Reelay.IntegrationTests.Engine;

/// <summary>The workers outlive a database that cannot take writes, and no task fails because of it.</summary>
public class StoreOutageTests
{
    [Fact]
    public async Task Tasks_DatabaseLockedElsewhereWhileDue_WorkersSurviveAndEveryTaskCompletes()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(new Dictionary<string, string?>
        {
            ["Storage:BusyTimeout"] = "00:00:01",
            ["Storage:ProbeInterval"] = "00:00:00.200",
        });
        using var client = await app.CreateClientWithKeyAsync("test", ct);
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await client.CreateAsync(new { model = "reelay-preview", prompt = $"through an outage {i}", duration = 1, size = "480P" }, ct));
        }

        await using (await DatabaseWriteLock.TakeAsync(app.DatabasePath, ct))
        {
            // Premise: the workers' writes (claims, stage changes) failed. Then the outage lasts a few
            // busy timeouts more, so each worker fails and backs off repeatedly.
            var outage = Stopwatch.StartNew();
            while (true)
            {
                using var ready = await client.GetAsync("/readyz", ct);
                if (ready.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    break;
                }

                Assert.True(outage.Elapsed < TimeSpan.FromSeconds(15), "/readyz never reported the failing writes");
                await Task.Delay(50, ct);
            }

            await Task.Delay(TimeSpan.FromSeconds(4), ct);
        }

        foreach (var id in ids)
        {
            var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(90), ct);
            Assert.True(task.GetProperty("status").GetString() == "completed", $"task {id} did not complete: {task}");
        }

        // The workers still run: a task created after the outage completes too.
        var after = await client.CreateAsync(new { model = "reelay-preview", prompt = "after the outage", duration = 1, size = "480P" }, ct);
        Assert.Equal("completed", (await client.WaitForEndAsync(after, TimeSpan.FromSeconds(60), ct)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Finish_DatabaseLockedWhileTheDownloadRuns_TaskIsHandedBackAfterTheOutageNotAfterItsLease()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var upstream = await FakeXaiServer.StartNewAsync(ct);
        upstream.DownloadDelay = TimeSpan.FromSeconds(3);
        var logs = new CapturedLogs();
        await using var app = Start([new ChannelSpec("xai", "xai", upstream)], new Dictionary<string, string?>
        {
            ["Storage:BusyTimeout"] = "00:00:01",
            ["Storage:ProbeInterval"] = "00:00:00.200",
            // Far longer than the test waits: the task must come back because its lease is handed back.
            ["Engine:LeaseDuration"] = "00:10:00",
        }, logs: logs);
        using var client = await app.CreateClientWithKeyAsync("live", ct);
        var id = await client.CreateAsync(new { model = "grok-video-3", prompt = "through a finisher outage" }, ct);

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (upstream.Downloads == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the finisher never started the download");
            await Task.Delay(20, ct);
        }

        // The finisher holds the lease through the download; its write of the result, and then the
        // hand-back of the lease, find the database locked. Held well past the download (3 s), the
        // probe and thumbnail, and a busy timeout (1 s) for each of the two writes.
        await using (await DatabaseWriteLock.TakeAsync(app.DatabasePath, ct))
        {
            await Task.Delay(TimeSpan.FromSeconds(14), ct);
        }

        Assert.Contains(logs.Lines, line => line.Contains("The Finish worker pauses", StringComparison.Ordinal));
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);
        Assert.Equal("completed", task.GetProperty("status").GetString());
        Assert.Equal(2, upstream.Downloads);
        Assert.Equal(1, upstream.Submissions);
    }
}
