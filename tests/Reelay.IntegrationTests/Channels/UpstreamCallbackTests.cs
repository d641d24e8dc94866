using System.Net;
using System.Text;
using Reelay.Testing;
using Reelay.Testing.Fakes;
using static Reelay.IntegrationTests.Channels.UpstreamGateway;

namespace Reelay.IntegrationTests.Channels;

/// <summary>
/// Upstream callbacks: a channel with a public callback address submits each job with its own
/// callback URL, polls only slowly, and polls at once when a genuine callback comes. A callback
/// never completes a task by itself; forged, replayed and unknown ones cost nothing.
/// </summary>
public class UpstreamCallbackTests
{
    public static TheoryData<string, string> Providers => new()
    {
        { "seedance", "seedance-1.0-pro" },
        { "kling", "kling-v2.1" },
        { "minimax", "hailuo-02" },
        { "luma", "ray-2" },
        { "fal", "fal-kling-v2.1-master" },
        { "replicate", "replicate-kling-v2.1" },
    };

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Callback_Genuine_PollsOnceAndCompletes(string provider, string model)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await MoreUpstreamsFlowTests.StartFakeAsync(provider, ct);
        await using var app = StartWithCallbacks(provider, fake);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        var id = await client.CreateAsync(new { model, prompt = "a cat eating fish" }, ct);
        var job = await ProcessingJobAsync(client, fake, id, ct);
        using var answer = await fake.SendCallbackAsync(job, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("completed", task.GetProperty("status").GetString());
        Assert.StartsWith($"https://reelay.example.com/callbacks/{provider}/", job.CallbackUrl!.AbsoluteUri, StringComparison.Ordinal);
        // The fallback poll is ten minutes out: the one poll is the callback's.
        Assert.Equal(1, fake.PollsFor(job.Id));
        using var anonymous = app.CreateClient();
        Assert.Equal(fake.Video, await anonymous.GetByteArrayAsync(task.GetProperty("video_url").GetString(), ct));
    }

    [Fact]
    public async Task Callback_UnknownForgedAndKnownTokens_GetTheSameAnswer()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeSeedanceServer.StartNewAsync(ct);
        await using var app = StartWithCallbacks("seedance", fake);
        using var client = await app.CreateClientWithKeyAsync("live", ct);
        var id = await client.CreateAsync(new { model = "seedance-1.0-pro", prompt = "a cat" }, ct);
        var job = await ProcessingJobAsync(client, fake, id, ct);
        var known = job.CallbackUrl!.AbsolutePath;
        var token = known[(known.LastIndexOf('/') + 1)..];
        // The same token with its last character changed: a forgery of a real one.
        var altered = known[..^1] + (known[^1] == 'A' ? 'B' : 'A');

        using var anonymous = app.CreateClient();
        var answers = new List<(HttpStatusCode, string)>();
        foreach (var path in (string[])[known, altered, "/callbacks/seedance/not-a-token", "/callbacks/kling/" + token, "/callbacks/unknown-provider/x.y"])
        {
            using var response = await anonymous.PostAsync(path, new StringContent("""{"id":"cgt-1","status":"running"}""", Encoding.UTF8, "application/json"), ct);
            answers.Add((response.StatusCode, await response.Content.ReadAsStringAsync(ct)));
        }

        Assert.All(answers, answer => Assert.Equal(answers[0], answer));
        Assert.Equal((HttpStatusCode.OK, """{"received":true}"""), answers[0]);
    }

    [Fact]
    public async Task Callback_MiniMaxChallenge_IsEchoedForAnyToken()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var anonymous = app.CreateClient();

        using var response = await anonymous.PostAsync("/callbacks/minimax/whatever", new StringContent("""{"challenge":"1a3cs1j-601a-118y-ch52-o48911eabc3u"}""", Encoding.UTF8, "application/json"), ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"challenge":"1a3cs1j-601a-118y-ch52-o48911eabc3u"}""", await response.Content.ReadAsStringAsync(ct));
    }

    [Fact]
    public async Task Callback_ForgedSignatureOrReplay_CausesNoPoll()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeReplicateServer.StartNewAsync(ct);
        await using var app = StartWithCallbacks("replicate", fake);
        using var client = await app.CreateClientWithKeyAsync("live", ct);
        var first = await client.CreateAsync(new { model = "replicate-kling-v2.1", prompt = "a cat" }, ct);
        var firstJob = await ProcessingJobAsync(client, fake, first, ct);
        var second = await client.CreateAsync(new { model = "replicate-kling-v2.1", prompt = "a dog" }, ct);
        var secondJob = await ProcessingJobAsync(client, fake, second, ct);

        // Forged: a valid-looking signature made with another secret. Replayed: genuine, but signed ten minutes ago.
        var genuine = fake.CallbackFor(firstJob, DateTimeOffset.UtcNow);
        var forged = (new Dictionary<string, string>(genuine.Headers) { ["webhook-signature"] = "v1," + Convert.ToBase64String(new byte[32]) }, genuine.Body);
        var replayed = fake.CallbackFor(firstJob, DateTimeOffset.UtcNow.AddMinutes(-10));
        var altered = (genuine.Headers, Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(genuine.Body).Replace("succeeded", "failed", StringComparison.Ordinal)));
        foreach (var callback in new[] { forged, replayed, altered })
        {
            using var answer = await fake.SendCallbackAsync(firstJob, callback, ct);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }

        // Callbacks are read in order: once the second task's genuine callback has made it complete,
        // the three before it have been judged.
        using (await fake.SendCallbackAsync(secondJob, ct))
        {
        }

        var done = await client.WaitForEndAsync(second, TimeSpan.FromSeconds(60), ct);
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(0, fake.PollsFor(firstJob.Id));
        Assert.Equal("processing", (await client.QueryAsync(first, ct)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Callback_ReplayAfterCompletion_CausesNoPoll()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeKlingServer.StartNewAsync(ct);
        await using var app = StartWithCallbacks("kling", fake);
        using var client = await app.CreateClientWithKeyAsync("live", ct);
        var first = await client.CreateAsync(new { model = "kling-v2.1", prompt = "a cat" }, ct);
        var firstJob = await ProcessingJobAsync(client, fake, first, ct);
        using (await fake.SendCallbackAsync(firstJob, ct))
        {
        }

        await client.WaitForEndAsync(first, TimeSpan.FromSeconds(60), ct);
        var second = await client.CreateAsync(new { model = "kling-v2.1", prompt = "a dog" }, ct);
        var secondJob = await ProcessingJobAsync(client, fake, second, ct);

        // Unsigned upstreams' callbacks can be replayed at will; one for a finished task changes nothing.
        for (var i = 0; i < 3; i++)
        {
            using (await fake.SendCallbackAsync(firstJob, ct))
            {
            }
        }

        using (await fake.SendCallbackAsync(secondJob, ct))
        {
        }

        await client.WaitForEndAsync(second, TimeSpan.FromSeconds(60), ct);
        Assert.Equal(1, fake.PollsFor(firstJob.Id));
        Assert.Equal(1, fake.PollsFor(secondJob.Id));
    }

    [Fact]
    public async Task Callback_ChannelCreatedThroughAdminApi_SubmitsUnderItsAddressAndPollsOnceOnTheCallback()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeKlingServer.StartNewAsync(ct);
        await using var app = ReelayApp.Start();
        fake.CallbackProxy = app.BaseAddress;
        using (var admin = app.AdminClient())
        {
            using var created = await admin.PostAsync("/admin/channels", new StringContent(
                $$"""{"name":"kling-rt","provider":"kling","base_url":"{{fake.BaseUrl}}","api_key":"k","public_callback_base_url":"https://edge.example.com/"}""",
                Encoding.UTF8, "application/json"), ct);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        using var client = await app.CreateClientWithKeyAsync("live", ct);
        var id = await client.CreateAsync(new { model = "kling-v2.1", prompt = "a cat" }, ct);
        var job = await ProcessingJobAsync(client, fake, id, ct);
        using (await fake.SendCallbackAsync(job, ct))
        {
        }

        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(30), ct);
        Assert.Equal("completed", task.GetProperty("status").GetString());
        Assert.StartsWith("https://edge.example.com/callbacks/kling/", job.CallbackUrl!.AbsoluteUri, StringComparison.Ordinal);
        // The fallback poll is a minute out: the one poll is the callback's.
        Assert.Equal(1, fake.PollsFor(job.Id));
    }

    [Fact]
    public async Task Callback_WhileAPollOfTheTaskRuns_GetsAPollOfItsOwnAfterIt()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeKlingServer.StartNewAsync(ct);
        // The first poll finds the job still running, the second finds it done.
        fake.Scenario = FakeScenario.Slow;
        fake.SlowPolls = 1;
        var logs = new CapturedLogs();
        await using var app = StartWithCallbacks("kling", fake, logs);
        using var client = await app.CreateClientWithKeyAsync("live", ct);
        var id = await client.CreateAsync(new { model = "kling-v2.1", prompt = "a cat" }, ct);
        var job = await ProcessingJobAsync(client, fake, id, ct);

        // A first callback starts a poll, which the fake holds; a second comes in meanwhile.
        var release = fake.HoldNextPoll();
        using (await fake.SendCallbackAsync(job, ct))
        {
        }

        await fake.PollHeld.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
        using (await fake.SendCallbackAsync(job, ct))
        {
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (logs.Lines.Count(line => line.Contains("made it due for a poll", StringComparison.Ordinal)) < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "The second callback was never judged.");
            await Task.Delay(20, ct);
        }

        // The held poll answers "running" and schedules the ten-minute fallback over the second
        // callback's nudge; the callback must still get its poll.
        release.SetResult();
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(20), ct);

        Assert.Equal("completed", task.GetProperty("status").GetString());
        Assert.Equal(2, fake.PollsFor(job.Id));
    }

    [Fact]
    public async Task Create_ChannelWithoutCallbackAddress_SendsNoCallbackUrl()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeSeedanceServer.StartNewAsync(ct);
        await using var app = Start([new ChannelSpec("main", "seedance", fake)]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        var id = await client.CreateAsync(new { model = "seedance-1.0-pro", prompt = "a cat" }, ct);
        await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);

        Assert.DoesNotContain("callback_url", fake.LastSubmit!.Body, StringComparison.Ordinal);
    }

    private static ReelayApp StartWithCallbacks(string provider, FakeUpstreamServer fake, CapturedLogs? logs = null)
    {
        var app = Start([new ChannelSpec("main", provider, fake)], new Dictionary<string, string?>
        {
            // Reelay's address as the upstream sees it; the fake delivers through a "proxy" to the test's Reelay.
            ["Channels:0:PublicCallbackBaseUrl"] = "https://reelay.example.com/",
            ["Channels:0:CallbackPollInterval"] = "00:10:00",
            ["Logging:LogLevel:Reelay.Engine.CallbackReceiver"] = "Debug",
        }, logs: logs);
        fake.CallbackProxy = app.BaseAddress;
        return app;
    }

    /// <summary>The fake's job for a task, once Reelay has recorded it as processing (so a callback can make it due).</summary>
    private static async Task<FakeJob> ProcessingJobAsync(HttpClient client, FakeUpstreamServer fake, string id, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var task = await client.QueryAsync(id, ct);
            var jobs = fake.Jobs.Where(j => j.CallbackUrl is not null).ToList();
            if (task.GetProperty("status").GetString() == "processing" && jobs.Count > 0)
            {
                // Tasks are created one at a time here: the newest job is this task's.
                return jobs.OrderBy(j => j.SubmittedAt).Last();
            }

            Assert.True(DateTime.UtcNow < deadline, $"Task {id} never reached processing: {task}");
            await Task.Delay(50, ct);
        }
    }
}
