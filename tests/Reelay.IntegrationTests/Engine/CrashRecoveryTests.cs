using System.Net.Http.Json;
using System.Text.Json;
using Reelay.Testing;
using Reelay.Testing.Fakes;

namespace Reelay.IntegrationTests.Engine;

/// <summary>
/// Kills the server with SIGKILL at random moments while tasks are in flight, restarts it over the
/// same data directory, and checks that every task still ends and none was submitted twice.
/// </summary>
public class CrashRecoveryTests
{
    [Fact]
    public async Task Kill9_WhileLocalRendersRun_EveryTaskCompletesOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        var dataDir = NewDataDir();
        // A short lease so tasks held by a killed process (a finisher mid-copy) are taken over quickly.
        await using var server = new ServerProcess(dataDir, "sk-admin-crash-" + Guid.NewGuid().ToString("N"), new Dictionary<string, string>
        {
            ["REELAY_Engine__LeaseDuration"] = "00:00:03",
        });
        await server.StartAsync(ct);
        var key = await server.CreateKeyAsync("test", "crash", ct);
        var ids = new List<string>();
        var random = new Random(7);

        for (var round = 0; round < 3; round++)
        {
            using (var client = server.ClientFor(key))
            {
                for (var i = 0; i < 3; i++)
                {
                    ids.Add(await client.CreateAsync(new { model = "reelay-preview", prompt = $"crash round {round} task {i}", duration = 2, size = "480P" }, ct));
                }
            }

            await Task.Delay(random.Next(200, 1500), ct);
            await server.KillAsync();
            await server.StartAsync(ct);
        }

        using var final = server.ClientFor(key);
        using var admin = server.ClientFor(server.AdminKey);
        foreach (var id in ids)
        {
            var task = await final.WaitForEndAsync(id, TimeSpan.FromSeconds(120), ct);
            Assert.True(task.GetProperty("status").GetString() == "completed", $"{id} ended {task}\n{server.Log}");
            var view = await admin.GetFromJsonAsync<JsonElement>("/admin/tasks/" + Uri.EscapeDataString(id), ct);
            Assert.Equal(1, view.GetProperty("attempts").GetInt32());
            using var video = await final.GetAsync(task.GetProperty("video_url").GetString(), ct);
            Assert.True(video.IsSuccessStatusCode);
        }

        // No render job outlives its task: one a killed process completed but never released is swept at
        // the next start, the others are released once stored (just after "completed" shows, hence the wait).
        // (A killed finisher's download may still be under a live lease at that start, so it is not checked here.)
        var jobs = Path.Combine(dataDir, "work", "local");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Directory.Exists(jobs) && Directory.EnumerateFileSystemEntries(jobs).Any())
        {
            Assert.True(DateTime.UtcNow < deadline, $"local render jobs outlived their tasks: {string.Join(", ", Directory.EnumerateFileSystemEntries(jobs))}");
            await Task.Delay(100, ct);
        }

        await server.KillAsync();
        LedgerInvariants.AssertHold(Path.Combine(dataDir, "reelay.db"));
        Directory.Delete(dataDir, recursive: true);
    }

    [Fact]
    public async Task Kill9_WhileUpstreamJobsRun_NoTaskIsSubmittedTwice()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var relay = await FakeUnifiedRelayServer.StartNewAsync(ct);
        relay.Scenario = FakeScenario.Slow;
        relay.SlowPolls = 4;
        var dataDir = NewDataDir();
        await using var server = new ServerProcess(dataDir, "sk-admin-crash-" + Guid.NewGuid().ToString("N"), new Dictionary<string, string>
        {
            ["REELAY_Channels__0__Name"] = "relay",
            ["REELAY_Channels__0__Provider"] = "unified",
            ["REELAY_Channels__0__BaseUrl"] = relay.BaseUrl.ToString(),
            ["REELAY_Channels__0__ApiKey"] = "relay-key",
            ["REELAY_Channels__0__PollInterval"] = "00:00:00.150",
            // A short lease so tasks held by a killed process are taken over quickly.
            ["REELAY_Engine__LeaseDuration"] = "00:00:03",
        });
        await server.StartAsync(ct);
        var key = await server.CreateKeyAsync("live", "crash", ct);
        var ids = new Dictionary<string, string>();
        var random = new Random(11);

        for (var round = 0; round < 4; round++)
        {
            using (var client = server.ClientFor(key))
            {
                for (var i = 0; i < 4; i++)
                {
                    var prompt = $"crash round {round} task {i}";
                    ids[await client.CreateAsync(new { model = "grok-video-3", prompt }, ct)] = prompt;
                }
            }

            await Task.Delay(random.Next(50, 800), ct);
            await server.KillAsync();
            await server.StartAsync(ct);
        }

        using var final = server.ClientFor(key);
        foreach (var (id, prompt) in ids)
        {
            var task = await final.WaitForEndAsync(id, TimeSpan.FromSeconds(120), ct);
            var status = task.GetProperty("status").GetString();
            var submissions = relay.Requests.Count(r => r.Kind == FakeRequestKind.Submit && r.Body.Contains(prompt, StringComparison.Ordinal));
            Assert.True(submissions <= 1, $"{id} was submitted {submissions} times");
            Assert.True(
                status == "completed" || (status == "failed" && task.GetProperty("error").GetProperty("code").GetString() == "submit_interrupted"),
                $"{id} ended {task}\n{server.Log}");
        }
    }

    [Fact]
    public async Task Sigterm_WhileTasksRun_ExitsCleanlyAndRestartFinishesThem()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var relay = await FakeUnifiedRelayServer.StartNewAsync(ct);
        relay.Scenario = FakeScenario.Slow;
        // The fake's progress moves one step per poll, not with time, so Reelay's progress-aimed polling
        // spaces its polls out more than it would for a real upstream: keep the job short.
        relay.SlowPolls = 3;
        var dataDir = NewDataDir();
        await using var server = new ServerProcess(dataDir, "sk-admin-stop-" + Guid.NewGuid().ToString("N"), new Dictionary<string, string>
        {
            ["REELAY_Channels__0__Name"] = "relay",
            ["REELAY_Channels__0__Provider"] = "unified",
            ["REELAY_Channels__0__BaseUrl"] = relay.BaseUrl.ToString(),
            ["REELAY_Channels__0__PollInterval"] = "00:00:00.150",
        });
        await server.StartAsync(ct);
        var key = await server.CreateKeyAsync("live", "crash", ct);
        var ids = new List<string>();
        using (var client = server.ClientFor(key))
        {
            for (var i = 0; i < 6; i++)
            {
                ids.Add(await client.CreateAsync(new { model = "grok-video-3", prompt = $"stop task {i}" }, ct));
            }
        }

        Assert.Equal(0, await server.StopAsync(TimeSpan.FromSeconds(40)));
        await server.StartAsync(ct);

        using var final = server.ClientFor(key);
        using var admin = server.ClientFor(server.AdminKey);
        foreach (var id in ids)
        {
            var task = await final.WaitForEndAsync(id, TimeSpan.FromSeconds(120), ct);
            Assert.True(task.GetProperty("status").GetString() == "completed", $"{id} ended {task}\n{server.Log}");
            var view = await admin.GetFromJsonAsync<JsonElement>("/admin/tasks/" + Uri.EscapeDataString(id), ct);
            Assert.Equal(1, view.GetProperty("attempts").GetInt32());
        }

        Assert.Equal(ids.Count, relay.Submissions);
    }

    private static string NewDataDir() => Path.Combine(Path.GetTempPath(), "reelay-crash-" + Guid.NewGuid().ToString("N"));
}
