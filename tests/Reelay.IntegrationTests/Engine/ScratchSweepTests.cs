using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Reelay.Engine;
using Reelay.Providers.Local;
using Reelay.Tasks;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Engine;

/// <summary>
/// What a killed process leaves in the work directory is swept at the next start, and only that:
/// files a live task owns (a running local render, another instance's finisher) stay.
/// </summary>
public class ScratchSweepTests
{
    [Fact]
    public async Task Startup_LeftoversOfAKilledRun_DeletesOrphansAndKeepsWhatLiveTasksOwn()
    {
        var ct = TestContext.Current.CancellationToken;
        var dataDir = Path.Combine(Path.GetTempPath(), "reelay-sweep-" + Guid.NewGuid().ToString("N"));
        var work = Path.Combine(dataDir, "work");
        var jobs = Path.Combine(work, "local");
        var finishing = Path.Combine(work, "finishing");
        try
        {
            string key;
            string completedId;
            await using (var first = ReelayApp.Start(dataDir: dataDir))
            {
                key = await first.CreateKeyAsync("test", cancellationToken: ct);
                using var client = first.ClientFor(key);
                completedId = await client.CreateAsync(new { model = "reelay-preview", prompt = "finished before the crash", duration = 1, size = "480P" }, ct);
                Assert.Equal("completed", (await client.WaitForEndAsync(completedId, TimeSpan.FromSeconds(60), ct)).GetProperty("status").GetString());
            }

            // An ffmpeg that never finishes keeps the second task rendering until its instance stops,
            // which leaves its inputs on disk for the next instance to resume, as after a crash.
            var hangingFfmpeg = Path.Combine(dataDir, "hanging-ffmpeg.sh");
            await File.WriteAllTextAsync(hangingFfmpeg, "#!/bin/sh\nexec sleep 300\n", ct);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(hangingFfmpeg, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            string runningId;
            await using (var second = ReelayApp.Start(new Dictionary<string, string?> { ["Media:FfmpegPath"] = hangingFfmpeg }, dataDir))
            {
                using var client = second.ClientFor(key);
                runningId = await client.CreateAsync(new { model = "reelay-preview", prompt = "rendering when the server died", duration = 1, size = "480P" }, ct);
                await WaitForStatusAsync(client, runningId, "processing", ct);
            }

            var runningJob = Path.Combine(jobs, LocalRenderer.JobIdFor(runningId));
            Assert.True(File.Exists(Path.Combine(runningJob, "request.json")), "premise: the running task's job directory holds its inputs");

            // What a SIGKILL leaves: a completed task's job not yet released, a job whose task is gone,
            // finisher downloads from before (an older unnamed one, and one under a lease now dead).
            var completedJob = Seed(Path.Combine(jobs, LocalRenderer.JobIdFor(completedId)), "output.mp4", 3000);
            var absentJob = Seed(Path.Combine(jobs, LocalRenderer.JobIdFor("reelay-preview:" + Guid.NewGuid().ToString("D"))), "output.mp4", 2000);
            var unnamedScratch = Seed(Path.Combine(finishing, Guid.NewGuid().ToString("N")), "video.mp4", 1000);
            var deadLeaseScratch = Seed(Path.Combine(finishing, Finisher.ScratchName(new Lease(completedId, Guid.NewGuid().ToString("N")))), "video.mp4", 1000);

            // Another instance sharing the data directory holds a lease right now: its download stays.
            var liveLease = new Lease(completedId, Guid.NewGuid().ToString("N"));
            var liveScratch = Seed(Path.Combine(finishing, Finisher.ScratchName(liveLease)), "video.mp4", 1000);
            await HoldLeaseAsync(Path.Combine(dataDir, "reelay.db"), liveLease, TimeSpan.FromMinutes(10), ct);

            await using var third = ReelayApp.Start(dataDir: dataDir);

            Assert.False(Directory.Exists(completedJob), "the completed task's job directory was not swept");
            Assert.False(Directory.Exists(absentJob), "the job directory of a task that does not exist was not swept");
            Assert.False(Directory.Exists(unnamedScratch), "the unnamed finisher scratch directory was not swept");
            Assert.False(Directory.Exists(deadLeaseScratch), "the scratch directory under a dead lease was not swept");
            Assert.True(File.Exists(Path.Combine(liveScratch, "video.mp4")), "the scratch directory under a live lease was swept");

            // The running task's render resumes from the inputs the sweep kept (swept, it would fail upstream_lost).
            using var final = third.ClientFor(key);
            var task = await final.WaitForEndAsync(runningId, TimeSpan.FromSeconds(60), ct);
            Assert.True(task.GetProperty("status").GetString() == "completed", $"the running task ended {task}");
            using var admin = third.AdminClient();
            var view = await admin.GetFromJsonAsync<JsonElement>("/admin/tasks/" + Uri.EscapeDataString(runningId), ct);
            Assert.Equal(1, view.GetProperty("attempts").GetInt32());
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    private static string Seed(string directory, string fileName, int bytes)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllBytes(Path.Combine(directory, fileName), new byte[bytes]);
        return directory;
    }

    /// <summary>Stamps a lease on the row as another instance's claim would.</summary>
    private static async Task HoldLeaseAsync(string databasePath, Lease lease, TimeSpan length, CancellationToken ct)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString());
        await connection.OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE tasks SET lease_token = $token, lease_until = $until WHERE id = $id";
        command.Parameters.AddWithValue("$token", lease.Token);
        command.Parameters.AddWithValue("$until", DateTimeOffset.UtcNow.Add(length).ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$id", lease.TaskId);
        Assert.Equal(1, await command.ExecuteNonQueryAsync(ct));
    }

    private static async Task WaitForStatusAsync(HttpClient client, string id, string status, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var task = await client.QueryAsync(id, ct);
            if (task.GetProperty("status").GetString() == status)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"task {id} never reached '{status}': {task}");
            await Task.Delay(50, ct);
        }
    }
}
