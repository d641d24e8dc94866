using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Reelay.Blobs.LocalDisk;
using Reelay.Keys;
using Reelay.Secrets;
using Reelay.Storage.Sqlite;
using Reelay.Testing;
using Reelay.Testing.Fakes;

namespace Reelay.IntegrationTests.Secrets;

/// <summary>
/// Stored secrets end to end: encrypted in the database with the key ring kept apart, upgraded from
/// plain text, never in logs, answers or files, refused loudly when the ring is wrong, disabled quietly
/// one by one when a value is damaged, and rotated without breaking a channel or a link.
/// </summary>
public sealed class SecretsAtRestTests : IDisposable
{
    /// <summary>The last schema version whose channels kept <c>api_key</c> in plain text.</summary>
    private const int PlainTextSchemaVersion = 4;

    private static readonly TimeSpan TaskTimeout = TimeSpan.FromSeconds(60);

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

    private string NewDataDir()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "reelay-secrets-" + Guid.NewGuid().ToString("N"));
        _dataDirs.Add(dataDir);
        return dataDir;
    }

    private static string NewSecret(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N");

    private static async Task<string> AccountOfAsync(HttpClient admin, string keyId, CancellationToken ct)
    {
        using var key = JsonDocument.Parse(await SendAsync(admin, HttpMethod.Get, $"/admin/keys/{keyId}", HttpStatusCode.OK, null, ct));
        return key.RootElement.GetProperty("account_id").GetString()!;
    }

    [Fact]
    public async Task Upgrade_PlainTextApiKeysOfAnEarlierVersion_EncryptedOnFirstStartAndTheChannelStillWorks()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeXaiServer.StartNewAsync(ct);
        var dataDir = NewDataDir();
        Directory.CreateDirectory(dataDir);
        var served = NewSecret("xai-plain");
        var spare = NewSecret("relay-plain");

        // The database as the earlier version left it: its migrations, then rows as its store wrote them.
        var path = Path.Combine(dataDir, "reelay.db");
        using (var earlier = new SqliteDatabase(path, new StorageOptions(), TimeProvider.System, NullLogger<SqliteDatabase>.Instance))
        {
            await earlier.MigrateAsync(PlainTextSchemaVersion, ct);
        }

        await using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await connection.OpenAsync(ct);
            await using var insert = connection.CreateCommand();
            insert.CommandText = """
                INSERT INTO channels (name, provider, base_url, api_key, models_json, priority, weight, enabled, submits_per_minute, polls_per_minute, poll_interval_ms, created_at, updated_at)
                VALUES ('xai-old', 'xai', $fake, $served, '[]', 0, 1, 1, 100, 0, 100, 1795599491000, 1795599491000),
                       ('relay-old', 'unified', 'http://127.0.0.1:9', $spare, '["grok-video-3"]', 5, 1, 0, 0, 0, NULL, 1795599492000, 1795599492000)
                """;
            insert.Parameters.AddWithValue("$fake", fake.BaseUrl.ToString());
            insert.Parameters.AddWithValue("$served", served);
            insert.Parameters.AddWithValue("$spare", spare);
            await insert.ExecuteNonQueryAsync(ct);
        }

        Assert.True(ContainsAnywhere(DatabaseFiles(dataDir), served), "the earlier version's database holds the key in plain text");

        var logs = new CapturedLogs();
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["Logging:LogLevel:Reelay"] = "Information" }, dataDir, logs);

        Assert.Contains(logs.Lines, line => line.Contains("Encrypted 2 secrets (channels.api_key) that an earlier version stored in plain text", StringComparison.Ordinal));
        var rows = await ApiKeyColumnsAsync(path, ct);
        Assert.All(rows.Values, row => Assert.Null(row.Plain));
        Assert.All(rows.Values, row => Assert.NotNull(SecretProtector.KeyIdOf(row.Protected!)));
        // While it runs, before any other write: no copy of either key in the file or its WAL.
        Assert.False(ContainsAnywhere(DatabaseFiles(dataDir), served), "plain key left in the database file or its WAL");
        Assert.False(ContainsAnywhere(DatabaseFiles(dataDir), spare), "plain key left in the database file or its WAL");

        using var client = await app.CreateClientWithKeyAsync("live", ct);
        var id = await client.CreateAsync(new { model = "grok-video-3", prompt = "a cat" }, ct);
        var task = await client.WaitForEndAsync(id, TaskTimeout, ct);

        Assert.Equal("completed", task.GetProperty("status").GetString());
        Assert.Equal("Bearer " + served, fake.LastSubmit!.Header("Authorization"));
        using var admin = app.AdminClient();
        var spareChannel = await admin.GetFromJsonAsync<JsonElement>("/admin/channels/relay-old", ct);
        Assert.True(spareChannel.GetProperty("has_api_key").GetBoolean());
        Assert.False(spareChannel.GetProperty("enabled").GetBoolean());
    }

    [Fact]
    public async Task EndToEnd_ChannelKeysAndReelaysOwnKeys_NeverInLogsAnswersOrFiles()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var refusing = await FakeXaiServer.StartNewAsync(ct);
        refusing.Scenario = FakeScenario.Unauthorized;
        await using var serving = await FakeXaiServer.StartNewAsync(ct);
        var refusedKey = NewSecret("xai-refused");
        var servedKey = NewSecret("xai-served");
        var replacedKey = NewSecret("xai-replaced");
        var secretsKey = NewSecret("ring-seal") + Guid.NewGuid().ToString("N");
        var dataDir = NewDataDir();
        var logs = new CapturedLogs();
        var answers = new List<string>();
        string adminKey;
        string signingKey;
        var webhookSecret = "";

        await using (var app = ReelayApp.Start(new Dictionary<string, string?>
        {
            // Generated into the data directory, as on a first start.
            ["ADMIN_KEY"] = "",
            ["SECRETS_KEY"] = secretsKey,
            ["Logging:LogLevel:Default"] = "Trace",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace",
            ["Logging:LogLevel:System.Net.Http.HttpClient"] = "Trace",
            ["Logging:LogLevel:Microsoft.Extensions.Diagnostics.HealthChecks"] = "Trace",
        }, dataDir, logs))
        {
            adminKey = File.ReadAllText(Path.Combine(dataDir, KeyOptions.AdminKeyFileName)).Trim();
            signingKey = Encoding.UTF8.GetString(app.Services.GetRequiredService<FileSigningKeys>().Signing);
            using var admin = app.ClientFor(adminKey);

            answers.Add(await SendAsync(admin, HttpMethod.Post, "/admin/channels", HttpStatusCode.Created,
                $$"""{"name":"xai-refuses","provider":"xai","base_url":"{{refusing.BaseUrl}}","api_key":"{{refusedKey}}","priority":0,"poll_interval_ms":100}""", ct));
            answers.Add(await SendAsync(admin, HttpMethod.Post, "/admin/channels", HttpStatusCode.Created,
                $$"""{"name":"xai-serves","provider":"xai","base_url":"{{serving.BaseUrl}}","api_key":"{{servedKey}}","priority":1,"poll_interval_ms":100}""", ct));
            var created = await ClientKeys.CreateAsync(admin, adminKey, "live", cancellationToken: ct);
            using var client = app.ClientFor(created.Key);

            var first = await client.CreateAsync(new { model = "grok-video-3", prompt = "a cat" }, ct);
            Assert.Equal("completed", (await client.WaitForEndAsync(first, TaskTimeout, ct)).GetProperty("status").GetString());
            Assert.Equal("Bearer " + refusedKey, refusing.LastSubmit!.Header("Authorization"));
            Assert.Equal("Bearer " + servedKey, serving.LastSubmit!.Header("Authorization"));

            answers.Add(await SendAsync(admin, HttpMethod.Patch, "/admin/channels/xai-serves", HttpStatusCode.OK, $$"""{"api_key":"{{replacedKey}}"}""", ct));
            var second = await client.CreateAsync(new { model = "grok-video-3", prompt = "a dog" }, ct);
            Assert.Equal("completed", (await client.WaitForEndAsync(second, TaskTimeout, ct)).GetProperty("status").GetString());
            Assert.Equal("Bearer " + replacedKey, serving.LastSubmit!.Header("Authorization"));

            answers.Add(await SendAsync(client, HttpMethod.Get, "/v1/video/query?id=" + Uri.EscapeDataString(first), HttpStatusCode.OK, null, ct));
            var route = await SendAsync(admin, HttpMethod.Get, "/admin/tasks/" + Uri.EscapeDataString(first), HttpStatusCode.OK, null, ct);
            Assert.Contains("xai-refuses", route, StringComparison.Ordinal);
            answers.Add(route);
            answers.Add(await SendAsync(admin, HttpMethod.Get, "/admin/channels", HttpStatusCode.OK, null, ct));
            answers.Add(await SendAsync(admin, HttpMethod.Get, "/admin/channels/xai-serves", HttpStatusCode.OK, null, ct));
            // Shown once, in an answer that is not kept: from then on it exists only encrypted.
            using (var shown = JsonDocument.Parse(await SendAsync(admin, HttpMethod.Post, $"/admin/accounts/{await AccountOfAsync(admin, created.Id, ct)}/webhook-secret", HttpStatusCode.OK, null, ct)))
            {
                webhookSecret = shown.RootElement.GetProperty("secret").GetString()!;
            }

            answers.Add(await SendAsync(admin, HttpMethod.Post, "/admin/secrets/rotate", HttpStatusCode.OK, "{}", ct));
            answers.Add(await SendAsync(admin, HttpMethod.Get, "/admin/secrets", HttpStatusCode.OK, null, ct));
            answers.Add(await SendAsync(app.CreateClient(), HttpMethod.Get, "/readyz", HttpStatusCode.OK, null, ct));
            answers.Add(await SendAsync(admin, HttpMethod.Patch, "/admin/channels/xai-serves", HttpStatusCode.BadRequest, """{"api_key":42}""", ct));
        }

        // The capture saw the traffic at Trace, so an empty log cannot pass for a clean one.
        Assert.Contains(logs.Lines, line => line.Contains("/admin/channels", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, line => line.StartsWith("Trace ", StringComparison.Ordinal));

        var files = Directory.EnumerateFiles(dataDir, "*", SearchOption.AllDirectories)
            .Select(file => (Where: Path.GetRelativePath(dataDir, file), Bytes: File.ReadAllBytes(file)))
            .ToList();
        Assert.Contains(files, file => file.Where == "reelay.db");
        var places = new List<(string Where, byte[] Bytes)> { ("the logs", Encoding.UTF8.GetBytes(logs.Text)) };
        places.AddRange(answers.Select((answer, i) => ($"answer {i}", Encoding.UTF8.GetBytes(answer))));
        foreach (var (name, secret) in new[] { ("refused channel key", refusedKey), ("served channel key", servedKey), ("replaced channel key", replacedKey), ("SECRETS_KEY", secretsKey), ("file signing key", signingKey), ("webhook signing secret", webhookSecret["whsec_".Length..]) })
        {
            foreach (var (where, bytes) in places.Concat(files))
            {
                Assert.False(Contains(bytes, secret), $"The {name} appears in {where}.");
            }
        }

        // The generated admin key lives in its own file, for the operator to read, and nowhere else.
        foreach (var (where, bytes) in places.Concat(files.Where(file => file.Where != KeyOptions.AdminKeyFileName)))
        {
            Assert.False(Contains(bytes, adminKey), $"The admin key appears in {where}.");
        }
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("another")]
    public async Task Start_KeyRingMissingOrAnother_StopsNamingTheSettingAndWritesNoKey(string ring)
    {
        var ct = TestContext.Current.CancellationToken;
        var dataDir = NewDataDir();
        var otherDir = NewDataDir();
        await using (var app = ReelayApp.Start(dataDir: dataDir))
        {
            using var admin = app.AdminClient();
            await SendAsync(admin, HttpMethod.Post, "/admin/channels", HttpStatusCode.Created,
                """{"name":"xai-main","provider":"xai","base_url":"http://127.0.0.1:9","api_key":"xai-kept-secret"}""", ct);
        }

        var environment = new Dictionary<string, string>();
        string keyRing;
        if (ring == "missing")
        {
            keyRing = Path.Combine(dataDir, "keys");
            Directory.Delete(keyRing, recursive: true);
        }
        else
        {
            // Another installation's ring, with keys of its own.
            await using (ReelayApp.Start(dataDir: otherDir))
            {
            }

            keyRing = Path.Combine(otherDir, "keys");
            environment["REELAY_SECRETS_KEY_RING"] = keyRing;
        }

        var keysBefore = Directory.Exists(keyRing) ? Directory.GetFiles(keyRing, "*.xml").Length : 0;

        var output = await StartFailsAsync(dataDir, environment, ct);

        Assert.Contains("REELAY_SECRETS_KEY_RING", output, StringComparison.Ordinal);
        Assert.Contains("None of the 2 stored secrets (channels.api_key, files.signing_keys) can be decrypted", output, StringComparison.Ordinal);
        Assert.Contains(keyRing, output, StringComparison.Ordinal);
        Assert.DoesNotContain("xai-kept-secret", output, StringComparison.Ordinal);
        Assert.Equal(keysBefore, Directory.Exists(keyRing) ? Directory.GetFiles(keyRing, "*.xml").Length : 0);
    }

    [Fact]
    public async Task Start_SecretsKeyMissingOrWrong_StopsNamingIt_AndTheRightOneOpensTheRing()
    {
        var ct = TestContext.Current.CancellationToken;
        var dataDir = NewDataDir();
        var secretsKey = NewSecret("seal") + Guid.NewGuid().ToString("N");
        await using (var app = ReelayApp.Start(new Dictionary<string, string?> { ["SECRETS_KEY"] = secretsKey }, dataDir))
        {
            using var admin = app.AdminClient();
            await SendAsync(admin, HttpMethod.Post, "/admin/channels", HttpStatusCode.Created,
                """{"name":"xai-main","provider":"xai","base_url":"http://127.0.0.1:9","api_key":"xai-sealed-secret"}""", ct);
        }

        Assert.All(Directory.GetFiles(Path.Combine(dataDir, "keys"), "*.xml"), file =>
        {
            var xml = File.ReadAllText(file);
            Assert.Contains("<sealedKey", xml, StringComparison.Ordinal);
            Assert.DoesNotContain("<masterKey", xml, StringComparison.Ordinal);
        });

        var missing = await StartFailsAsync(dataDir, new Dictionary<string, string>(), ct);
        var wrong = await StartFailsAsync(dataDir, new Dictionary<string, string> { ["REELAY_SECRETS_KEY"] = secretsKey.ToUpperInvariant() }, ct);

        Assert.Contains("REELAY_SECRETS_KEY, which is not set", missing, StringComparison.Ordinal);
        Assert.Contains("REELAY_SECRETS_KEY does not open the key ring", wrong, StringComparison.Ordinal);
        Assert.DoesNotContain(secretsKey, wrong, StringComparison.OrdinalIgnoreCase);
        await using var reopened = ReelayApp.Start(new Dictionary<string, string?> { ["SECRETS_KEY"] = secretsKey }, dataDir);
        using var again = reopened.AdminClient();
        var channel = await again.GetFromJsonAsync<JsonElement>("/admin/channels/xai-main", ct);
        Assert.True(channel.GetProperty("has_api_key").GetBoolean());
        Assert.Equal(JsonValueKind.Null, channel.GetProperty("disabled_reason").ValueKind);
    }

    [Fact]
    public async Task Start_OneApiKeyDamaged_ThatChannelDisabledWithItsReason_TheOthersServe_ANewKeyRestoresIt()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var healthy = await FakeXaiServer.StartNewAsync(ct);
        await using var damaged = await FakeXaiServer.StartNewAsync(ct);
        var dataDir = NewDataDir();
        await using (var app = ReelayApp.Start(dataDir: dataDir))
        {
            using var admin = app.AdminClient();
            await SendAsync(admin, HttpMethod.Post, "/admin/channels", HttpStatusCode.Created,
                $$"""{"name":"xai-damaged","provider":"xai","base_url":"{{damaged.BaseUrl}}","api_key":"xai-damaged-secret","priority":0,"poll_interval_ms":100}""", ct);
            await SendAsync(admin, HttpMethod.Post, "/admin/channels", HttpStatusCode.Created,
                $$"""{"name":"xai-healthy","provider":"xai","base_url":"{{healthy.BaseUrl}}","api_key":"xai-healthy-secret","priority":1,"poll_interval_ms":100}""", ct);
        }

        // A damaged page, a bad restore, a hand edit: one character of the stored value changes.
        var path = Path.Combine(dataDir, "reelay.db");
        var stored = (await ApiKeyColumnsAsync(path, ct))["xai-damaged"].Protected!;
        var middle = stored.Length / 2;
        await ExecuteAsync(path, "UPDATE channels SET api_key_ciphertext = $value WHERE name = 'xai-damaged'",
            stored[..middle] + (stored[middle] == 'A' ? 'B' : 'A') + stored[(middle + 1)..], ct);

        await using var restarted = ReelayApp.Start(dataDir: dataDir);
        using var restartedAdmin = restarted.AdminClient();
        var view = await restartedAdmin.GetFromJsonAsync<JsonElement>("/admin/channels/xai-damaged", ct);
        Assert.False(view.GetProperty("enabled").GetBoolean());
        Assert.False(view.GetProperty("has_api_key").GetBoolean());
        Assert.Contains("api_key cannot be decrypted", view.GetProperty("disabled_reason").GetString(), StringComparison.Ordinal);
        Assert.Contains("altered or damaged", view.GetProperty("disabled_reason").GetString(), StringComparison.Ordinal);
        using var anonymous = restarted.CreateClient();
        using (var ready = await anonymous.GetAsync("/readyz", ct))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            Assert.Contains("channels.api_key of 'xai-damaged'", await ready.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        }

        using var client = await restarted.CreateClientWithKeyAsync("live", ct);
        var id = await client.CreateAsync(new { model = "grok-video-3", prompt = "a cat" }, ct);
        Assert.Equal("completed", (await client.WaitForEndAsync(id, TaskTimeout, ct)).GetProperty("status").GetString());
        Assert.Equal(1, healthy.Submissions);
        Assert.Equal(0, damaged.Submissions);

        var refused = JsonDocument.Parse(await SendAsync(restartedAdmin, HttpMethod.Patch, "/admin/channels/xai-damaged", HttpStatusCode.BadRequest, """{"priority":3}""", ct));
        var error = refused.RootElement.GetProperty("error");
        Assert.Equal("api_key_unreadable", error.GetProperty("code").GetString());
        Assert.Equal("api_key", error.GetProperty("param").GetString());

        var repaired = JsonDocument.Parse(await SendAsync(restartedAdmin, HttpMethod.Patch, "/admin/channels/xai-damaged", HttpStatusCode.OK, """{"api_key":"xai-new-secret"}""", ct)).RootElement;
        Assert.True(repaired.GetProperty("enabled").GetBoolean());
        Assert.True(repaired.GetProperty("has_api_key").GetBoolean());
        Assert.Equal(JsonValueKind.Null, repaired.GetProperty("disabled_reason").ValueKind);
        Assert.Equal("ready", await anonymous.GetStringAsync("/readyz", ct));
        var next = await client.CreateAsync(new { model = "grok-video-3", prompt = "a dog" }, ct);
        Assert.Equal("completed", (await client.WaitForEndAsync(next, TaskTimeout, ct)).GetProperty("status").GetString());
        Assert.Equal("Bearer xai-new-secret", damaged.LastSubmit!.Header("Authorization"));
    }

    [Fact]
    public async Task Rotate_EveryStoredSecretUnderTheNewKey_LinksHandedOutBeforeStillPlay_TheRetiredKeyIsNotMissed()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeXaiServer.StartNewAsync(ct);
        var dataDir = NewDataDir();
        var path = Path.Combine(dataDir, "reelay.db");
        const string secret = "xai-rotated-secret";
        string newLink;
        await using (var app = ReelayApp.Start(dataDir: dataDir))
        {
            using var admin = app.AdminClient();
            await SendAsync(admin, HttpMethod.Post, "/admin/channels", HttpStatusCode.Created,
                $$"""{"name":"xai-main","provider":"xai","base_url":"{{fake.BaseUrl}}","api_key":"{{secret}}","poll_interval_ms":100}""", ct);
            using var client = await app.CreateClientWithKeyAsync("live", ct);
            var id = await client.CreateAsync(new { model = "grok-video-3", prompt = "a cat" }, ct);
            var oldLink = (await client.WaitForEndAsync(id, TaskTimeout, ct)).GetProperty("video_url").GetString()!;
            var before = (await ApiKeyColumnsAsync(path, ct))["xai-main"].Protected!;
            var oldKey = SecretProtector.KeyIdOf(before)!.Value;

            using (var refused = await client.PostAsync("/admin/secrets/rotate", null, ct))
            {
                Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            }

            // No body: everything rotates.
            using var rotated = JsonDocument.Parse(await SendAsync(admin, HttpMethod.Post, "/admin/secrets/rotate", HttpStatusCode.OK, null, ct));
            var result = rotated.RootElement;
            var newKey = Guid.Parse(result.GetProperty("key_id").GetString()!);
            Assert.NotEqual(oldKey, newKey);
            Assert.Equal(1, result.GetProperty("reencrypted").GetProperty(SecretPurposes.ChannelApiKey).GetInt32());
            Assert.Equal(1, result.GetProperty("reencrypted").GetProperty(SecretPurposes.FileSigningKeys).GetInt32());
            Assert.Equal([oldKey.ToString()], result.GetProperty("unused_key_ids").EnumerateArray().Select(e => e.GetString()));
            Assert.Empty(result.GetProperty("unreadable").EnumerateArray());
            Assert.True(result.GetProperty("file_signing_key").GetProperty("previous_valid_until").GetInt64() > DateTimeOffset.UtcNow.AddHours(23).ToUnixTimeSeconds());

            var after = (await ApiKeyColumnsAsync(path, ct))["xai-main"].Protected!;
            Assert.NotEqual(before, after);
            Assert.Equal(newKey, SecretProtector.KeyIdOf(after));
            // The old key still decrypts what it encrypted until it is retired.
            Assert.Equal(secret, app.Services.GetRequiredService<SecretProtector>().Unprotect(SecretPurposes.ChannelApiKey, before).Value);

            using var anonymous = app.CreateClient();
            using (var old = await anonymous.GetAsync(oldLink, HttpCompletionOption.ResponseHeadersRead, ct))
            {
                Assert.Equal(HttpStatusCode.OK, old.StatusCode);
            }

            newLink = (await client.QueryAsync(id, ct)).GetProperty("video_url").GetString()!;
            Assert.NotEqual(oldLink, newLink);
            using (var fresh = await anonymous.GetAsync(newLink, HttpCompletionOption.ResponseHeadersRead, ct))
            {
                Assert.Equal(HttpStatusCode.OK, fresh.StatusCode);
            }

            var current = JsonDocument.Parse(await SendAsync(admin, HttpMethod.Delete, $"/admin/secrets/keys/{newKey}", HttpStatusCode.Conflict, null, ct));
            Assert.Equal("key_current", current.RootElement.GetProperty("error").GetProperty("code").GetString());
            var tooSoon = JsonDocument.Parse(await SendAsync(admin, HttpMethod.Delete, $"/admin/secrets/keys/{oldKey}", HttpStatusCode.Conflict, null, ct));
            Assert.Equal("key_just_replaced", tooSoon.RootElement.GetProperty("error").GetProperty("code").GetString());
            await SendAsync(admin, HttpMethod.Delete, $"/admin/secrets/keys/{Guid.NewGuid()}", HttpStatusCode.NotFound, null, ct);
            using var status = JsonDocument.Parse(await SendAsync(admin, HttpMethod.Get, "/admin/secrets", HttpStatusCode.OK, null, ct));
            var keys = status.RootElement.GetProperty("keys").EnumerateArray().ToDictionary(k => k.GetProperty("id").GetString()!);
            Assert.Equal(0, keys[oldKey.ToString()].GetProperty("in_use").GetInt32());
            Assert.Equal(2, keys[newKey.ToString()].GetProperty("in_use").GetInt32());
            Assert.True(keys[newKey.ToString()].GetProperty("current").GetBoolean());

            // Retired as the API does once a minute has passed (the wait is covered where time can be faked).
            Assert.True(app.Services.GetRequiredService<SecretKeyRing>().DeleteKey(oldKey));
            var second = await client.CreateAsync(new { model = "grok-video-3", prompt = "a dog" }, ct);
            Assert.Equal("completed", (await client.WaitForEndAsync(second, TaskTimeout, ct)).GetProperty("status").GetString());
        }

        await using var restarted = ReelayApp.Start(dataDir: dataDir);
        using var restartedClient = await restarted.CreateClientWithKeyAsync("live", ct);
        var third = await restartedClient.CreateAsync(new { model = "grok-video-3", prompt = "a bird" }, ct);
        Assert.Equal("completed", (await restartedClient.WaitForEndAsync(third, TaskTimeout, ct)).GetProperty("status").GetString());
        Assert.Equal("Bearer " + secret, fake.LastSubmit!.Header("Authorization"));
        using var restartedAnonymous = restarted.CreateClient();
        using var link = await restartedAnonymous.GetAsync(new Uri(newLink).PathAndQuery, HttpCompletionOption.ResponseHeadersRead, ct);
        Assert.Equal(HttpStatusCode.OK, link.StatusCode);
    }

    [Fact]
    public async Task AdminKeyFile_OpenedToOthersByARestore_OwnerOnlyAgainAtStartWithTheSameKey()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("Unix file modes");
            return;
        }

        var dataDir = NewDataDir();
        var generated = new Dictionary<string, string?> { ["ADMIN_KEY"] = "", ["Engine:Enabled"] = "false" };
        await using (ReelayApp.Start(generated, dataDir))
        {
        }

        var path = Path.Combine(dataDir, KeyOptions.AdminKeyFileName);
        var key = File.ReadAllText(path);
        File.SetUnixFileMode(path, (UnixFileMode)0b110_100_100);

        await using var restarted = ReelayApp.Start(generated, dataDir);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(key, File.ReadAllText(path));
        using var admin = restarted.ClientFor(key.Trim());
        using var response = await admin.GetAsync("/admin/secrets", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static async Task<string> SendAsync(HttpClient client, HttpMethod method, string path, HttpStatusCode expected, string? json, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        using var response = await client.SendAsync(request, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.StatusCode == expected, $"{method} {path} answered {(int)response.StatusCode}, not {(int)expected}: {body}");
        return body;
    }

    private static async Task<Dictionary<string, (string? Plain, string? Protected)>> ApiKeyColumnsAsync(string path, CancellationToken ct)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync(ct);
        await using var select = connection.CreateCommand();
        select.CommandText = "SELECT name, api_key, api_key_ciphertext FROM channels";
        await using var reader = await select.ExecuteReaderAsync(ct);
        var rows = new Dictionary<string, (string?, string?)>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct))
        {
            rows[reader.GetString(0)] = (reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2));
        }

        return rows;
    }

    private static async Task ExecuteAsync(string path, string sql, string value, CancellationToken ct)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$value", value);
        Assert.Equal(1, await command.ExecuteNonQueryAsync(ct));
    }

    /// <summary>The database file and whatever SQLite keeps beside it (WAL, shared memory), read while it may be open.</summary>
    private static IEnumerable<byte[]> DatabaseFiles(string dataDir)
    {
        foreach (var name in (string[])["reelay.db", "reelay.db-wal", "reelay.db-shm"])
        {
            var file = Path.Combine(dataDir, name);
            if (File.Exists(file))
            {
                using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                yield return copy.ToArray();
            }
        }
    }

    private static bool ContainsAnywhere(IEnumerable<byte[]> files, string secret) => files.Any(bytes => Contains(bytes, secret));

    /// <summary>As UTF-8 (how SQLite, the logs and the answers store text) or UTF-16.</summary>
    private static bool Contains(byte[] bytes, string secret) =>
        bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)) >= 0 || bytes.AsSpan().IndexOf(Encoding.Unicode.GetBytes(secret)) >= 0;

    /// <summary>Starts Reelay as its own process, as an operator does, and returns what it printed before it stopped.</summary>
    private static async Task<string> StartFailsAsync(string dataDir, Dictionary<string, string> environment, CancellationToken ct)
    {
        await using var server = new ServerProcess(dataDir, "sk-admin-" + Guid.NewGuid().ToString("N"), environment);
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => server.StartAsync(ct));
        Assert.Contains("exited with code", refused.Message, StringComparison.Ordinal);
        await server.KillAsync();
        return server.Log;
    }
}
