using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Testing;
using Reelay.Webhooks;

namespace Reelay.IntegrationTests.Webhooks;

/// <summary>
/// Webhooks end to end, checked the way a receiver would: signed Standard Webhooks messages verified by a
/// receiver written from the specification, the outbox surviving a receiver that is down and a restart in
/// the middle of the retry schedule, a 410 turning an endpoint off, the SSRF guard on every target, and
/// secret rotation signing with both secrets for a day. The webhook clock is shifted forward (the engine's
/// is not) to walk through a schedule of minutes and hours without waiting for it.
/// </summary>
public sealed class WebhookDeliveryTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly List<string> _dataDirs = [];

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

    private static Dictionary<string, string?> Settings(Dictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Webhooks:IdleDelay"] = "00:00:00.100",
            // Longer than any jump of the shifted clock: a try in flight when the test moves time on must
            // not see its lease run out and be sent again beside itself (a real clock never jumps).
            ["Webhooks:LeaseDuration"] = "2.00:00:00",
        };
        foreach (var (key, value) in more ?? [])
        {
            settings[key] = value;
        }

        return settings;
    }

    private static ReelayApp Start(ShiftedTime clock, Dictionary<string, string?>? settings = null, string? dataDir = null) =>
        ReelayApp.Start(Settings(settings), dataDir, services: services => services.AddKeyedSingleton<TimeProvider>(WebhookNotifier.ClockKey, clock));

    private string NewDataDir()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "reelay-webhooks-" + Guid.NewGuid().ToString("N"));
        _dataDirs.Add(dataDir);
        return dataDir;
    }

    /// <summary>An account with a test key and its signing secret (<see cref="AccountKit.CreateWebhookAccountAsync"/>), and a client using the key.</summary>
    private static async Task<(string AccountId, HttpClient Client, string Secret)> AccountAsync(ReelayApp app, CancellationToken ct)
    {
        var (account, key, secret) = await app.CreateWebhookAccountAsync(cancellationToken: ct);
        return (account, app.ClientFor(key.Key), secret);
    }

    private static async Task<string> RotateAsync(ReelayApp app, string accountId, CancellationToken ct)
    {
        using var admin = app.CreateClient();
        var rotated = await AccountKit.SendAsync(admin, app.AdminKey, HttpMethod.Post, $"/admin/accounts/{accountId}/webhook-secret", null, ct);
        return rotated.GetProperty("secret").GetString()!;
    }

    private static async Task<JsonElement[]> DeliveriesAsync(ReelayApp app, string taskId, CancellationToken ct)
    {
        using var admin = app.CreateClient();
        var log = await AccountKit.SendAsync(admin, app.AdminKey, HttpMethod.Get, $"/admin/tasks/{Uri.EscapeDataString(taskId)}/webhooks", null, ct);
        return [.. log.GetProperty("data").EnumerateArray()];
    }

    /// <summary>Reads the delivery log until <paramref name="done"/> holds: the notifier's progress is only visible there.</summary>
    private static async Task<JsonElement[]> WaitForDeliveriesAsync(ReelayApp app, string taskId, Func<JsonElement[], bool> done, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            var deliveries = await DeliveriesAsync(app, taskId, ct);
            if (done(deliveries))
            {
                return deliveries;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The deliveries of {taskId} never reached the state asked: {string.Join(", ", deliveries.Select(d => d.ToString()))}");
            }

            await Task.Delay(100, ct);
        }
    }

    private static string Type(JsonElement message) => message.GetProperty("type").GetString()!;

    [Fact]
    public async Task CallbackUrl_TaskCompletes_ReceiverVerifiesSignedProcessingAndCompletedCarryingTheQueryAnswer()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new ShiftedTime();
        await using var receiver = await WebhookReceiver.StartAsync(ct);
        await using var app = Start(clock);
        var (_, client, secret) = await AccountAsync(app, ct);
        receiver.Secrets = [secret];

        var id = await client.CreateAsync(new { model = "reelay-preview", prompt = "a lighthouse", duration = 1, callback_url = receiver.Url.ToString() }, ct);
        var finished = await client.WaitForEndAsync(id, Timeout, ct);
        var events = await receiver.WaitForEventsAsync(2, Timeout, ct);

        Assert.Equal("completed", finished.GetProperty("status").GetString());
        Assert.Equal(["video.processing", "video.completed"], events.Select(Type));
        Assert.All(events, e =>
        {
            Assert.StartsWith("evt_", e.GetProperty("id").GetString(), StringComparison.Ordinal);
            Assert.Equal("event", e.GetProperty("object").GetString());
            Assert.Equal(id, e.GetProperty("data").GetProperty("id").GetString());
        });
        Assert.Equal("processing", events[0].GetProperty("data").GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, events[0].GetProperty("data").GetProperty("video_url").ValueKind);
        var completed = events[1].GetProperty("data");
        // The unified query answer, field for field (its links are signed afresh, so compared by path).
        Assert.Equal(finished.EnumerateObject().Select(p => p.Name), completed.EnumerateObject().Select(p => p.Name));
        Assert.Equal("completed", completed.GetProperty("status").GetString());
        Assert.Equal(new Uri(finished.GetProperty("video_url").GetString()!).AbsolutePath, new Uri(completed.GetProperty("video_url").GetString()!).AbsolutePath);
        Assert.Equal(0, receiver.Rejected);
        // The receiver has the events before Reelay records the answers: the log catches up.
        Assert.All(await WaitForDeliveriesAsync(app, id, ds => ds.All(d => d.GetProperty("state").GetString() == "delivered"), ct), d =>
        {
            Assert.Equal("delivered", d.GetProperty("state").GetString());
            Assert.Equal(200, d.GetProperty("attempts")[0].GetProperty("status_code").GetInt32());
        });
    }

    [Fact]
    public async Task CallbackUrl_OnTheOpenAiRoute_EventsCarryTheVideoObjectAndTheFilterPicksTheTypes()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new ShiftedTime();
        await using var receiver = await WebhookReceiver.StartAsync(ct);
        await using var app = Start(clock);
        var (_, client, secret) = await AccountAsync(app, ct);
        receiver.Secrets = [secret];

        using var created = await client.PostAsJsonAsync("/v1/videos",
            new { model = "reelay-preview", prompt = "a harbour", seconds = 1, callback_url = receiver.Url.ToString(), webhook_events_filter = new[] { "completed" } }, ct);
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("id").GetString()!;
        var events = await receiver.WaitForEventsAsync(1, Timeout, ct);
        await client.WaitForEndAsync(id, Timeout, ct);

        Assert.Equal("video.completed", Type(events[0]));
        var video = events[0].GetProperty("data");
        Assert.Equal("video", video.GetProperty("object").GetString());
        Assert.Equal("completed", video.GetProperty("status").GetString());
        Assert.Equal(id, video.GetProperty("id").GetString());
        // Only the type asked for was ever put in the outbox for it.
        Assert.Equal(["video.completed"], (await DeliveriesAsync(app, id, ct)).Select(d => d.GetProperty("event_type").GetString()));
    }

    [Fact]
    public async Task Cancel_ThroughTheStoresEnd_PutsVideoCancelledInTheOutbox()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new ShiftedTime();
        await using var receiver = await WebhookReceiver.StartAsync(ct);
        // No engine: the task stays pending until cancelled; the notifier still runs.
        await using var app = Start(clock, new Dictionary<string, string?> { ["Engine:Enabled"] = "false", ["Webhooks:Enabled"] = "true", ["Limits:LocalAdmission"] = "false" });
        var (account, _, secret) = await AccountAsync(app, ct);
        receiver.Secrets = [secret];
        using var admin = app.CreateClient();
        var key = await AccountKit.CreateKeyAsync(admin, app.AdminKey, account, "test", cancellationToken: ct);
        using var client = app.ClientFor(key.Key);
        var id = await client.CreateAsync(new { model = "reelay-preview", prompt = "never made", callback_url = receiver.Url.ToString() }, ct);

        var cancelled = await app.Services.GetRequiredService<Reelay.Tasks.ITaskStore>().CancelAsync(id, key.Id, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), ct);
        var events = await receiver.WaitForEventsAsync(1, Timeout, ct);

        Assert.NotNull(cancelled);
        Assert.Equal("video.cancelled", Type(events[0]));
        Assert.Equal("cancelled", events[0].GetProperty("data").GetProperty("status").GetString());
        Assert.Equal("cancelled", events[0].GetProperty("data").GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Create_UnknownEventType_Is400NamingTheTypes()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["Engine:Enabled"] = "false" });
        using var client = await app.CreateClientWithKeyAsync(cancellationToken: ct);

        using var unified = await client.PostAsJsonAsync("/v1/video/create", new { model = "reelay-preview", prompt = "x", webhook_events_filter = new[] { "video.started" } }, ct);
        using var openAi = await client.PostAsJsonAsync("/v1/videos", new { model = "reelay-preview", prompt = "x", webhook_events_filter = "completed" }, ct);

        var error = (await unified.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error");
        Assert.Equal(HttpStatusCode.BadRequest, unified.StatusCode);
        Assert.Equal("'webhook_events_filter' 'video.started' is not an event type; use video.processing, video.progress, video.completed, video.failed, video.cancelled.",
            error.GetProperty("message").GetString());
        Assert.Equal("webhook_events_filter", error.GetProperty("param").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, openAi.StatusCode);
        Assert.Equal("webhook_events_filter", (await openAi.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Receiver_DownForAWhileThenUp_GetsEveryEventExactlyOnceAfterDedupe()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new ShiftedTime();
        await using var receiver = await WebhookReceiver.StartAsync(ct);
        receiver.Clock = clock.GetUtcNow;
        receiver.Answer = () => (503, null);
        await using var app = Start(clock);
        var (_, client, secret) = await AccountAsync(app, ct);
        receiver.Secrets = [secret];

        var first = await client.CreateAsync(new { model = "reelay-preview", prompt = "one", duration = 1, callback_url = receiver.Url.ToString() }, ct);
        var second = await client.CreateAsync(new { model = "reelay-preview", prompt = "two", duration = 1, callback_url = receiver.Url.ToString() }, ct);
        await client.WaitForEndAsync(first, Timeout, ct);
        await client.WaitForEndAsync(second, Timeout, ct);
        // Every event was tried once while the receiver was down.
        await receiver.WaitForRequestsAsync(4, Timeout, ct);
        Assert.Empty(receiver.Events);

        receiver.Answer = () => (200, null);
        clock.Advance(TimeSpan.FromMinutes(6));
        var events = await receiver.WaitForEventsAsync(4, Timeout, ct);

        Assert.Equal(4, events.Count);
        Assert.Equal(2, events.Count(e => Type(e) == "video.completed"));
        Assert.Equal(2, events.Count(e => Type(e) == "video.processing"));
        Assert.Equal(0, receiver.Duplicates);
        var deliveries = await WaitForDeliveriesAsync(app, first, ds => ds.All(d => d.GetProperty("state").GetString() == "delivered"), ct);
        Assert.All(deliveries, d =>
        {
            Assert.Equal("delivered", d.GetProperty("state").GetString());
            Assert.Equal(503, d.GetProperty("attempts")[0].GetProperty("status_code").GetInt32());
            Assert.Equal(200, d.GetProperty("attempts")[d.GetProperty("attempt_count").GetInt32() - 1].GetProperty("status_code").GetInt32());
        });

        // A manual redelivery sends the same webhook-id again: the receiver's dedupe keeps one.
        using var admin = app.AdminClient();
        using var redeliver = await admin.PostAsync($"/admin/webhooks/deliveries/{deliveries[0].GetProperty("id").GetInt64()}/redeliver", null, ct);
        Assert.Equal(HttpStatusCode.OK, redeliver.StatusCode);
        await receiver.WaitForRequestsAsync(receiver.Requests + 1, Timeout, ct);
        Assert.Equal(1, receiver.Duplicates);
        Assert.Equal(4, receiver.Events.Count);
    }

    [Fact]
    public async Task Restart_InTheMiddleOfTheRetrySchedule_DeliversEachEventOnceAfterTheRestart()
    {
        var ct = TestContext.Current.CancellationToken;
        var dataDir = NewDataDir();
        var clock = new ShiftedTime();
        await using var receiver = await WebhookReceiver.StartAsync(ct);
        receiver.Clock = clock.GetUtcNow;
        receiver.Answer = () => (503, 120);
        string id;
        string secret;
        await using (var app = Start(clock, dataDir: dataDir))
        {
            (_, var client, secret) = await AccountAsync(app, ct);
            receiver.Secrets = [secret];
            id = await client.CreateAsync(new { model = "reelay-preview", prompt = "a storm", duration = 1, callback_url = receiver.Url.ToString() }, ct);
            await client.WaitForEndAsync(id, Timeout, ct);
            await receiver.WaitForRequestsAsync(2, Timeout, ct);
            var pending = await WaitForDeliveriesAsync(app, id, ds => ds.Length == 2 && ds.All(d => d.GetProperty("attempt_count").GetInt32() >= 1), ct);
            // Retry-After: 120 is longer than the schedule's 5 s, so it sets the next try.
            Assert.All(pending, d => Assert.Equal("pending", d.GetProperty("state").GetString()));
            Assert.All(pending, d => Assert.True(d.GetProperty("next_attempt_at").GetInt64() - d.GetProperty("attempts")[0].GetProperty("at").GetInt64() >= 119_000, d.ToString()));
        }

        receiver.Answer = () => (200, null);
        clock.Advance(TimeSpan.FromMinutes(3));
        await using (var restarted = Start(clock, dataDir: dataDir))
        {
            var events = await receiver.WaitForEventsAsync(2, Timeout, ct);
            var deliveries = await WaitForDeliveriesAsync(restarted, id, ds => ds.All(d => d.GetProperty("state").GetString() == "delivered"), ct);

            Assert.Equal(["video.processing", "video.completed"], events.Select(Type).Order(StringComparer.Ordinal).Reverse());
            Assert.Equal(0, receiver.Duplicates);
            Assert.All(deliveries, d => Assert.Equal([503, 200], d.GetProperty("attempts").EnumerateArray().Select(a => a.GetProperty("status_code").GetInt32())));
        }
    }

    [Fact]
    public async Task Endpoint_Answers410_IsTurnedOffAndGetsNoMoreEvents()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new ShiftedTime();
        await using var receiver = await WebhookReceiver.StartAsync(ct);
        receiver.Answer = () => (410, null);
        await using var app = Start(clock);
        var (account, client, secret) = await AccountAsync(app, ct);
        receiver.Secrets = [secret];
        using var admin = app.AdminClient();
        using var registered = await admin.PostAsJsonAsync("/admin/webhooks/endpoints", new { account_id = account, url = receiver.Url.ToString() }, ct);
        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        var endpoint = (await registered.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("id").GetString()!;

        var first = await client.CreateAsync(new { model = "reelay-preview", prompt = "first", duration = 1 }, ct);
        await client.WaitForEndAsync(first, Timeout, ct);
        await WaitForDeliveriesAsync(app, first, ds => ds.Length > 0 && ds.All(d => d.GetProperty("state").GetString() == "gone"), ct);
        var turnedOff = await admin.GetFromJsonAsync<JsonElement>($"/admin/webhooks/endpoints/{endpoint}", ct);
        var second = await client.CreateAsync(new { model = "reelay-preview", prompt = "second", duration = 1 }, ct);
        await client.WaitForEndAsync(second, Timeout, ct);

        Assert.False(turnedOff.GetProperty("enabled").GetBoolean());
        Assert.Contains("410 Gone", turnedOff.GetProperty("disabled_reason").GetString(), StringComparison.Ordinal);
        // A turned-off endpoint is not a target: the second task's events have no delivery to it.
        Assert.Empty(await DeliveriesAsync(app, second, ct));
        var log = await admin.GetFromJsonAsync<JsonElement>($"/admin/webhooks/endpoints/{endpoint}/deliveries", ct);
        Assert.Contains(log.GetProperty("data").EnumerateArray(), d => d.GetProperty("last_status").GetInt32() == 410);

        using var turnedOn = await admin.PatchAsJsonAsync($"/admin/webhooks/endpoints/{endpoint}", new { enabled = true }, ct);
        var on = await turnedOn.Content.ReadFromJsonAsync<JsonElement>(ct);
        Assert.True(on.GetProperty("enabled").GetBoolean());
        Assert.Equal(JsonValueKind.Null, on.GetProperty("disabled_reason").ValueKind);
        var audit = await admin.GetFromJsonAsync<JsonElement>($"/admin/audit?target_id={endpoint}", ct);
        Assert.Equal(["webhook_endpoint.update", "webhook_endpoint.create"], audit.GetProperty("data").EnumerateArray().Select(a => a.GetProperty("action").GetString()));
    }

    [Fact]
    public async Task Targets_ThatTheSsrfGuardRefuses_AreRefusedAtCreateAndAtDelivery()
    {
        var ct = TestContext.Current.CancellationToken;
        var dataDir = NewDataDir();
        var clock = new ShiftedTime();
        await using var receiver = await WebhookReceiver.StartAsync(ct);
        string account;
        string key;
        await using (var allowing = Start(clock, dataDir: dataDir))
        {
            // Registered while loopback was allowed…
            (account, _, _) = await AccountAsync(allowing, ct);
            using var admin = allowing.CreateClient();
            key = (await AccountKit.CreateKeyAsync(admin, allowing.AdminKey, account, "test", cancellationToken: ct)).Key;
            await AccountKit.SendAsync(admin, allowing.AdminKey, HttpMethod.Post, "/admin/webhooks/endpoints", new { account_id = account, url = receiver.Url.ToString() }, ct);
        }

        // …and delivered by an instance that refuses it: the address dialled is what the guard checks.
        await using var app = Start(clock, new Dictionary<string, string?> { ["ALLOW_PRIVATE_NETWORKS"] = "" }, dataDir);
        using var client = app.ClientFor(key);
        using var admin2 = app.AdminClient();
        using var refusedCallback = await client.PostAsJsonAsync("/v1/videos", new { model = "reelay-preview", prompt = "x", callback_url = receiver.Url.ToString() }, ct);
        using var refusedEndpoint = await admin2.PostAsJsonAsync("/admin/webhooks/endpoints", new { account_id = account, url = "http://169.254.169.254/latest" }, ct);
        var id = await client.CreateAsync(new { model = "reelay-preview", prompt = "guarded", duration = 1 }, ct);
        await client.WaitForEndAsync(id, Timeout, ct);
        var deliveries = await WaitForDeliveriesAsync(app, id, ds => ds.Length == 2 && ds.All(d => d.GetProperty("state").GetString() != "pending"), ct);

        Assert.Equal(HttpStatusCode.BadRequest, refusedCallback.StatusCode);
        Assert.Equal("invalid_callback_url", (await refusedCallback.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error").GetProperty("code").GetString());
        var endpointError = (await refusedEndpoint.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error");
        Assert.Equal(HttpStatusCode.BadRequest, refusedEndpoint.StatusCode);
        Assert.Contains("the cloud metadata address", endpointError.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.All(deliveries, d =>
        {
            Assert.Equal("failed", d.GetProperty("state").GetString());
            Assert.Contains("a loopback address", d.GetProperty("last_error").GetString(), StringComparison.Ordinal);
        });
        Assert.Equal(0, receiver.Requests);
    }

    [Fact]
    public async Task Rotation_OldAndNewSecretsBothSignForADay_ThenOnlyTheNew()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new ShiftedTime();
        await using var receiver = await WebhookReceiver.StartAsync(ct);
        receiver.Clock = clock.GetUtcNow;
        await using var app = Start(clock);
        var (account, client, oldSecret) = await AccountAsync(app, ct);
        var newSecret = await RotateAsync(app, account, ct);

        // A receiver that still knows only the old secret verifies the messages of the day after.
        receiver.Secrets = [oldSecret];
        var id = await client.CreateAsync(new { model = "reelay-preview", prompt = "rotating", duration = 1, callback_url = receiver.Url.ToString(), webhook_events_filter = new[] { "video.completed" } }, ct);
        await receiver.WaitForEventsAsync(1, Timeout, ct);
        var bothSigned = receiver.LastSignature!;
        await WaitForDeliveriesAsync(app, id, ds => ds.All(d => d.GetProperty("state").GetString() == "delivered"), ct);

        // A day later only the new one signs: the old-secret receiver refuses, the switched one accepts.
        clock.Advance(TimeSpan.FromHours(25));
        var delivery = (await DeliveriesAsync(app, id, ct))[0].GetProperty("id").GetInt64();
        using var admin = app.AdminClient();
        (await admin.PostAsync($"/admin/webhooks/deliveries/{delivery}/redeliver", null, ct)).Dispose();
        await receiver.WaitForRequestsAsync(2, Timeout, ct);
        var rejectedAfterADay = receiver.Rejected;
        receiver.Secrets = [newSecret];
        (await admin.PostAsync($"/admin/webhooks/deliveries/{delivery}/redeliver", null, ct)).Dispose();
        await receiver.WaitForRequestsAsync(3, Timeout, ct);

        Assert.Equal(2, bothSigned.Split(' ').Length);
        Assert.All(bothSigned.Split(' '), s => Assert.StartsWith("v1,", s, StringComparison.Ordinal));
        Assert.Equal(1, rejectedAfterADay);
        Assert.Single(receiver.LastSignature!.Split(' '));
        Assert.Equal(1, receiver.Duplicates);
        Assert.NotEqual(oldSecret, newSecret);
        Assert.StartsWith("whsec_", newSecret, StringComparison.Ordinal);

        // Audited as a rotation, never with the secret; stored only encrypted.
        var audit = await admin.GetFromJsonAsync<JsonElement>($"/admin/audit?target_id={account}&action=webhook_secret.rotate", ct);
        Assert.Equal(2, audit.GetProperty("data").GetArrayLength());
        Assert.All(audit.GetProperty("data").EnumerateArray(), a => Assert.Equal("secret rotated", a.GetProperty("note").GetString()));
        Assert.DoesNotContain(newSecret[6..], audit.ToString(), StringComparison.Ordinal);
        foreach (var file in Directory.EnumerateFiles(app.DataDir, "*", SearchOption.AllDirectories))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            var text = await reader.ReadToEndAsync(ct);
            Assert.DoesNotContain(newSecret[6..], text, StringComparison.Ordinal);
            Assert.DoesNotContain(oldSecret[6..], text, StringComparison.Ordinal);
        }
    }
}
