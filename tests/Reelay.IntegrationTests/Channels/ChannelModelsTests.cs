using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Reelay.Testing;
using Reelay.Testing.Fakes;
using static Reelay.IntegrationTests.Channels.UpstreamGateway;

namespace Reelay.IntegrationTests.Channels;

/// <summary>
/// A name a channel lists that the catalog does not know is a model: served by the channels that
/// list it, with its provider's default capabilities, following channels changed at run time.
/// </summary>
public class ChannelModelsTests
{
    [Fact]
    public async Task ChannelOnlyModel_ListedByTwoChannels_IsListedRoutedAndFailsOver()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var first = await FakeXaiServer.StartNewAsync(ct);
        await using var second = await FakeXaiServer.StartNewAsync(ct);
        first.Scenario = FakeScenario.Unauthorized;
        await using var app = Start([
            new ChannelSpec("first", "xai", first, Priority: 0, Models: "my-new-model"),
            new ChannelSpec("second", "xai", second, Priority: 1, Models: "my-new-model"),
        ]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        var model = Assert.Single(await ListModelsAsync(client, ct), m => m.GetProperty("id").GetString() == "my-new-model");
        // xAI's defaults (README, Providers): its API's ratios and 1–15 s, 8 s by default.
        Assert.Equal(["16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3"], model.GetProperty("aspect_ratios").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(15, model.GetProperty("durations").GetArrayLength());
        Assert.Equal(8, model.GetProperty("default_duration").GetInt32());

        var id = await client.CreateAsync(new { model = "my-new-model", prompt = "a cat", orientation = "portrait" }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);

        Assert.Equal("completed", task.GetProperty("status").GetString());
        Assert.StartsWith("my-new-model:", id, StringComparison.Ordinal);
        Assert.Equal("9:16", task.GetProperty("aspect_ratio").GetString());
        Assert.Equal((1, 1), (first.Submissions, second.Submissions));
        using (var sent = JsonDocument.Parse(second.LastSubmit!.Body))
        {
            Assert.Equal("my-new-model", sent.RootElement.GetProperty("model").GetString());
            Assert.Equal("9:16", sent.RootElement.GetProperty("aspect_ratio").GetString());
            Assert.Equal(8, sent.RootElement.GetProperty("duration").GetInt32());
        }

        var route = (await app.AdminTaskAsync(id, ct)).GetProperty("route").EnumerateArray()
            .Select(s => (s.GetProperty("channel").GetString(), s.GetProperty("outcome").GetString())).ToList();
        Assert.Equal([("first", "upstream_auth"), ("second", "submitted")], route);
    }

    [Fact]
    public async Task ChannelOnlyModel_MappedToAnUpstreamId_SendsThatId()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var relay = await FakeUnifiedRelayServer.StartNewAsync(ct);
        await using var app = Start([new ChannelSpec("relay", "unified", relay, Models: "kling-2.6=kling-v2-6-pro")]);
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        var id = await client.CreateAsync(new { model = "kling-2.6", prompt = "a cat" }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);

        Assert.Equal("completed", task.GetProperty("status").GetString());
        using var sent = JsonDocument.Parse(relay.LastSubmit!.Body);
        Assert.Equal("kling-v2-6-pro", sent.RootElement.GetProperty("model").GetString());
        Assert.Equal("kling-2.6", task.GetProperty("model").GetString());
    }

    [Fact]
    public async Task ChannelOnlyModel_ChangedThroughAdminApi_FollowsTheChannel()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeVeoServer.StartNewAsync(ct);
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["Engine:RetryDelay"] = "00:00:00.200" });
        using var admin = app.AdminClient();
        using var client = await app.CreateClientWithKeyAsync("live", ct);
        const string body = """{"model":"veo-next","prompt":"a cat"}""";

        using (var before = await PostAsync(client, "/v1/video/create", body, ct))
        {
            Assert.Equal(HttpStatusCode.BadRequest, before.StatusCode);
            var error = (await before.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error");
            Assert.StartsWith("Model 'veo-next' does not exist", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        using (var created = await PostAsync(admin, "/admin/channels",
            $$"""{"name":"veo-rt","provider":"veo","base_url":"{{fake.BaseUrl}}","api_key":"AIza-test","models":["veo-next"],"poll_interval_ms":100}""", ct))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        var listed = Assert.Single(await ListModelsAsync(client, ct), m => m.GetProperty("id").GetString() == "veo-next");
        Assert.Equal([4, 6, 8], listed.GetProperty("durations").EnumerateArray().Select(d => d.GetInt32()));
        var id = await client.CreateAsync(new { model = "veo-next", prompt = "a cat", orientation = "portrait" }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);
        Assert.Equal("completed", task.GetProperty("status").GetString());
        Assert.Contains("/models/veo-next:predictLongRunning", fake.LastSubmit!.Path, StringComparison.Ordinal);

        using (var renamed = await SendAsync(admin, HttpMethod.Patch, "/admin/channels/veo-rt", """{"models":["veo-later"]}""", ct))
        {
            Assert.Equal(HttpStatusCode.OK, renamed.StatusCode);
        }

        var ids = (await ListModelsAsync(client, ct)).Select(m => m.GetProperty("id").GetString()).ToList();
        Assert.Contains("veo-later", ids);
        Assert.DoesNotContain("veo-next", ids);
        using var after = await PostAsync(client, "/v1/video/create", body, ct);
        Assert.Equal(HttpStatusCode.BadRequest, after.StatusCode);
    }

    [Fact]
    public async Task CatalogName_ListedByAChannel_KeepsTheCatalogsCapabilities()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeXaiServer.StartNewAsync(ct);
        // An xAI channel naming a Veo catalog model by its alias: the catalog entry wins, once, under its own name.
        await using var app = Start([new ChannelSpec("odd", "xai", fake, Models: "veo-3.1-generate-001")], new Dictionary<string, string?> { ["Engine:Enabled"] = "false" });
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        var models = await ListModelsAsync(client, ct);

        Assert.Equal(["reelay-preview", "veo3.1"], models.Select(m => m.GetProperty("id").GetString()).Order(StringComparer.Ordinal));
        var veo = models.Single(m => m.GetProperty("id").GetString() == "veo3.1");
        Assert.Equal([4, 6, 8], veo.GetProperty("durations").EnumerateArray().Select(d => d.GetInt32()));
    }

    private static async Task<JsonElement[]> ListModelsAsync(HttpClient client, CancellationToken ct)
    {
        var list = await client.GetFromJsonAsync<JsonElement>("/v1/models", ct);
        return [.. list.GetProperty("data").EnumerateArray()];
    }

    private static Task<HttpResponseMessage> PostAsync(HttpClient client, string path, string json, CancellationToken ct) =>
        SendAsync(client, HttpMethod.Post, path, json, ct);

    private static Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string path, string json, CancellationToken ct) =>
        client.SendAsync(new HttpRequestMessage(method, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") }, ct);
}
