using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Reelay.Testing;
using Reelay.Testing.Fakes;
using static Reelay.IntegrationTests.Channels.UpstreamGateway;

namespace Reelay.IntegrationTests.Channels;

/// <summary>
/// Retirement set at run time, for both kinds of model: a catalog entry's <c>retired</c> through
/// <c>/admin/models</c>, and a channel's <c>retired_models</c> for names only a channel lists (through the
/// admin API or configuration). Refused naming the replacement, or run on it when redirected.
/// </summary>
public class RetiredModelsTests
{
    private static readonly Dictionary<string, string?> ApiOnly = new() { ["Engine:Enabled"] = "false", ["Limits:LocalAdmission"] = "false" };

    private static object HouseModel(object? retired = null) => new
    {
        aspect_ratios = new[] { "16:9" },
        sizes = new[] { "480P" },
        durations = new[] { 1 },
        default_duration = 1,
        upstream_models = new Dictionary<string, string> { ["local"] = "reelay-preview" },
        retired,
    };

    [Fact]
    public async Task CatalogEntry_RetiredThroughTheAdminApi_IsRefusedNamingItsReplacement_ThenRedirected()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        using var admin = app.AdminClient();
        await ExpectAsync(await admin.PutAsJsonAsync("/admin/models/house-new", HouseModel(), ct), HttpStatusCode.OK, ct);
        var set = await ExpectAsync(await admin.PutAsJsonAsync("/admin/models/house-old",
            HouseModel(new { on = "2026-01-15", replaced_by = "house-new" }), ct), HttpStatusCode.OK, ct);
        Assert.Equal("2026-01-15", set.GetProperty("retired").GetProperty("on").GetString());
        Assert.Equal("house-new", set.GetProperty("retired").GetProperty("replaced_by").GetString());
        Assert.False(set.GetProperty("retired").GetProperty("redirect").GetBoolean());

        using var client = await app.CreateClientWithKeyAsync(cancellationToken: ct);
        var refused = await ExpectAsync(await client.PostAsJsonAsync("/v1/video/create", new { model = "house-old", prompt = "a lamp" }, ct), HttpStatusCode.BadRequest, ct);
        Assert.Equal("model_retired", refused.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("retired on 2026-01-15: use 'house-new' instead", refused.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(await ModelIdsAsync(client, ct), id => id == "house-old");

        await ExpectAsync(await admin.PutAsJsonAsync("/admin/models/house-old",
            HouseModel(new { on = "2026-01-15", replaced_by = "house-new", redirect = true }), ct), HttpStatusCode.OK, ct);
        using var moved = await client.PostAsJsonAsync("/v1/video/create", new { model = "house-old", prompt = "a lamp" }, ct);
        var task = await ExpectAsync(moved, HttpStatusCode.OK, ct);
        Assert.Equal("house-old; replaced-by=house-new; retired=2026-01-15", Assert.Single(moved.Headers.GetValues("Reelay-Model-Redirect")));
        Assert.StartsWith("house-new:", task.GetProperty("id").GetString(), StringComparison.Ordinal);

        // Back in service: retired null clears it.
        var cleared = await ExpectAsync(await admin.PutAsJsonAsync("/admin/models/house-old", HouseModel(), ct), HttpStatusCode.OK, ct);
        Assert.Equal(JsonValueKind.Null, cleared.GetProperty("retired").ValueKind);
        await ExpectAsync(await client.PostAsJsonAsync("/v1/video/create", new { model = "house-old", prompt = "a lamp" }, ct), HttpStatusCode.OK, ct);
    }

    [Theory]
    [InlineData("""{"on":"soon","replaced_by":"house-new"}""", "retired.on", "invalid_value")]
    [InlineData("""{"replaced_by":"house-new"}""", "retired.on", "missing_field")]
    [InlineData("""{"on":"2026-01-15"}""", "retired.replaced_by", "missing_field")]
    [InlineData("""{"on":"2026-01-15","replaced_by":"house-new","redirect":"yes"}""", "retired.redirect", "invalid_type")]
    [InlineData("""{"on":"2026-01-15","replaced_by":"house-new","when":1}""", "retired.when", "unknown_field")]
    [InlineData("\"2026-01-15\"", "retired", "invalid_type")]
    public async Task CatalogEntry_BadRetirement_Answers400NamingTheField(string retired, string param, string code)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        using var admin = app.AdminClient();
        var body = $$"""{"aspect_ratios":["16:9"],"sizes":["480P"],"retired":{{retired}}}""";

        using var answer = await admin.PutAsync("/admin/models/house-old", new StringContent(body, Encoding.UTF8, "application/json"), ct);
        var error = (await ExpectAsync(answer, HttpStatusCode.BadRequest, ct)).GetProperty("error");

        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.Contains(param, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        await ExpectAsync(await admin.GetAsync("/admin/models/house-old", ct), HttpStatusCode.NotFound, ct);
    }

    [Fact]
    public async Task CatalogEntry_RetiredForAModelNotInTheCatalog_IsRefusedByTheStartupRules()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        using var admin = app.AdminClient();

        var error = (await ExpectAsync(await admin.PutAsJsonAsync("/admin/models/house-old",
            HouseModel(new { on = "2026-01-15", replaced_by = "no-such-model" }), ct), HttpStatusCode.BadRequest, ct)).GetProperty("error");

        Assert.Equal("invalid_model_entry", error.GetProperty("code").GetString());
        Assert.Contains("no-such-model", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChannelModel_RetiredThroughTheAdminApi_IsRefused_ThenRedirected_AndSurvivesRestart()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeXaiServer.StartNewAsync(ct);
        var dataDir = Path.Combine(Path.GetTempPath(), "reelay-retired-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using (var app = Start([], new Dictionary<string, string?>(), dataDir))
            {
                using var admin = app.AdminClient();
                var created = await ExpectAsync(await SendJsonAsync(admin, HttpMethod.Post, "/admin/channels",
                    $$"""{"name":"xai-rt","provider":"xai","base_url":"{{fake.BaseUrl}}","api_key":"k","poll_interval_ms":100,"models":["house-old=grok-imagine-video","house-new=grok-imagine-video"],"retired_models":""" + """{"house-old":{"on":"2026-02-01","replaced_by":"house-new"}}}""", ct),
                    HttpStatusCode.Created, ct);
                Assert.Equal("house-new", created.GetProperty("retired_models").GetProperty("house-old").GetProperty("replaced_by").GetString());

                using var client = await app.CreateClientWithKeyAsync("live", ct);
                var refused = await ExpectAsync(await client.PostAsJsonAsync("/v1/videos", new { model = "house-old", prompt = "a cat" }, ct), HttpStatusCode.BadRequest, ct);
                Assert.Equal("model_retired", refused.GetProperty("error").GetProperty("code").GetString());
                Assert.Contains("use 'house-new' instead", refused.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
                Assert.Equal(0, fake.Submissions);
                Assert.DoesNotContain(await ModelIdsAsync(client, ct), id => id == "house-old");

                await ExpectAsync(await SendJsonAsync(admin, HttpMethod.Patch, "/admin/channels/xai-rt",
                    """{"retired_models":{"house-old":{"on":"2026-02-01","replaced_by":"house-new","redirect":true}}}""", ct), HttpStatusCode.OK, ct);
            }

            await using (var restarted = Start([], new Dictionary<string, string?>(), dataDir))
            {
                using var client = await restarted.CreateClientWithKeyAsync("live", ct);
                Assert.Contains(await ModelIdsAsync(client, ct), id => id == "house-old");
                using var moved = await client.PostAsJsonAsync("/v1/video/create", new { model = "house-old", prompt = "a cat" }, ct);
                var id = (await ExpectAsync(moved, HttpStatusCode.OK, ct)).GetProperty("id").GetString()!;
                Assert.Equal("house-old; replaced-by=house-new; retired=2026-02-01", Assert.Single(moved.Headers.GetValues("Reelay-Model-Redirect")));
                var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);
                Assert.Equal("completed", task.GetProperty("status").GetString());
                Assert.Equal("house-new", task.GetProperty("model").GetString());

                // null puts it back in service.
                using var admin = restarted.AdminClient();
                var patched = await ExpectAsync(await SendJsonAsync(admin, HttpMethod.Patch, "/admin/channels/xai-rt", """{"retired_models":null}""", ct), HttpStatusCode.OK, ct);
                Assert.Empty(patched.GetProperty("retired_models").EnumerateObject());
                using var again = await client.PostAsJsonAsync("/v1/video/create", new { model = "house-old", prompt = "a cat" }, ct);
                await ExpectAsync(again, HttpStatusCode.OK, ct);
                Assert.False(again.Headers.Contains("Reelay-Model-Redirect"));
            }
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Theory]
    [InlineData("""{"house-gone":{"on":"2026-02-01","replaced_by":"house-new"}}""", "retired_models", "not among the channel's Models")]
    [InlineData("""{"house-old":{"on":"2026-02-01","replaced_by":"house-old"}}""", "retired_models", "must name another model")]
    [InlineData("""{"grok-video-3":{"on":"2026-02-01","replaced_by":"house-new"}}""", "retired_models", "is a catalog model")]
    [InlineData("""{"house-old":{"replaced_by":"house-new"}}""", "retired_models.house-old.on", "retires")]
    [InlineData("""["house-old"]""", "retired_models", "an object")]
    public async Task ChannelModel_BadRetirement_Answers400NamingTheField(string retired, string param, string messagePart)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        using var admin = app.AdminClient();

        var error = (await ExpectAsync(await SendJsonAsync(admin, HttpMethod.Post, "/admin/channels",
            """{"name":"xai-rt","provider":"xai","api_key":"k","models":["house-old","house-new","grok-video-3"],"retired_models":""" + retired + "}", ct),
            HttpStatusCode.BadRequest, ct)).GetProperty("error");

        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Contains(messagePart, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        await ExpectAsync(await admin.GetAsync("/admin/channels/xai-rt", ct), HttpStatusCode.NotFound, ct);
    }

    [Fact]
    public async Task ChannelModel_RetiredInConfiguration_IsRefusedNamingItsReplacement()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeXaiServer.StartNewAsync(ct);
        await using var app = Start([new ChannelSpec("xai", "xai", fake, Models: "house-old=grok-imagine-video")], new Dictionary<string, string?>
        {
            ["Channels:0:Models:1"] = "house-new=grok-imagine-video",
            ["Channels:0:RetiredModels:house-old:On"] = "2026-03-01",
            ["Channels:0:RetiredModels:house-old:ReplacedBy"] = "house-new",
        });
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        var refused = await ExpectAsync(await client.PostAsJsonAsync("/v1/video/create", new { model = "house-old", prompt = "a cat" }, ct), HttpStatusCode.BadRequest, ct);

        Assert.Equal("model_retired", refused.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("retired on 2026-03-01: use 'house-new' instead", refused.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        using var admin = app.AdminClient();
        var channel = await admin.GetFromJsonAsync<JsonElement>("/admin/channels/xai", ct);
        Assert.Equal("2026-03-01", channel.GetProperty("retired_models").GetProperty("house-old").GetProperty("on").GetString());
    }

    private static async Task<JsonElement> ExpectAsync(HttpResponseMessage response, HttpStatusCode expected, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.StatusCode == expected, $"{(int)response.StatusCode}: {text}");
        using var json = JsonDocument.Parse(text);
        return json.RootElement.Clone();
    }

    private static Task<HttpResponseMessage> SendJsonAsync(HttpClient client, HttpMethod method, string path, string json, CancellationToken ct) =>
        client.SendAsync(new HttpRequestMessage(method, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") }, ct);

    private static async Task<IReadOnlyList<string?>> ModelIdsAsync(HttpClient client, CancellationToken ct)
    {
        var models = await client.GetFromJsonAsync<JsonElement>("/v1/models", ct);
        return [.. models.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString())];
    }
}
