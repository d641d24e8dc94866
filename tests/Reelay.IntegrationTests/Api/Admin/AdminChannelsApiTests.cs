using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Reelay.Testing;
using Reelay.Testing.Fakes;

namespace Reelay.IntegrationTests.Api.Admin;

/// <summary>Channels managed at run time: stored, used for routing, secrets write-only, configuration read-only.</summary>
public class AdminChannelsApiTests
{
    [Fact]
    public async Task Channel_CreatedThroughAdminApi_RoutesTasksAndSurvivesRestart()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeXaiServer.StartNewAsync(ct);
        var dataDir = Path.Combine(Path.GetTempPath(), "reelay-channels-" + Guid.NewGuid().ToString("N"));
        const string secret = "xai-runtime-secret-123";

        await using (var app = ReelayApp.Start(dataDir: dataDir))
        {
            using var admin = app.AdminClient();
            using var created = await PostJsonAsync(admin, "/admin/channels",
                $$"""{"name":"xai-rt","provider":"xai","base_url":"{{fake.BaseUrl}}","api_key":"{{secret}}","poll_interval_ms":100,"submits_per_minute":100}""", ct);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var body = await created.Content.ReadAsStringAsync(ct);
            Assert.DoesNotContain(secret, body, StringComparison.Ordinal);
            using var view = JsonDocument.Parse(body);
            Assert.True(view.RootElement.GetProperty("has_api_key").GetBoolean());
            Assert.Equal("admin", view.RootElement.GetProperty("source").GetString());
            Assert.Equal(100, view.RootElement.GetProperty("poll_interval_ms").GetInt64());

            using var client = await app.CreateClientWithKeyAsync("live", ct);
            var id = await client.CreateAsync(new { model = "grok-video-3", prompt = "a cat" }, ct);
            var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);
            Assert.Equal("completed", task.GetProperty("status").GetString());
            Assert.Equal("Bearer " + secret, fake.LastSubmit!.Header("Authorization"));

            var list = await admin.GetStringAsync("/admin/channels", ct);
            Assert.Contains("xai-rt", list, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, list, StringComparison.Ordinal);
        }

        await using (var restarted = ReelayApp.Start(dataDir: dataDir))
        {
            using var admin = restarted.AdminClient();
            var channel = await admin.GetFromJsonAsync<JsonElement>("/admin/channels/xai-rt", ct);
            Assert.Equal("xai", channel.GetProperty("provider").GetString());

            using var disabled = await SendJsonAsync(admin, HttpMethod.Patch, "/admin/channels/xai-rt", """{"enabled":false,"priority":3}""", ct);
            Assert.Equal(HttpStatusCode.OK, disabled.StatusCode);
            var patched = await disabled.Content.ReadFromJsonAsync<JsonElement>(ct);
            Assert.False(patched.GetProperty("enabled").GetBoolean());
            Assert.Equal(3, patched.GetProperty("priority").GetInt32());
            Assert.True(patched.GetProperty("has_api_key").GetBoolean());

            // Disabled: no channel serves the model any more.
            using var client = await restarted.CreateClientWithKeyAsync("live", ct);
            using var refused = await PostJsonAsync(client, "/v1/video/create", """{"model":"grok-video-3","prompt":"a cat"}""", ct);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);

            using var deleted = await admin.DeleteAsync("/admin/channels/xai-rt", ct);
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
            using var gone = await admin.GetAsync("/admin/channels/xai-rt", ct);
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        }

        Directory.Delete(dataDir, recursive: true);
    }

    [Theory]
    [InlineData("""{"provider":"xai"}""", 400, "name")]
    [InlineData("""{"name":"x"}""", 400, "provider")]
    [InlineData("""{"name":"x","provider":"altavista"}""", 400, "not one of")]
    [InlineData("""{"name":"x","provider":"unified"}""", 400, "BaseUrl")]
    [InlineData("""{"name":"x","provider":"xai","base_url":"ftp://h"}""", 400, "http(s)")]
    [InlineData("""{"name":"bad name!","provider":"xai"}""", 400, "letters, digits")]
    [InlineData("""{"name":"x","provider":"xai","weight":0}""", 400, "weight")]
    [InlineData("""{"name":"x","provider":"seedance","public_callback_base_url":"ftp://reelay.example.com/"}""", 400, "absolute http(s)")]
    [InlineData("""{"name":"x","provider":"seedance","public_callback_base_url":"/callbacks"}""", 400, "absolute http(s)")]
    [InlineData("""{"name":"x","provider":"seedance","public_callback_base_url":"https://reelay.example.com/?via=cdn"}""", 400, "query or fragment")]
    [InlineData("""{"name":"x","provider":"seedance","public_callback_base_url":true}""", 400, "public_callback_base_url")]
    [InlineData("""{"name":"configured","provider":"xai"}""", 409, "already exists")]
    [InlineData("""{"name":"local","provider":"xai"}""", 409, "already exists")]
    public async Task Create_BadChannel_AnswersWithWhatToFix(string body, int status, string messagePart)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(new Dictionary<string, string?>
        {
            ["Channels:0:Name"] = "configured",
            ["Channels:0:Provider"] = "xai",
            ["Channels:0:ApiKey"] = "k",
        });
        using var admin = app.AdminClient();

        using var response = await PostJsonAsync(admin, "/admin/channels", body, ct);

        Assert.Equal(status, (int)response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error");
        Assert.Contains(messagePart, error.GetProperty("message").GetString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Channel_PublicCallbackBaseUrl_IsStoredShownPatchableAndCleared()
    {
        var ct = TestContext.Current.CancellationToken;
        var dataDir = Path.Combine(Path.GetTempPath(), "reelay-channels-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using (var app = ReelayApp.Start(dataDir: dataDir))
            {
                using var admin = app.AdminClient();
                using var created = await PostJsonAsync(admin, "/admin/channels",
                    """{"name":"ark","provider":"seedance","api_key":"k","public_callback_base_url":"https://reelay.example.com"}""", ct);
                Assert.Equal(HttpStatusCode.Created, created.StatusCode);
                Assert.Equal("https://reelay.example.com/", (await created.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("public_callback_base_url").GetString());

                using var patched = await SendJsonAsync(admin, HttpMethod.Patch, "/admin/channels/ark", """{"public_callback_base_url":"https://edge.example.com/reelay/"}""", ct);
                Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
                using var refused = await SendJsonAsync(admin, HttpMethod.Patch, "/admin/channels/ark", """{"public_callback_base_url":"https://edge.example.com/#x"}""", ct);
                var error = (await refused.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error");
                Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
                Assert.Equal("public_callback_base_url", error.GetProperty("param").GetString());
            }

            // Stored: a restart reads it back; null clears it.
            await using (var app = ReelayApp.Start(dataDir: dataDir))
            {
                using var admin = app.AdminClient();
                var view = await admin.GetFromJsonAsync<JsonElement>("/admin/channels/ark", ct);
                Assert.Equal("https://edge.example.com/reelay/", view.GetProperty("public_callback_base_url").GetString());

                using var cleared = await SendJsonAsync(admin, HttpMethod.Patch, "/admin/channels/ark", """{"public_callback_base_url":null}""", ct);
                Assert.Equal(JsonValueKind.Null, (await cleared.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("public_callback_base_url").ValueKind);
            }
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Fact]
    public async Task ConfiguredChannel_PatchOrDelete_Answers409AndIsListedWithoutItsKey()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(new Dictionary<string, string?>
        {
            ["Channels:0:Name"] = "configured",
            ["Channels:0:Provider"] = "xai",
            ["Channels:0:ApiKey"] = "configured-secret",
        });
        using var admin = app.AdminClient();

        using var patch = await SendJsonAsync(admin, HttpMethod.Patch, "/admin/channels/configured", """{"enabled":false}""", ct);
        using var delete = await admin.DeleteAsync("/admin/channels/configured", ct);
        var list = await admin.GetStringAsync("/admin/channels", ct);

        Assert.Equal(HttpStatusCode.Conflict, patch.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, delete.StatusCode);
        Assert.Contains("\"source\":\"config\"", list, StringComparison.Ordinal);
        Assert.DoesNotContain("configured-secret", list, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Channels_WithClientKey_Answer403()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        using var response = await client.GetAsync("/admin/channels", ct);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    private static Task<HttpResponseMessage> PostJsonAsync(HttpClient client, string path, string json, CancellationToken ct) =>
        SendJsonAsync(client, HttpMethod.Post, path, json, ct);

    private static Task<HttpResponseMessage> SendJsonAsync(HttpClient client, HttpMethod method, string path, string json, CancellationToken ct) =>
        client.SendAsync(new HttpRequestMessage(method, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") }, ct);
}
