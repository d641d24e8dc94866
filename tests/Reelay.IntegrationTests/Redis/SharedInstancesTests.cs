using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Reelay.IntegrationTests.Api.Unified;
using Reelay.Redis;
using Reelay.Tasks;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Redis;

/// <summary>
/// Two Reelay instances over one SQLite file in one data directory and one real redis-server, as two
/// replicas behind a load balancer: a request rate is one bucket for both, a task finished by one wakes a
/// long-poll held by the other, a key revoked through one answers 401 on the other at once, and with
/// Redis gone both keep answering on their own limits until it is back.
/// </summary>
public sealed class SharedInstancesTests : IDisposable
{
    private static readonly object ShortRender = new { model = "reelay-preview", prompt = "a lighthouse", aspect_ratio = "16:9", size = "480P", duration = 1 };

    private static ReelayApp StartInstance(RedisServer redis, string dataDir, bool engine = false, CapturedLogs? logs = null) =>
        ReelayApp.Start(new Dictionary<string, string?>
        {
            ["Redis:Configuration"] = redis.Configuration,
            ["Engine:Enabled"] = engine ? "true" : "false",
            ["Limits:LocalAdmission"] = "false",
            // The outage and its end are both logged; the end at Information.
            ["Logging:LogLevel:Reelay.Redis"] = "Information",
        }, dataDir, logs);

    private readonly List<string> _dataDirs = [];

    /// <summary>A data directory both instances of a test share, deleted after the test.</summary>
    private string NewDataDir()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "reelay-shared-" + Guid.NewGuid().ToString("N"));
        _dataDirs.Add(dataDir);
        return dataDir;
    }

    public void Dispose()
    {
        foreach (var dataDir in _dataDirs)
        {
            try
            {
                Directory.Delete(dataDir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>A client of <paramref name="app"/> with the key <paramref name="keyed"/> uses.</summary>
    private static HttpClient SameKey(ReelayApp app, HttpClient keyed, TimeSpan? timeout = null)
    {
        var client = app.CreateClient();
        client.Timeout = timeout ?? client.Timeout;
        client.DefaultRequestHeaders.Authorization = keyed.DefaultRequestHeaders.Authorization;
        return client;
    }

    private static Task<HttpResponseMessage> CreateAsync(HttpClient client, CancellationToken ct) =>
        client.PostAsync("/v1/video/create", new StringContent("""{"model":"reelay-preview","prompt":"a shared limit"}""", Encoding.UTF8, "application/json"), ct);

    private static async Task<HttpStatusCode[]> CreateEachAsync(CancellationToken ct, params HttpClient[] clients)
    {
        var statuses = new List<HttpStatusCode>();
        foreach (var client in clients)
        {
            using var response = await CreateAsync(client, ct);
            statuses.Add(response.StatusCode);
        }

        return [.. statuses];
    }

    private static async Task<string> ReadinessAsync(ReelayApp app, CancellationToken ct)
    {
        using var client = app.CreateClient();
        using var response = await client.GetAsync("/readyz", ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync(ct);
    }

    [Fact]
    public async Task RequestsPerMinute_TwoInstances_AllowTheLimitOnceBetweenThem()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var redis = await RedisServer.StartAsync(ct);
        var dataDir = NewDataDir();
        await using var a = StartInstance(redis, dataDir);
        await using var b = StartInstance(redis, dataDir);
        var (_, onA) = await a.CreateFundedClientAsync(1, mode: "test", keyLimits: new { requests_per_minute = 4 }, cancellationToken: ct);
        using var _onA = onA;
        using var onB = SameKey(b, onA);

        var remaining = new List<string>();
        foreach (var client in new[] { onA, onB, onA, onB })
        {
            using var allowed = await CreateAsync(client, ct);
            Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
            remaining.Add(allowed.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        }

        using var refusedOnA = await CreateAsync(onA, ct);
        using var refusedOnB = await CreateAsync(onB, ct);

        // One bucket: each instance's answers count down the same four requests.
        Assert.Equal(["3", "2", "1", "0"], remaining);
        foreach (var refused in new[] { refusedOnA, refusedOnB })
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.InRange(refused.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(15));
            var error = (await refused.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error");
            Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
            Assert.StartsWith("This key allows 4 create requests per minute (requests_per_minute 4)", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task QueryWait_TaskRunByTheOtherInstance_IsWokenByEachOfItsChanges()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var redis = await RedisServer.StartAsync(ct);
        var dataDir = NewDataDir();
        // A only answers; B, started once A's long-poll waits, is the one that renders the task.
        await using var a = StartInstance(redis, dataDir);
        using var client = await a.CreateClientWithKeyAsync("test", ct);
        // Gives up well before a 60 s wait would end on its own: only a wake-up from B answers in time.
        using var impatient = SameKey(a, client, TimeSpan.FromSeconds(20));
        var id = await client.CreateAsync(ShortRender, ct);
        var changes = (RedisTaskChanges)a.Services.GetRequiredService<ITaskChanges>();
        var query = $"/v1/video/query?id={Uri.EscapeDataString(id)}&wait=60";

        var poll = impatient.GetAsync(query, ct);
        await Waiting.UntilAsync(() => changes.WatchedTasks == 1, "the long-poll on A never started waiting", ct);
        await using var b = StartInstance(redis, dataDir, engine: true);

        var seen = new List<string>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            HttpResponseMessage answer;
            try
            {
                answer = await poll;
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
                Assert.Fail($"A's long-poll was not woken by B within 20 s (states seen: {string.Join(", ", seen)})");
                throw;
            }

            using (answer)
            {
                Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
                var task = JsonDocument.Parse(await answer.Content.ReadAsStringAsync(ct)).RootElement;
                seen.Add($"{task.GetProperty("status").GetString()} {task.GetProperty("progress").GetInt32()}");
                if (task.GetProperty("status").GetString() is "completed" or "failed" or "cancelled")
                {
                    Assert.Equal("completed", task.GetProperty("status").GetString());
                    break;
                }
            }

            Assert.True(DateTime.UtcNow < deadline, $"task {id} did not complete on B (states seen: {string.Join(", ", seen)})");
            poll = impatient.GetAsync(query, ct);
        }

        // The first answer came from B's first change, not from the task as it was when A began waiting.
        Assert.DoesNotContain("pending 0", seen[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task RevokedThroughOneInstance_KeyCachedByTheOther_Answers401ThereLongBeforeItsCacheEntryEnds()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var redis = await RedisServer.StartAsync(ct);
        var dataDir = NewDataDir();
        await using var a = StartInstance(redis, dataDir);
        await using var b = StartInstance(redis, dataDir);
        var (keyId, key) = await a.CreateKeyWithIdAsync("test", cancellationToken: ct);
        using var onA = a.ClientFor(key);
        using (var before = await onA.GetAsync("/v1/models", ct))
        {
            // Now cached by A, which would trust it for 10 s without a notice.
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        var cached = Stopwatch.GetTimestamp();
        using var admin = b.AdminClient();
        using (var revoke = await admin.DeleteAsync($"/admin/keys/{keyId}", ct))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        }

        // Redis relays the notice to A before it answers B's publish, so the revoke's answer finds it on A's
        // socket; A then acts on it on its own threads, which on a loaded machine a request can beat by
        // moments. Asked again until 8 s after caching: a 401 by then came from the notice, not from expiry.
        HttpResponseMessage after;
        while (true)
        {
            after = await onA.GetAsync("/v1/models", ct);
            if (after.StatusCode == HttpStatusCode.Unauthorized || Stopwatch.GetElapsedTime(cached) > TimeSpan.FromSeconds(8))
            {
                break;
            }

            after.Dispose();
            await Task.Delay(20, ct);
        }

        using (after)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
            var error = (await after.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error");
            Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        }
    }

    [Fact]
    public async Task RedisStopped_RequestsGoOnWithPerInstanceLimits_AndTheSharedLimitReturnsWithIt()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var redis = await RedisServer.StartAsync(ct);
        var dataDir = NewDataDir();
        var logs = new CapturedLogs();
        await using var a = StartInstance(redis, dataDir, logs: logs);
        await using var b = StartInstance(redis, dataDir);
        var (_, onA) = await a.CreateFundedClientAsync(1, mode: "test", keyLimits: new { requests_per_minute = 2 }, cancellationToken: ct);
        using var _onA = onA;
        using var onB = SameKey(b, onA);
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], await CreateEachAsync(ct, onA, onB, onA));

        await redis.StopAsync();

        // Each instance now counts on its own: two each, never an error.
        var duringA = await CreateEachAsync(ct, onA, onA, onA);
        var duringB = await CreateEachAsync(ct, onB, onB);
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], duringA);
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK], duringB);
        Assert.StartsWith("redis degraded: 127.0.0.1:", await ReadinessAsync(a, ct), StringComparison.Ordinal);
        // One warning for the outage, not one per request.
        Assert.Single(logs.Lines, line => line.StartsWith("Warning", StringComparison.Ordinal) && line.Contains("cannot be reached", StringComparison.Ordinal));

        await redis.RestartAsync(ct);
        foreach (var instance in new[] { a, b })
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (await ReadinessAsync(instance, ct) != "ready")
            {
                Assert.True(DateTime.UtcNow < deadline, "an instance did not reconnect to Redis within 60 s");
                await Task.Delay(100, ct);
            }
        }

        // Shared again (Redis came back empty: a fresh bucket of two for both instances).
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], await CreateEachAsync(ct, onA, onB, onA, onB));
        Assert.Contains(logs.Lines, line => line.Contains("is reachable again", StringComparison.Ordinal));
    }
}
