using System.Diagnostics;
using System.Text.Json;
using Reelay.Testing;
using Reelay.Testing.Fakes;

namespace Reelay.IntegrationTests.ScaleOut;

/// <summary>
/// Two Reelay processes on one PostgreSQL (with S3 and Redis) lose the database for 20 s while tasks are in every
/// stage. Meanwhile every API request is answered 503 with <c>Retry-After</c> and the error envelope (never a 500)
/// and each instance reports itself not ready; the workers wait it out, and once the database is back every task
/// completes, none reaches the upstream twice and the books balance.
/// </summary>
public sealed class PostgresOutageTests
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task PostgresStopped20Seconds_MidRun_RequestsGet503WithRetryAfterAndEveryTaskCompletesOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        var run = Stopwatch.StartNew();
        // A server of its own: this test stops it.
        await using var postgres = await PostgresServer.StartAsync(ct);
        await using var cluster = await ScaleOutCluster.StartAsync(postgres, 2, TimeSpan.FromSeconds(3), new Dictionary<string, string>
        {
            // Longer than the outage, so a submission whose upstream id could not be recorded is still this worker's to
            // record when the database is back; short enough that a task whose lease could not be handed back is taken
            // over within the test's wait.
            ["REELAY_Engine__LeaseDuration"] = "00:00:15",
        }, ct);
        cluster.Relay.DownloadDelay = TimeSpan.FromSeconds(0.5);
        var (account, key) = await cluster.CreateKeyAsync(1000, unlimited: false, null, ct);
        var clients = cluster.Instances.Select(i => i.ClientFor(key.Key)).ToArray();
        var traffic = new Traffic();
        var prompts = new Dictionary<string, string>();

        async Task<Exchange> CreateAsync(string prompt, int instance)
        {
            var exchange = await traffic.SendAsync(instance, clients[instance], HttpMethod.Post, "/v1/video/create", new { model = ScaleOutCluster.Model, prompt, duration = 2 }, ct);
            if (exchange.Status == 200)
            {
                prompts[JsonDocument.Parse(exchange.Body).RootElement.GetProperty("id").GetString()!] = prompt;
            }

            return exchange;
        }

        for (var i = 0; i < 16; i++)
        {
            Assert.Equal(200, (await CreateAsync($"before the outage {i}", i % 2)).Status);
        }

        // Mid-run: some tasks are with the upstream, others still waiting to be submitted or finished.
        var deadline = Stopwatch.StartNew();
        while (cluster.Relay.Submissions < 4)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), "the relay received no submissions within 30 s");
            await Task.Delay(20, ct);
        }

        await postgres.StopAsync(ct);
        var down = DateTime.UtcNow;
        var during = new List<Exchange>();
        var ids = prompts.Keys.ToArray();
        for (var round = 0; DateTime.UtcNow - down < Outage; round++)
        {
            var instance = round % 2;
            during.Add(await CreateAsync($"during the outage {round}", instance));
            during.Add(await traffic.SendAsync(instance, clients[instance], HttpMethod.Get, $"/v1/video/query?id={Uri.EscapeDataString(ids[round % ids.Length])}", null, ct));
            during.Add(await traffic.SendAsync(instance, clients[instance], HttpMethod.Get, $"/v1/video/query?id={Uri.EscapeDataString(ids[round % ids.Length])}&wait=2", null, ct));
            during.Add(await traffic.SendAsync(instance, clients[instance], HttpMethod.Get, "/readyz", null, ct));
            await Task.Delay(250, ct);
        }

        await postgres.StartAgainAsync(ct);

        // Back: the next requests are served, by both instances.
        for (var i = 0; i < 4; i++)
        {
            var after = await CreateAsync($"after the outage {i}", i % 2);
            Assert.True(after.Status == 200, $"a create after the outage was not served: {after}");
        }

        var log = string.Join("\n", cluster.Instances.Select((instance, i) => $"--- instance {i}\n{instance.Log}"));
        foreach (var (id, prompt) in prompts)
        {
            var task = await clients[0].WaitForEndAsync(id, TimeSpan.FromSeconds(90), ct);
            Assert.True(task.GetProperty("status").GetString() == "completed", $"{id} ({prompt}) ended {task}\n{log}");
            await ScaleOutCluster.AssertVideoPlaysAsync(id, task, ct);
        }

        // During the outage: 503, Retry-After and the envelope on every API request; /readyz says not ready.
        Assert.True(during.Count >= 40, $"only {during.Count} requests were sent during the outage");
        Assert.All(during, exchange =>
        {
            Assert.True(exchange.Status == 503, $"during the outage: {exchange}");
            if (exchange.Request.Contains("/readyz", StringComparison.Ordinal))
            {
                return;
            }

            Assert.Equal(TimeSpan.FromSeconds(2), exchange.RetryAfter);
            var error = JsonDocument.Parse(exchange.Body).RootElement.GetProperty("error");
            Assert.Equal(("store_unavailable", "service_unavailable_error"), (error.GetProperty("code").GetString(), error.GetProperty("type").GetString()));
            Assert.Contains("PostgreSQL server cannot be reached", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        });
        Assert.DoesNotContain(traffic.Exchanges, exchange => exchange.Status is null or 500);

        // The workers paused rather than failing tasks, and nothing was submitted twice.
        Assert.All(cluster.Instances, instance => Assert.Contains("worker pauses", instance.Log, StringComparison.Ordinal));
        cluster.AssertEachSubmittedOnce(prompts.Values);

        // One credit charged for each task, nothing twice, and nothing left held.
        Assert.Equal((1000m - prompts.Count, 0m), await cluster.BooksAsync(account, ct));
        LedgerInvariants.AssertHoldInPostgres(cluster.Database);
        foreach (var client in clients)
        {
            client.Dispose();
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"{prompts.Count} tasks, {during.Count} requests during the outage, {run.Elapsed.TotalSeconds:0.0} s");
    }
}
