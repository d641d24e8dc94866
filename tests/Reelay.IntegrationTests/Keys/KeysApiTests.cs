using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Reelay.Keys;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Keys;

/// <summary>One app for the key facts; each test makes its own keys and reads only those.</summary>
public sealed class KeysFixture : IAsyncLifetime
{
    public ReelayApp App { get; private set; } = null!;

    public ValueTask InitializeAsync()
    {
        App = ReelayApp.Start(new Dictionary<string, string?> { ["Engine:Enabled"] = "false" });
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => App.DisposeAsync();
}

public sealed class KeysApiTests(KeysFixture fixture) : IClassFixture<KeysFixture>
{
    private static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response)
    {
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        return json.RootElement.Clone();
    }

    private static async Task AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code, string? param)
    {
        Assert.Equal(status, response.StatusCode);
        var error = (await ReadJsonAsync(response)).GetProperty("error");
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
    }

    [Theory]
    [InlineData("test", "sk-test-")]
    [InlineData("live", "sk-live-")]
    public async Task CreateKey_ValidRequest_Returns201WithSecretShownOnce(string mode, string prefix)
    {
        var ct = TestContext.Current.CancellationToken;
        using var admin = fixture.App.AdminClient();

        using var response = await admin.PostAsJsonAsync("/admin/keys", new { name = "shop", mode }, ct);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await ReadJsonAsync(response);
        var id = body.GetProperty("id").GetString()!;
        Assert.StartsWith("key_", id, StringComparison.Ordinal);
        Assert.Equal($"/admin/keys/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal(mode, body.GetProperty("mode").GetString());
        Assert.Equal("shop", body.GetProperty("name").GetString());
        var secret = body.GetProperty("key").GetString()!;
        Assert.StartsWith(prefix, secret, StringComparison.Ordinal);
        Assert.True(secret.Length >= 40, secret);
        Assert.StartsWith(body.GetProperty("prefix").GetString()!, secret, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateKey_ModeOmitted_IsLive()
    {
        var ct = TestContext.Current.CancellationToken;
        using var admin = fixture.App.AdminClient();

        using var response = await admin.PostAsJsonAsync("/admin/keys", new { name = "default-mode" }, ct);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("live", (await ReadJsonAsync(response)).GetProperty("mode").GetString());
    }

    [Fact]
    public async Task ListKeys_AfterCreate_ListsKeyWithoutSecretOrHash()
    {
        var ct = TestContext.Current.CancellationToken;
        var (id, secret) = await fixture.App.CreateKeyWithIdAsync("test", "listed", ct);
        using var admin = fixture.App.AdminClient();

        using var response = await admin.GetAsync("/admin/keys", ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync(ct);
        Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        Assert.DoesNotContain(secret[12..], text, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(KeyAuthenticator.Hash(secret)), text, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexString(KeyAuthenticator.Hash(secret)), text, StringComparison.OrdinalIgnoreCase);
        using var json = JsonDocument.Parse(text);
        var listed = Assert.Single(json.RootElement.GetProperty("data").EnumerateArray(), k => k.GetProperty("id").GetString() == id);
        Assert.Equal("listed", listed.GetProperty("name").GetString());
        Assert.Equal("test", listed.GetProperty("mode").GetString());
        Assert.False(listed.TryGetProperty("key", out _));
        Assert.False(listed.TryGetProperty("hash", out _));
        Assert.Equal(JsonValueKind.Null, listed.GetProperty("revoked_at").ValueKind);
    }

    [Theory]
    [InlineData("""{"name":"x","mode":"prod"}""", "invalid_mode", "mode")]
    [InlineData("""{"name":"x","mode":5}""", "invalid_type", "mode")]
    [InlineData("""{"mode":"test"}""", "invalid_name", "name")]
    [InlineData("""{"name":"   ","mode":"test"}""", "invalid_name", "name")]
    [InlineData("""{"name":null}""", "invalid_name", "name")]
    [InlineData("[]", "invalid_json", null)]
    public async Task CreateKey_InvalidBody_Returns400NamingTheField(string body, string code, string? param)
    {
        var ct = TestContext.Current.CancellationToken;
        using var admin = fixture.App.AdminClient();

        using var response = await admin.PostAsync("/admin/keys", new StringContent(body, System.Text.Encoding.UTF8, "application/json"), ct);

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, code, param);
    }

    [Fact]
    public async Task AdminKeys_WithClientKey_Returns403()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = await fixture.App.CreateClientWithKeyAsync("live", ct);

        using var list = await client.GetAsync("/admin/keys", ct);
        using var create = await client.PostAsJsonAsync("/admin/keys", new { name = "escalate" }, ct);

        await AssertErrorAsync(list, HttpStatusCode.Forbidden, "admin_key_required", null);
        await AssertErrorAsync(create, HttpStatusCode.Forbidden, "admin_key_required", null);
    }

    [Fact]
    public async Task AdminKeys_WithoutKey_Returns401()
    {
        var ct = TestContext.Current.CancellationToken;
        using var anonymous = fixture.App.CreateClient();

        using var response = await anonymous.GetAsync("/admin/keys", ct);

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "missing_api_key", null);
    }

    [Fact]
    public async Task RevokeKey_KeyJustUsed_AnswersUnauthorizedOnVeryNextRequest()
    {
        var ct = TestContext.Current.CancellationToken;
        var (id, secret) = await fixture.App.CreateKeyWithIdAsync("test", "to-revoke", ct);
        using var client = fixture.App.ClientFor(secret);
        using var admin = fixture.App.AdminClient();
        using (var before = await client.GetAsync("/v1/models", ct))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        using var revoke = await admin.DeleteAsync($"/admin/keys/{id}", ct);
        using var after = await client.GetAsync("/v1/models", ct);

        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        Assert.NotEqual(JsonValueKind.Null, (await ReadJsonAsync(revoke)).GetProperty("revoked_at").ValueKind);
        await AssertErrorAsync(after, HttpStatusCode.Unauthorized, "invalid_api_key", null);
    }

    [Fact]
    public async Task ClientKey_SentWithoutSkPrefix_AuthenticatesAsTheSameKey()
    {
        var ct = TestContext.Current.CancellationToken;
        var secret = await fixture.App.CreateKeyAsync("test", "unprefixed", ct);
        Assert.StartsWith("sk-", secret, StringComparison.Ordinal);
        using var prefixed = fixture.App.ClientFor(secret);
        using var stripped = fixture.App.ClientFor(secret["sk-".Length..]);

        var id = await stripped.CreateAsync(new { model = "reelay-preview", prompt = "sent with the bare secret" }, ct);

        // The same owner: the full spelling reads the task, and both spellings list the same videos.
        Assert.Equal(id, (await prefixed.QueryAsync(id, ct)).GetProperty("id").GetString());
        var fromPrefixed = await prefixed.GetStringAsync("/v1/videos", ct);
        Assert.Equal(fromPrefixed, await stripped.GetStringAsync("/v1/videos", ct));
        Assert.Contains(id, fromPrefixed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientKey_WrongOrRandomSecretWithOrWithoutPrefix_Returns401()
    {
        var ct = TestContext.Current.CancellationToken;
        var secret = await fixture.App.CreateKeyAsync("test", "neighbour", ct);
        var bare = secret["sk-".Length..];
        var flipped = bare[..^1] + (bare[^1] == 'a' ? 'b' : 'a');

        foreach (var wrong in (string[])[
            "sk-" + flipped, flipped, bare[..^1], "sk-" + bare[..^1], "sk-sk-" + bare, "sk-" + secret, bare + "x",
            "sk-", "test-", Base62.NewSecret(), "sk-test-" + Base62.NewSecret(), "test-" + Base62.NewSecret()])
        {
            using var client = fixture.App.ClientFor(wrong);
            using var response = await client.GetAsync("/v1/models", ct);
            await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_api_key", null);
        }
    }

    [Fact]
    public async Task RevokeKey_UsedWithoutSkPrefix_AnswersUnauthorizedOnVeryNextRequestInEitherSpelling()
    {
        var ct = TestContext.Current.CancellationToken;
        var (id, secret) = await fixture.App.CreateKeyWithIdAsync("test", "revoked-unprefixed", ct);
        using var stripped = fixture.App.ClientFor(secret["sk-".Length..]);
        using var prefixed = fixture.App.ClientFor(secret);
        using var admin = fixture.App.AdminClient();
        using (var before = await stripped.GetAsync("/v1/models", ct))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        using var revoke = await admin.DeleteAsync($"/admin/keys/{id}", ct);
        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);

        // The bare spelling was cached as the key itself, so revoking drops it too, at once.
        using var afterStripped = await stripped.GetAsync("/v1/models", ct);
        using var afterPrefixed = await prefixed.GetAsync("/v1/models", ct);
        await AssertErrorAsync(afterStripped, HttpStatusCode.Unauthorized, "invalid_api_key", null);
        await AssertErrorAsync(afterPrefixed, HttpStatusCode.Unauthorized, "invalid_api_key", null);
    }

    [Fact]
    public async Task AdminKey_SentWithoutSkPrefix_ManagesTheGatewayAndAWrongOneIs401()
    {
        var ct = TestContext.Current.CancellationToken;
        var adminKey = fixture.App.AdminKey;
        Assert.StartsWith("sk-admin-", adminKey, StringComparison.Ordinal);
        using var stripped = fixture.App.ClientFor(adminKey["sk-".Length..]);
        using var wrong = fixture.App.ClientFor(adminKey["sk-".Length..^1]);

        using var created = await stripped.PostAsJsonAsync("/admin/keys", new { name = "by-bare-admin", mode = "test" }, ct);
        using var refused = await wrong.GetAsync("/admin/keys", ct);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await AssertErrorAsync(refused, HttpStatusCode.Unauthorized, "invalid_api_key", null);
    }

    [Fact]
    public async Task AdminKey_ConfiguredWithoutSkPrefix_AcceptedAsConfigured()
    {
        var ct = TestContext.Current.CancellationToken;
        const string configured = "operator-chosen-admin-secret-0123456789";
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["ADMIN_KEY"] = configured, ["Engine:Enabled"] = "false" });

        using var admin = app.ClientFor(configured);
        using var response = await admin.GetAsync("/admin/keys", ct);
        using var other = app.ClientFor("operator-chosen-admin-secret-012345678");
        using var refused = await other.GetAsync("/admin/keys", ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await AssertErrorAsync(refused, HttpStatusCode.Unauthorized, "invalid_api_key", null);
    }

    [Fact]
    public async Task RevokeKey_Twice_SecondAnswers404()
    {
        var ct = TestContext.Current.CancellationToken;
        var (id, _) = await fixture.App.CreateKeyWithIdAsync("test", "twice", ct);
        using var admin = fixture.App.AdminClient();

        using var first = await admin.DeleteAsync($"/admin/keys/{id}", ct);
        using var second = await admin.DeleteAsync($"/admin/keys/{id}", ct);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        await AssertErrorAsync(second, HttpStatusCode.NotFound, "not_found", "id");
    }

    [Fact]
    public async Task RevokeKey_UnknownId_Returns404()
    {
        var ct = TestContext.Current.CancellationToken;
        using var admin = fixture.App.AdminClient();

        using var response = await admin.DeleteAsync("/admin/keys/key_000000000000000000000000", ct);

        await AssertErrorAsync(response, HttpStatusCode.NotFound, "not_found", "id");
    }

    [Fact]
    public async Task AdminKey_NotConfigured_GeneratedInDataDirWithOwnerOnlyModeAndKeptAcrossRestarts()
    {
        var ct = TestContext.Current.CancellationToken;
        var noAdminKey = new Dictionary<string, string?> { ["ADMIN_KEY"] = "", ["Engine:Enabled"] = "false" };
        await using var first = ReelayApp.Start(noAdminKey);
        var path = Path.Combine(first.DataDir, KeyOptions.AdminKeyFileName);

        Assert.True(File.Exists(path));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }

        var generated = File.ReadAllText(path).Trim();
        Assert.StartsWith("sk-admin-", generated, StringComparison.Ordinal);
        using (var admin = first.ClientFor(generated))
        using (var list = await admin.GetAsync("/admin/keys", ct))
        {
            Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        }

        using (var kitKey = first.AdminClient())
        using (var refused = await kitKey.GetAsync("/admin/keys", ct))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        // A second instance over the same data directory, as after a restart.
        await using var second = ReelayApp.Start(noAdminKey, first.DataDir);
        Assert.Equal(generated, File.ReadAllText(path).Trim());
        using var again = second.ClientFor(generated);
        using var response = await again.PostAsJsonAsync("/admin/keys", new { name = "after-restart", mode = "test" }, ct);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }
}
