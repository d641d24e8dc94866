using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Reelay.IntegrationTests.Channels;
using Reelay.Testing;
using Reelay.Testing.Fakes;

namespace Reelay.IntegrationTests.Hosting;

/// <summary>
/// <c>/metrics</c> over HTTP: Prometheus text with Reelay's instruments and ASP.NET Core's, behind the admin key.
/// Run alone (<see cref="MetricsCollection"/>): every app in this test process names its meter "Reelay", and
/// OpenTelemetry listens to meters by name, so another test's app running meanwhile would feed the same gauges.
/// </summary>
[Collection(MetricsCollection.Name)]
public class MetricsTests
{
    [Fact]
    public async Task Metrics_AfterARender_ShowUpstreamCallsRequestsStagesAndBreakers_NeverASecret()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var admin = app.AdminClient();
        var channel = await admin.PostAsJsonAsync("/admin/channels", new { name = "xai-metrics", provider = "xai", api_key = "xai-secret-metrics-4711", models = new[] { "grok-video-3" }, enabled = false }, ct);
        Assert.Equal(HttpStatusCode.Created, channel.StatusCode);

        using var client = await app.CreateClientWithKeyAsync(cancellationToken: ct);
        var id = await client.CreateAsync(new { model = "reelay-preview", prompt = "a metric", duration = 1, size = "480P" }, ct);
        var done = await VideoTasks.WaitForEndAsync(client, id, TimeSpan.FromMinutes(2), ct);
        Assert.Equal("completed", done.GetProperty("status").GetString());

        var response = await admin.GetAsync("/metrics", ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);

        // The local renderer's submit and polls went through the measured provider; the download of its file too.
        foreach (var operation in (string[])["submit", "poll", "download"])
        {
            Assert.Matches(Series("reelay_upstream_duration_seconds_count", $"channel=\"local\"", $"operation=\"{operation}\"", "outcome=\"ok\"", "provider=\"local\""), text);
        }

        // The render was seen finished at some poll: the polls it took are counted per channel.
        Assert.Matches(Series("reelay_task_polls_count", "channel=\"local\"", "provider=\"local\""), text);
        // The renderer reports when it finished; the poll that saw it did so moments later (the render itself
        // took seconds, so a lag of minutes would mean a clock or unit mix-up).
        var lag = Regex.Match(text, "^reelay_upstream_finish_to_detection_seconds_sum\\{(?=[^}]*channel=\"local\")[^}]*\\} ([0-9.eE+-]+)", RegexOptions.Multiline);
        Assert.True(lag.Success, "no finish-to-detection sample for the local channel");
        Assert.InRange(double.Parse(lag.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 0, 30);
        Assert.Matches(new Regex("^reelay_upstream_finish_to_detection_seconds_count\\{(?=[^}]*channel=\"local\")(?=[^}]*provider=\"local\")[^}]*\\} 1( \\d+)?$", RegexOptions.Multiline), text);
        Assert.Matches(Series("http_server_request_duration_seconds_count", "http_request_method=\"POST\"", "http_response_status_code=\"200\"", "http_route=\"/v1/video/create\""), text);
        foreach (var stage in (string[])["pending", "submitting", "running", "finishing"])
        {
            Assert.Matches(Series("reelay_tasks_unfinished", $"stage=\"{stage}\""), text);
            Assert.Matches(Series("reelay_tasks_due", $"stage=\"{stage}\""), text);
        }

        Assert.Matches(new Regex(@"^reelay_holds_open(\{[^}]*\})? 0(\.0)?( \d+)?$", RegexOptions.Multiline), text);
        Assert.Matches(new Regex("^reelay_channel_breaker\\{[^}]*channel=\"xai-metrics\"[^}]*\\} 0( \\d+)?$", RegexOptions.Multiline), text);
        Assert.DoesNotContain("xai-secret-metrics-4711", text, StringComparison.Ordinal);
        Assert.DoesNotContain(id, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_ALeaseTakenOverMidSubmit_IsCountedAsLostByItsWorker()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeXaiServer.StartNewAsync(ct);
        // Long enough that the lease keeper (every third of the lease) sees the takeover before the submit returns.
        fake.SubmitDelay = TimeSpan.FromSeconds(15);
        await using var app = ReelayApp.Start(new Dictionary<string, string?>
        {
            ["Engine:LeaseDuration"] = "00:00:03",
            ["Channels:0:Name"] = "xai",
            ["Channels:0:Provider"] = "xai",
            ["Channels:0:BaseUrl"] = fake.BaseUrl.ToString(),
            ["Channels:0:ApiKey"] = "xai-key",
        });
        using var client = await app.CreateClientWithKeyAsync("live", ct);
        var id = await client.CreateAsync(new { model = "grok-video-3", prompt = "a lease" }, ct);

        // The attempt is recorded before the upstream is called: from then on the dispatcher holds the
        // lease while the submit hangs. Another instance's claim takes it over.
        await using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = app.DatabasePath, Pooling = false }.ToString()))
        {
            await connection.OpenAsync(ct);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                await using var stage = connection.CreateCommand();
                stage.CommandText = "SELECT stage FROM tasks WHERE id = $id";
                stage.Parameters.AddWithValue("$id", id);
                if ((string?)await stage.ExecuteScalarAsync(ct) == "submitting")
                {
                    break;
                }

                Assert.True(DateTime.UtcNow < deadline, "the task never reached submitting");
                await Task.Delay(20, ct);
            }

            await using var steal = connection.CreateCommand();
            steal.CommandText = "UPDATE tasks SET lease_token = 'another-instance', lease_until = $until WHERE id = $id";
            steal.Parameters.AddWithValue("$until", DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeMilliseconds());
            steal.Parameters.AddWithValue("$id", id);
            Assert.Equal(1, await steal.ExecuteNonQueryAsync(ct));
        }

        using var admin = app.AdminClient();
        // At least one: on a loaded machine the lease may also have run out once before the takeover.
        var lost = new Regex(@"^reelay_leases_lost_total\{[^}]*worker=""dispatch""[^}]*\} [1-9]\d*( \d+)?$", RegexOptions.Multiline);
        var until = DateTime.UtcNow.AddSeconds(20);
        string text;
        do
        {
            await Task.Delay(200, ct);
            text = await admin.GetStringAsync("/metrics", ct);
        }
        while (!lost.IsMatch(text) && DateTime.UtcNow < until);

        Assert.Matches(lost, text);
    }

    [Fact]
    public async Task Metrics_WithoutTheAdminKey_401Or403WithTheEnvelope_UnlessAnonymousIsOn()
    {
        var ct = TestContext.Current.CancellationToken;
        await using (var app = ReelayApp.Start(new Dictionary<string, string?> { ["Engine:Enabled"] = "false" }))
        {
            using var anonymous = app.CreateClient();
            var missing = await anonymous.GetAsync("/metrics", ct);
            Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
            var envelope = await missing.Content.ReadFromJsonAsync<JsonElement>(ct);
            Assert.Equal("missing_api_key", envelope.GetProperty("error").GetProperty("code").GetString());

            using var client = await app.CreateClientWithKeyAsync(cancellationToken: ct);
            var forbidden = await client.GetAsync("/metrics", ct);
            Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
            Assert.DoesNotContain("reelay_", await forbidden.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        }

        await using (var open = ReelayApp.Start(new Dictionary<string, string?> { ["Engine:Enabled"] = "false", ["Telemetry:AnonymousMetrics"] = "true" }))
        {
            using var anonymous = open.CreateClient();
            var scraped = await anonymous.GetAsync("/metrics", ct);
            Assert.Equal(HttpStatusCode.OK, scraped.StatusCode);
            Assert.Contains("reelay_tasks_unfinished", await scraped.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Metrics_UpstreamReportingItsFinishTime_MeasuresTheLagUntilAPollSawIt()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeSoraServer.StartNewAsync(ct);
        fake.JobDuration = TimeSpan.FromSeconds(2);
        await using var app = UpstreamGateway.Start([new UpstreamGateway.ChannelSpec("sora-metrics", "sora", fake, ApiKey: "sora-secret-metrics-4711")]);
        using var admin = app.AdminClient();
        using var client = await app.CreateClientWithKeyAsync("live", ct);
        var id = await client.CreateAsync(new { model = "sora-2", prompt = "a paper boat" }, ct);
        Assert.Equal("completed", (await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct)).GetProperty("status").GetString());

        var text = await admin.GetStringAsync("/metrics", ct);

        // completed_at is the job's finish in whole seconds, so the lag Reelay measures is the fake's own (first
        // poll answered finished minus finish time) plus at most the second cut off, and the moment to record it.
        var job = Assert.Single(fake.Jobs);
        var seenLate = (job.SeenAt!.Value - job.FinishesAt!.Value) / 1000d;
        var lag = Regex.Match(text, "^reelay_upstream_finish_to_detection_seconds_sum\\{(?=[^}]*channel=\"sora-metrics\")(?=[^}]*provider=\"sora\")[^}]*\\} ([0-9.eE+-]+)", RegexOptions.Multiline);
        Assert.True(lag.Success, "no finish-to-detection sample for the sora channel");
        Assert.InRange(double.Parse(lag.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), seenLate - 0.01, seenLate + 1 + 2);
        Assert.DoesNotContain("sora-secret-metrics-4711", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_WebhooksNotSent_CountedAsDueBacklog()
    {
        var ct = TestContext.Current.CancellationToken;
        // The engine renders; no notifier runs here, so every delivery stays due.
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["Webhooks:Enabled"] = "false" });
        using var admin = app.AdminClient();
        using var client = await app.CreateClientWithKeyAsync(cancellationToken: ct);
        var id = await client.CreateAsync(new { model = "reelay-preview", prompt = "a backlog", duration = 1, size = "480P", callback_url = "http://127.0.0.1:9/hook" }, ct);
        Assert.Equal("completed", (await VideoTasks.WaitForEndAsync(client, id, TimeSpan.FromMinutes(2), ct)).GetProperty("status").GetString());
        var deliveries = (await admin.GetFromJsonAsync<JsonElement>($"/admin/tasks/{id}/webhooks", ct)).GetProperty("data");
        Assert.NotEqual(0, deliveries.GetArrayLength());
        Assert.All(deliveries.EnumerateArray(), d => Assert.Equal("pending", d.GetProperty("state").GetString()));

        var text = await ScrapeUntilAsync(admin, Gauge("reelay_webhooks_backlog", "state=\"due\"", deliveries.GetArrayLength()), ct);

        Assert.Matches(Gauge("reelay_webhooks_backlog", "state=\"retrying\"", 0), text);
        Assert.DoesNotContain("127.0.0.1:9", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_WebhooksRefusedWithRetryAfter_CountedAsRetryingBacklog()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var receiver = await WebhookReceiver.StartAsync(ct);
        // Every try is refused and asked to come back in 10 minutes: each delivery waits for its retry.
        receiver.Answer = () => (503, 600);
        await using var app = ReelayApp.Start();
        using var admin = app.AdminClient();
        using var client = await app.CreateClientWithKeyAsync(cancellationToken: ct);
        var id = await client.CreateAsync(new { model = "reelay-preview", prompt = "a retried hook", duration = 1, size = "480P", callback_url = receiver.Url.ToString() }, ct);
        Assert.Equal("completed", (await VideoTasks.WaitForEndAsync(client, id, TimeSpan.FromMinutes(2), ct)).GetProperty("status").GetString());
        JsonElement deliveries;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        while (true)
        {
            deliveries = (await admin.GetFromJsonAsync<JsonElement>($"/admin/tasks/{id}/webhooks", ct)).GetProperty("data");
            if (deliveries.GetArrayLength() > 0 && deliveries.EnumerateArray().All(d => d.GetProperty("attempt_count").GetInt32() > 0))
            {
                break;
            }

            Assert.True(System.Diagnostics.Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(30), "the deliveries were not tried");
            await Task.Delay(100, ct);
        }

        Assert.All(deliveries.EnumerateArray(), d => Assert.Equal("pending", d.GetProperty("state").GetString()));
        var text = await ScrapeUntilAsync(admin, Gauge("reelay_webhooks_backlog", "state=\"retrying\"", deliveries.GetArrayLength()), ct);

        Assert.Matches(Gauge("reelay_webhooks_backlog", "state=\"due\"", 0), text);
    }

    /// <summary>Scrapes until <paramref name="expected"/> matches (gauges are sampled every 5 s), at most 20 s; the last scrape.</summary>
    private static async Task<string> ScrapeUntilAsync(HttpClient admin, Regex expected, CancellationToken ct)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        while (true)
        {
            var text = await admin.GetStringAsync("/metrics", ct);
            if (expected.IsMatch(text))
            {
                return text;
            }

            Assert.True(System.Diagnostics.Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(20), $"no {expected} in:\n{text}");
            await Task.Delay(250, ct);
        }
    }

    /// <summary>A gauge's sample line with <paramref name="label"/> and exactly <paramref name="value"/>.</summary>
    private static Regex Gauge(string name, string label, long value) =>
        new("^" + Regex.Escape(name) + @"\{(?=[^}]*" + Regex.Escape(label) + @")[^}]*\} " + value + @"( \d+)?$", RegexOptions.Multiline);

    /// <summary>A sample line of <paramref name="name"/> whose labels include every one given (Prometheus sorts nothing for us, so each is looked for on its own).</summary>
    private static Regex Series(string name, params string[] labels) =>
        new("^" + Regex.Escape(name) + @"\{" + string.Concat(labels.Select(label => "(?=[^}]*" + Regex.Escape(label) + ")")) + @"[^}]*\} \d", RegexOptions.Multiline);
}

/// <summary>The metrics tests, run when no other test's app is running (one app per process, as in production).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsCollection
{
    public const string Name = "metrics";
}
