using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Api.Admin;

/// <summary>
/// The catalog at run time over HTTP: an entry added or replaced through <c>/admin/models</c> is checked
/// by the rules startup applies, serves creates at once, survives a restart, is audited, and drops back
/// to the configuration's when deleted.
/// </summary>
public class AdminModelsApiTests
{
    private static readonly Dictionary<string, string?> ApiOnly = new() { ["Engine:Enabled"] = "false", ["Limits:LocalAdmission"] = "false" };

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response, HttpStatusCode expected, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.StatusCode == expected, $"{(int)response.StatusCode}: {text}");
        using var json = JsonDocument.Parse(text);
        return json.RootElement.Clone();
    }

    /// <summary>A valid run-time entry served by the local renderer (other suites add it too).</summary>
    internal static object HousePreview => new
    {
        description = "The house preview: one second, small.",
        aliases = new[] { "house-preview-v1" },
        id_prefix = "house",
        aspect_ratios = new[] { "16:9", "9:16" },
        sizes = new[] { "480P" },
        durations = new[] { 1 },
        default_duration = 1,
        max_images = 0,
        max_lifetime_seconds = 300,
        upstream_models = new Dictionary<string, string> { ["local"] = "reelay-preview" },
    };

    [Fact]
    public async Task Put_NewModel_RendersAtOnce_ListedWithItsAlias_SurvivesRestart_DeleteRemovesIt()
    {
        var ct = TestContext.Current.CancellationToken;
        var dataDir = Path.Combine(Path.GetTempPath(), "reelay-models-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using (var app = ReelayApp.Start(dataDir: dataDir))
            {
                using var admin = app.AdminClient();
                var set = await JsonAsync(await admin.PutAsJsonAsync("/admin/models/house-preview", HousePreview, ct), HttpStatusCode.OK, ct);
                Assert.Equal("admin", set.GetProperty("source").GetString());
                Assert.Equal(300, set.GetProperty("max_lifetime_seconds").GetInt64());

                using var client = await app.CreateClientWithKeyAsync(cancellationToken: ct);
                var models = await client.GetFromJsonAsync<JsonElement>("/v1/models", ct);
                Assert.Contains(models.GetProperty("data").EnumerateArray(), m => m.GetProperty("id").GetString() == "house-preview");

                // By its alias, and rendered by the local channel its upstream_models names.
                var created = await JsonAsync(await client.PostAsJsonAsync("/v1/video/create", new { model = "house-preview-v1", prompt = "a lamp", aspect_ratio = "9:16" }, ct), HttpStatusCode.OK, ct);
                var id = created.GetProperty("id").GetString()!;
                Assert.StartsWith("house:", id, StringComparison.Ordinal);
                var done = await VideoTasks.WaitForEndAsync(client, id, TimeSpan.FromMinutes(2), ct);
                Assert.Equal("completed", done.GetProperty("status").GetString());
                Assert.Equal("house-preview", done.GetProperty("model").GetString());
                Assert.Equal(480, done.GetProperty("width").GetInt32());
                Assert.Equal(1, done.GetProperty("duration").GetInt32());

                // What it does not allow is refused as for a configured model.
                var tooLong = await JsonAsync(await client.PostAsJsonAsync("/v1/video/create", new { model = "house-preview", prompt = "a lamp", duration = 5 }, ct), HttpStatusCode.BadRequest, ct);
                Assert.Contains("1", tooLong.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
            }

            await using (var restarted = ReelayApp.Start(dataDir: dataDir))
            {
                using var admin = restarted.AdminClient();
                var read = await JsonAsync(await admin.GetAsync("/admin/models/house-preview-v1", ct), HttpStatusCode.OK, ct);
                Assert.Equal("house-preview", read.GetProperty("name").GetString());
                Assert.Equal("admin", read.GetProperty("source").GetString());

                await JsonAsync(await admin.DeleteAsync("/admin/models/house-preview", ct), HttpStatusCode.OK, ct);
                await JsonAsync(await admin.GetAsync("/admin/models/house-preview", ct), HttpStatusCode.NotFound, ct);
                using var client = await restarted.CreateClientWithKeyAsync(cancellationToken: ct);
                var gone = await JsonAsync(await client.PostAsJsonAsync("/v1/video/create", new { model = "house-preview", prompt = "a lamp" }, ct), HttpStatusCode.BadRequest, ct);
                Assert.Equal("model_not_found", gone.GetProperty("error").GetProperty("code").GetString());

                var audit = await admin.GetFromJsonAsync<JsonElement>("/admin/audit?target_type=model&target_id=house-preview", ct);
                Assert.Equal(["model.delete", "model.set"], audit.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("action").GetString()));
            }
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Fact]
    public async Task Put_ConfiguredModel_ReplacesItUntilDeleted_ThenTheConfigurationsEntryIsBack()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        using var admin = app.AdminClient();
        using var client = await app.CreateClientWithKeyAsync(cancellationToken: ct);
        var configured = await JsonAsync(await admin.GetAsync("/admin/models/reelay-preview", ct), HttpStatusCode.OK, ct);
        Assert.Equal("configuration", configured.GetProperty("source").GetString());
        Assert.Equal(15, configured.GetProperty("max_duration").GetInt32());

        await JsonAsync(await admin.PutAsJsonAsync("/admin/models/Reelay-Preview", new
        {
            aspect_ratios = new[] { "16:9" },
            sizes = new[] { "480P" },
            min_duration = 1,
            max_duration = 3,
            default_duration = 2,
            upstream_models = new Dictionary<string, string> { ["local"] = "reelay-preview" },
        }, ct), HttpStatusCode.OK, ct);

        // Under the configured spelling, and in force for the next create.
        var replaced = await JsonAsync(await admin.GetAsync("/admin/models/reelay-preview", ct), HttpStatusCode.OK, ct);
        Assert.Equal("reelay-preview", replaced.GetProperty("name").GetString());
        Assert.Equal("admin", replaced.GetProperty("source").GetString());
        var refused = await JsonAsync(await client.PostAsJsonAsync("/v1/video/create", new { model = "reelay-preview", prompt = "x", duration = 6 }, ct), HttpStatusCode.BadRequest, ct);
        Assert.Contains("1–3", refused.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);

        var restored = await JsonAsync(await admin.DeleteAsync("/admin/models/reelay-preview", ct), HttpStatusCode.OK, ct);
        Assert.Equal("configuration", restored.GetProperty("source").GetString());
        Assert.Equal(15, restored.GetProperty("max_duration").GetInt32());
        await JsonAsync(await client.PostAsJsonAsync("/v1/video/create", new { model = "reelay-preview", prompt = "x", duration = 6 }, ct), HttpStatusCode.OK, ct);

        // A configured entry is changed in configuration; only a run-time one can be deleted.
        var notSet = await JsonAsync(await admin.DeleteAsync("/admin/models/reelay-preview", ct), HttpStatusCode.NotFound, ct);
        Assert.Contains("configuration entries are changed there", notSet.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("house", """{"sizes":["480P"]}""", "lists no aspect_ratios")]
    [InlineData("house", """{"aspect_ratios":["16x9"],"sizes":["480P"]}""", "aspect ratio '16x9' is not of the form W:H")]
    [InlineData("house", """{"aspect_ratios":["16:9"],"sizes":["720"]}""", "size '720' is not one of")]
    [InlineData("house", """{"aspect_ratios":["16:9"],"sizes":["480P"],"durations":[4,8],"default_duration":6}""", "default_duration 6 is not among its durations (4, 8)")]
    [InlineData("house", """{"aspect_ratios":["16:9"],"sizes":["480P"],"aliases":["grok-imagine-video"]}""", "'grok-imagine-video' is used by both 'grok-video-3' and 'house'")]
    [InlineData("house", """{"aspect_ratios":["16:9"],"sizes":["480P"],"colour":"red"}""", "'colour' is not a catalog entry field")]
    [InlineData("house", """{"aspect_ratios":"16:9","sizes":["480P"]}""", "'aspect_ratios' must be an array of strings, got a string")]
    [InlineData("house", """{"aspect_ratios":["16:9"],"sizes":["480P"],"durations":[0]}""", "'durations' must be an array of at most 64 whole seconds from 1 to 3600")]
    [InlineData("house", """{"aspect_ratios":["16:9"],"sizes":["480P"],"upstream_models":{"xai":3}}""", "'upstream_models.xai' must be a string, got a number")]
    [InlineData("house", """{"aspect_ratios":["16:9"],"sizes":["480P"],"max_lifetime_seconds":1}""", "'max_lifetime_seconds' must be between 10 and 604800")]
    [InlineData("bad%20name", """{"aspect_ratios":["16:9"],"sizes":["480P"]}""", "cannot name a model")]
    [InlineData("grok-imagine-video", """{"aspect_ratios":["16:9"],"sizes":["480P"]}""", "is an alias of 'grok-video-3'")]
    [InlineData("house", "[1]", "must be a JSON object")]
    public async Task Put_BadEntry_400NamingWhatToFix_AndNothingChanges(string name, string body, string expected)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        using var admin = app.AdminClient();
        var before = await admin.GetStringAsync("/admin/models", ct);

        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        var error = await JsonAsync(await admin.PutAsync($"/admin/models/{name}", content, ct), HttpStatusCode.BadRequest, ct);
        Assert.Contains(expected, error.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);

        Assert.Equal(before, await admin.GetStringAsync("/admin/models", ct));
        var audit = await admin.GetFromJsonAsync<JsonElement>("/admin/audit?target_type=model", ct);
        Assert.Empty(audit.GetProperty("data").EnumerateArray());
    }

    [Fact]
    public async Task Models_ClientKey_Forbidden()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        using var client = await app.CreateClientWithKeyAsync(cancellationToken: ct);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/admin/models", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.PutAsJsonAsync("/admin/models/house", HousePreview, ct)).StatusCode);
    }
}
