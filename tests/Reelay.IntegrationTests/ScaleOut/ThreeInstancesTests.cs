using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Reelay.IntegrationTests.Api.Unified;
using Reelay.Testing;
using Reelay.Testing.Fakes;

namespace Reelay.IntegrationTests.ScaleOut;

/// <summary>
/// Three Reelay processes share one PostgreSQL, one S3 bucket and one Redis while clients spread creates, queries
/// and long-polls over them; one is killed with SIGKILL while it holds a task's lease. The others take its work
/// over: every task completes, none reaches the upstream twice, a key limited to 5 unfinished tasks never has 6
/// whichever instances its creates reach, the books balance, and only requests sent to the dead instance fail.
/// </summary>
public sealed class ThreeInstancesTests
{
    private const int Victim = 2;

    [Fact]
    public async Task Kill9_OneOfThreeInstancesWhileItHoldsALease_EveryTaskCompletesOnceWithinItsLimitAndTheBooksHold()
    {
        var ct = TestContext.Current.CancellationToken;
        var run = Stopwatch.StartNew();
        var postgres = await PostgresServer.SharedAsync();
        await using var cluster = await ScaleOutCluster.StartAsync(postgres, 3, TimeSpan.FromSeconds(3), new Dictionary<string, string>
        {
            // A short lease, so the task the killed instance held is taken over within seconds.
            ["REELAY_Engine__LeaseDuration"] = "00:00:04",
        }, ct);
        var started = run.Elapsed;

        // One key ring: the channel key stored (encrypted) through the first instance is readable on every one.
        foreach (var instance in cluster.Instances)
        {
            using var admin = instance.ClientFor(cluster.AdminKey);
            var spare = await admin.GetFromJsonAsync<JsonElement>("/admin/channels/" + ScaleOutCluster.SpareChannel, ct);
            Assert.True(spare.GetProperty("has_api_key").GetBoolean() && spare.GetProperty("disabled_reason").ValueKind == JsonValueKind.Null, $"instance {instance.Port}: {spare}");
        }

        var (limitedAccount, limited) = await cluster.CreateKeyAsync(1000, unlimited: false, new { max_in_flight = 5 }, ct);
        var (_, unlimited) = await cluster.CreateKeyAsync(0, unlimited: true, null, ct);
        var clients = new[] { limited, unlimited }.ToDictionary(k => k.Key, k => cluster.Instances.Select(i => i.ClientFor(k.Key)).ToArray());
        var traffic = new Traffic();
        var tasks = new ConcurrentDictionary<string, (CreatedKey Key, string Prompt)>();
        int[] live = [0, 1, 2];
        var killedAt = DateTime.MaxValue;

        async Task<Exchange> CreateAsync(CreatedKey key, string prompt, int instance)
        {
            var exchange = await traffic.SendAsync(instance, clients[key.Key][instance], HttpMethod.Post, "/v1/video/create", new { model = ScaleOutCluster.Model, prompt, duration = 2 }, ct);
            if (exchange.Status == 200)
            {
                tasks[JsonDocument.Parse(exchange.Body).RootElement.GetProperty("id").GetString()!] = (key, prompt);
            }

            return exchange;
        }

        Task CreateUnlimitedAsync(string phase, int count) =>
            Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = ct }, async (i, _) =>
            {
                var instances = Volatile.Read(ref live);
                await CreateAsync(unlimited, $"unlimited {phase} {i}", instances[i % instances.Length]);
            });

        // Keeps asking for more than the limit allows, across instances, until `target` creates went through. Each
        // create takes `limitedTurn`, so the test can hold them off around the kill.
        using var limitedTurn = new SemaphoreSlim(1, 1);
        async Task CreateLimitedAsync(int target)
        {
            var deadline = Stopwatch.StartNew();
            for (var (attempt, created) = (0, 0); created < target; attempt++)
            {
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(180), $"the limited key made only {created} of {target} tasks within 180 s");
                await limitedTurn.WaitAsync(ct);
                try
                {
                    var instances = Volatile.Read(ref live);
                    if ((await CreateAsync(limited, $"limited {attempt}", instances[attempt % instances.Length])).Status == 200)
                    {
                        created++;
                    }
                }
                finally
                {
                    limitedTurn.Release();
                }

                await Task.Delay(200, ct);
            }
        }

        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(ct);

        // Queries and long-polls of known tasks on every instance, the dead one included once it is dead.
        async Task ReadAsync(int seed)
        {
            var random = new Random(seed);
            while (!stopping.IsCancellationRequested)
            {
                var ids = tasks.Keys.ToArray();
                if (ids.Length > 0)
                {
                    var id = ids[random.Next(ids.Length)];
                    var instance = random.Next(3);
                    var wait = random.Next(3) == 0 ? "&wait=2" : "";
                    await traffic.SendAsync(instance, clients[tasks[id].Key.Key][instance], HttpMethod.Get, $"/v1/video/query?id={Uri.EscapeDataString(id)}{wait}", null, ct);
                }

                await Task.Delay(40, CancellationToken.None);
            }
        }

        // The limited key's unfinished tasks, as the store counts them, all through the run.
        var mostInFlight = 0L;
        var samples = 0;
        async Task SampleAsync()
        {
            while (!stopping.IsCancellationRequested)
            {
                mostInFlight = Math.Max(mostInFlight, await cluster.UnfinishedAsync(limited.Id, ct));
                samples++;
                await Task.Delay(50, CancellationToken.None);
            }
        }

        var background = new[] { ReadAsync(1), ReadAsync(2), SampleAsync() };
        string heldDownload;
        var killAt = TimeSpan.Zero;
        try
        {
            var limitedCreates = CreateLimitedAsync(8);
            await CreateUnlimitedAsync("a", 12);
            await limitedTurn.WaitAsync(ct);

            // Every task is with the upstream before the kill: a kill mid-submission ends that task submit_interrupted by
            // design (CrashRecoveryTests), which is not what this test is about.
            await Waiting.UntilAsync(async () => await cluster.NotYetSubmittedAsync(ct) == 0, "tasks were still waiting to be submitted after 30 s", ct);
            // A finisher holds its task's lease while its download is held, so the kill can be timed to land on one.
            cluster.Relay.DownloadDelay = TimeSpan.FromSeconds(1.5);
            var victimDownloads = VictimDownloads(cluster.Relay).Count;
            await Waiting.UntilAsync(() => VictimDownloads(cluster.Relay).Count > victimDownloads, "the instance to kill started no download within 30 s", ct);
            // Its finisher holds this task's lease for the download's 1.5 s: SIGKILL now.
            heldDownload = VictimDownloads(cluster.Relay)[^1].Path;
            killedAt = DateTime.UtcNow;
            killAt = run.Elapsed;
            await cluster.Instances[Victim].KillAsync();
            Volatile.Write(ref live, [0, 1]);
            cluster.Relay.DownloadDelay = TimeSpan.Zero;
            limitedTurn.Release();

            await Task.WhenAll(CreateUnlimitedAsync("b", 6), limitedCreates);

            // A few hundred requests in all, however fast this machine got through the creates.
            await Waiting.UntilAsync(() => traffic.Exchanges.Count >= 300, $"only {traffic.Exchanges.Count} requests were sent within 30 s", ct);
        }
        finally
        {
            await stopping.CancelAsync();
            await Task.WhenAll(background);
        }

        var loadDone = run.Elapsed;
        var ended = new Dictionary<string, JsonElement>();
        foreach (var (id, (key, _)) in tasks)
        {
            ended[id] = await clients[key.Key][ended.Count % 2].WaitForEndAsync(id, TimeSpan.FromSeconds(90), ct);
        }

        var allEnded = run.Elapsed;
        var log = string.Join("\n", cluster.Instances.Select((instance, i) => $"--- instance {i}\n{instance.Log}"));
        Assert.All(ended, task => Assert.True(task.Value.GetProperty("status").GetString() == "completed", $"{task.Key} ended {task.Value}\n{log}"));

        cluster.AssertEachSubmittedOnce([.. tasks.Values.Select(task => task.Prompt)]);

        // The killed instance's task was finished by another one.
        Assert.Contains(cluster.Relay.Requests, r => r.Kind == FakeRequestKind.Download && r.Path == heldDownload && ScaleOutCluster.SentBy(r) != Victim);

        // The limit held across instances, and was reached: every refusal names it.
        Assert.True(samples > 20, $"only {samples} samples of the limited key's tasks were taken");
        Assert.InRange(mostInFlight, 1, 5);
        var refusals = traffic.Exchanges.Where(e => e.Request.StartsWith("POST", StringComparison.Ordinal) && e.Status == 429).ToList();
        Assert.NotEmpty(refusals);
        Assert.All(refusals, refusal =>
        {
            var error = JsonDocument.Parse(refusal.Body).RootElement.GetProperty("error");
            Assert.Equal("too_many_tasks", error.GetProperty("code").GetString());
            Assert.Contains("its limit (max_in_flight 5)", error.GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.NotNull(refusal.RetryAfter);
        });
        Assert.All(traffic.Exchanges.Where(e => e.Request.StartsWith("POST", StringComparison.Ordinal) && e.Status != 429), create => Assert.Equal(200, create.Status));

        // No 5xx and no dropped connection, except from the instance that was killed, once it was.
        var failures = traffic.Exchanges.Where(e => (e.Status is null or >= 500) && !(e.Instance == Victim && e.EndedAt >= killedAt)).ToList();
        Assert.True(failures.Count == 0, "requests failed on live instances:\n" + string.Join("\n", failures.Take(20)));

        foreach (var (id, task) in ended)
        {
            await ScaleOutCluster.AssertVideoPlaysAsync(id, task, ct);
        }

        // One credit charged for each of the limited key's tasks, whichever instance finished it, and nothing left held.
        Assert.Equal((1000m - tasks.Values.Count(task => task.Key == limited), 0m), await cluster.BooksAsync(limitedAccount, ct));
        LedgerInvariants.AssertHoldInPostgres(cluster.Database);
        foreach (var client in clients.Values.SelectMany(c => c))
        {
            client.Dispose();
        }

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{tasks.Count} tasks, {traffic.Exchanges.Count} requests ({refusals.Count} refused by the limit), at most {mostInFlight} of the limited key's in flight over {samples} samples, {run.Elapsed.TotalSeconds:0.0} s; started {started.TotalSeconds:0.0}, kill {killAt.TotalSeconds:0.0}, load done {loadDone.TotalSeconds:0.0}, all ended {allEnded.TotalSeconds:0.0}");
    }

    private static List<RecordedRequest> VictimDownloads(FakeUpstreamServer relay) =>
        [.. relay.Requests.Where(r => r.Kind == FakeRequestKind.Download && ScaleOutCluster.SentBy(r) == Victim)];
}
