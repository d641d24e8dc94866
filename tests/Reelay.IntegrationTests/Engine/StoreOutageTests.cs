using System.Diagnostics;
using System.Net;
using Reelay.Testing;

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
            // A task whose lease could not be handed back during the outage is taken over within the test's wait.
            ["Engine:LeaseDuration"] = "00:00:06",
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
}
