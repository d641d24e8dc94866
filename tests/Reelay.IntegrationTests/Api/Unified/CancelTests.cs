using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Reelay.IntegrationTests.Billing;
using Reelay.IntegrationTests.Channels;
using Reelay.Testing;
using Reelay.Testing.Fakes;

namespace Reelay.IntegrationTests.Api.Unified;

/// <summary><c>POST /v1/video/cancel</c>, <c>POST /v1/videos/{id}/cancel</c> and the client's own deadline (<c>Cancel-After</c>, <c>timeout</c>).</summary>
public sealed class CancelTests
{
    /// <summary>reelay-preview at 0.05 credits per second, with the engine off: tasks stay pending until cancelled.</summary>
    private static readonly Dictionary<string, string?> PricedApiOnly = new()
    {
        ["Engine:Enabled"] = "false",
        ["Limits:LocalAdmission"] = "false",
        ["Billing:Prices:reelay-preview:PerSecond"] = "0.05",
    };

    private static readonly object TenSeconds = new { model = "reelay-preview", prompt = "a lighthouse", duration = 10 };

    private static async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(HttpClient client, string path, object? body, CancellationToken ct)
    {
        using var response = body is null ? await client.PostAsync(path, null, ct) : await client.PostAsJsonAsync(path, body, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    [Fact]
    public async Task Cancel_PendingTask_CancelledAtOnceWithItsHoldReleased()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(PricedApiOnly);
        var (account, client) = await app.CreateFundedClientAsync(10, cancellationToken: ct);
        using (client)
        {
            var id = await client.CreateAsync(TenSeconds, ct);

            var (status, body) = await PostAsync(client, "/v1/video/cancel", new { id }, ct);

            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("cancelled", body.GetProperty("status").GetString());
            Assert.Equal("cancelled", body.GetProperty("error").GetProperty("code").GetString());
            Assert.Equal(0m, body.GetProperty("cost").GetDecimal());
            Assert.Equal("cancelled", (await client.QueryAsync(id, ct)).GetProperty("status").GetString());
            Assert.Equal(["hold 0.5", "release 0.5"], SettlementTests.Movements(await app.AdminTaskViewAsync(id, ct)));
            Assert.Equal(10m, (await app.AccountAsync(account, ct)).GetProperty("available").GetDecimal());
        }
    }

    [Fact]
    public async Task Cancel_Twice_SecondAnswersTheCancelledTaskAndReleasesNothingMore()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(PricedApiOnly);
        var (_, client) = await app.CreateFundedClientAsync(10, cancellationToken: ct);
        using (client)
        {
            var id = await client.CreateAsync(TenSeconds, ct);
            await PostAsync(client, "/v1/video/cancel", new { id }, ct);

            var (unified, unifiedBody) = await PostAsync(client, "/v1/video/cancel", new { id }, ct);
            var (openAi, openAiBody) = await PostAsync(client, $"/v1/videos/{Uri.EscapeDataString(id)}/cancel", null, ct);

            Assert.Equal(HttpStatusCode.OK, unified);
            Assert.Equal("cancelled", unifiedBody.GetProperty("status").GetString());
            Assert.Equal(HttpStatusCode.OK, openAi);
            Assert.Equal("failed", openAiBody.GetProperty("status").GetString());
            Assert.Equal("cancelled", openAiBody.GetProperty("error").GetProperty("code").GetString());
            Assert.Equal(["hold 0.5", "release 0.5"], SettlementTests.Movements(await app.AdminTaskViewAsync(id, ct)));
        }
    }

    [Fact]
    public async Task Cancel_CompletedTask_Returns409NamingItsStatus()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);
        var id = await client.CreateAsync(new { model = "reelay-preview", prompt = "short", size = "480P", duration = 1 }, ct);
        Assert.Equal("completed", (await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct)).GetProperty("status").GetString());

        var (unified, unifiedBody) = await PostAsync(client, "/v1/video/cancel", new { id }, ct);
        var (openAi, openAiBody) = await PostAsync(client, $"/v1/videos/{Uri.EscapeDataString(id)}/cancel", null, ct);

        Assert.Equal(HttpStatusCode.Conflict, unified);
        Assert.Equal($"Task '{id}' is already completed; only pending or processing tasks can be cancelled.", unifiedBody.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal("task_finished", unifiedBody.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.Conflict, openAi);
        Assert.Equal("video_finished", openAiBody.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("already completed", openAiBody.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("completed", (await client.QueryAsync(id, ct)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Cancel_AnotherKeysTask_Returns404AndLeavesItRunning()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(PricedApiOnly);
        var (_, owner) = await app.CreateFundedClientAsync(10, cancellationToken: ct);
        using var stranger = await app.CreateClientWithKeyAsync("test", ct);
        using (owner)
        {
            var id = await owner.CreateAsync(TenSeconds, ct);

            var (unified, unifiedBody) = await PostAsync(stranger, "/v1/video/cancel", new { id }, ct);
            var (openAi, openAiBody) = await PostAsync(stranger, $"/v1/videos/{Uri.EscapeDataString(id)}/cancel", null, ct);

            Assert.Equal(HttpStatusCode.NotFound, unified);
            Assert.Equal($"No task with id '{id}' exists for this key.", unifiedBody.GetProperty("error").GetProperty("message").GetString());
            Assert.Equal(HttpStatusCode.NotFound, openAi);
            Assert.Equal("video_not_found", openAiBody.GetProperty("error").GetProperty("code").GetString());
            Assert.Equal("pending", (await owner.QueryAsync(id, ct)).GetProperty("status").GetString());
        }
    }

    [Theory]
    [InlineData("{}", "'id' is required: pass the id that /v1/video/create returned, as {\"id\": \"...\"}.", "id")]
    [InlineData("{\"id\": 7}", null, "id")]
    [InlineData("[]", null, null)]
    public async Task Cancel_BadBody_Returns400SayingWhatToSend(string body, string? message, string? param)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(PricedApiOnly);
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        using var response = await client.PostAsync("/v1/video/cancel", new StringContent(body, System.Text.Encoding.UTF8, "application/json"), ct);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("error");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        if (message is not null)
        {
            Assert.Equal(message, error.GetProperty("message").GetString());
        }

        if (param is not null)
        {
            Assert.Equal(param, error.GetProperty("param").GetString());
        }
    }

    [Fact]
    public async Task Cancel_RunningJobOfAProviderThatCancels_StopsTheUpstreamJob()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeReplicateServer.StartNewAsync(ct);
        fake.Scenario = FakeScenario.Slow;
        fake.SlowPolls = 100_000;
        await using var app = UpstreamGateway.Start([new("main", "replicate", fake)]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);
        var id = await client.CreateAsync(new { model = "replicate-kling-v2.1", prompt = "a cat" }, ct);
        await Waiting.UntilStatusAsync(client, id, "processing", ct);

        var (status, body) = await PostAsync(client, $"/v1/videos/{Uri.EscapeDataString(id)}/cancel", null, ct);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("cancelled", body.GetProperty("error").GetProperty("code").GetString());
        var job = fake.Jobs.Single().Id;
        await Waiting.UntilAsync(() => fake.Cancelled.Contains(job), "the upstream job was never cancelled", ct);
        Assert.Equal("cancelled", (await client.QueryAsync(id, ct)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Cancel_RacingCompletion_EachTaskEndsOnceAndTheAnswerSaysWhichEnd()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(new Dictionary<string, string?>
        {
            ["Limits:LocalAdmission"] = "false",
            ["Billing:Prices:reelay-preview:PerSecond"] = "0.05",
        });
        var (account, client) = await app.CreateFundedClientAsync(100, cancellationToken: ct);
        using (client)
        {
            var ids = new List<string>();
            for (var i = 0; i < 8; i++)
            {
                ids.Add(await client.CreateAsync(new { model = "reelay-preview", prompt = "race " + i, size = "480P", duration = 1 }, ct));
            }

            // Each cancel goes out after a different number of the task's changes, the last ones about when it completes.
            var answers = await Task.WhenAll(ids.Select(async (id, i) =>
            {
                for (var changes = 0; changes < i % 4; changes++)
                {
                    using var _ = await client.GetAsync($"/v1/video/query?id={Uri.EscapeDataString(id)}&wait=10", ct);
                }

                return await PostAsync(client, "/v1/video/cancel", new { id }, ct);
            }));

            for (var i = 0; i < ids.Count; i++)
            {
                var final = await client.WaitForEndAsync(ids[i], TimeSpan.FromSeconds(60), ct);
                var movements = SettlementTests.Movements(await app.AdminTaskViewAsync(ids[i], ct));
                var (status, body) = answers[i];
                if (status == HttpStatusCode.OK)
                {
                    Assert.Equal("cancelled", final.GetProperty("status").GetString());
                    Assert.Equal(["hold 0.05", "release 0.05"], movements);
                }
                else
                {
                    Assert.Equal(HttpStatusCode.Conflict, status);
                    Assert.Equal($"Task '{ids[i]}' is already completed; only pending or processing tasks can be cancelled.", body.GetProperty("error").GetProperty("message").GetString());
                    Assert.Equal("completed", final.GetProperty("status").GetString());
                    Assert.Equal("hold", movements[0].Split(' ')[0]);
                    Assert.Contains(movements, m => m.StartsWith("charge ", StringComparison.Ordinal));
                }
            }
        }
    }

    [Fact]
    public async Task CancelAfter_DeadlinePasses_TaskIsCancelledAndItsHoldReleased()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var relay = await FakeUnifiedRelayServer.StartNewAsync(ct);
        relay.Scenario = FakeScenario.Slow;
        relay.SlowPolls = 100_000;
        await using var app = UpstreamGateway.Start([new("relay", "unified", relay)], new Dictionary<string, string?>
        {
            ["Billing:Prices:grok-video-3:PerSecond"] = "0.05",
            ["Engine:SweepInterval"] = "00:00:00.200",
        });
        var (account, client) = await app.CreateFundedClientAsync(10, cancellationToken: ct);
        using (client)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/video/create") { Content = JsonContent.Create(new { model = "grok-video-3", prompt = "forever", duration = 10 }) };
            request.Headers.Add("Cancel-After", "1s");
            using var created = await client.SendAsync(request, ct);
            var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("id").GetString()!;
            using var fromField = await client.PostAsJsonAsync("/v1/videos", new { model = "grok-video-3", prompt = "forever too", seconds = 10, size = "1280x720", timeout = "1.5s" }, ct);
            var second = JsonDocument.Parse(await fromField.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("id").GetString()!;

            foreach (var task in (string[])[id, second])
            {
                var final = await client.WaitForEndAsync(task, TimeSpan.FromSeconds(30), ct);
                Assert.Equal("cancelled", final.GetProperty("status").GetString());
                Assert.Equal("cancelled", final.GetProperty("error").GetProperty("code").GetString());
                Assert.Contains("Cancel-After or timeout", final.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
                Assert.Equal(["hold 0.5", "release 0.5"], SettlementTests.Movements(await app.AdminTaskViewAsync(task, ct)));
            }

            Assert.Equal(10m, (await app.AccountAsync(account, ct)).GetProperty("available").GetDecimal());
        }
    }

    [Theory]
    [InlineData("Cancel-After", "soon")]
    [InlineData("Cancel-After", "90")]
    [InlineData("Cancel-After", "0s")]
    [InlineData("Cancel-After", "25h")]
    [InlineData("Cancel-After", "5x")]
    public async Task Create_BadCancelAfter_Returns400NamingTheFormat(string header, string value)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(PricedApiOnly);
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        foreach (var path in (string[])["/v1/video/create", "/v1/videos"])
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(new { model = "reelay-preview", prompt = "x" }) };
            request.Headers.TryAddWithoutValidation(header, value);
            using var response = await client.SendAsync(request, ct);
            var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("error");

            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal($"'Cancel-After' must be a duration from 1s to 24h such as 90s, 5m or 1h30m, got '{value}'.", error.GetProperty("message").GetString());
            Assert.Equal("invalid_cancel_after", error.GetProperty("code").GetString());
        }
    }

    [Fact]
    public async Task Create_BadTimeoutField_Returns400NamingTheField()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(PricedApiOnly);
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        using var response = await client.PostAsJsonAsync("/v1/video/create", new { model = "reelay-preview", prompt = "x", timeout = true }, ct);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("error");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("timeout", error.GetProperty("param").GetString());
        Assert.Equal("'timeout' must be a duration from 1s to 24h such as 90s, 5m or 1h30m (or a number of seconds), got 'true'.", error.GetProperty("message").GetString());
    }
}
