using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Api.Admin;

/// <summary>
/// The operator's side over HTTP: accounts (open, list, update, revoke, top up, adjust, ledger), keys in
/// accounts, named admin keys, and the audit row every change leaves behind.
/// </summary>
public class AdminAccountsApiTests
{
    private static readonly Dictionary<string, string?> ApiOnly = new() { ["Engine:Enabled"] = "false", ["Limits:LocalAdmission"] = "false" };

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response, HttpStatusCode expected, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.StatusCode == expected, $"{(int)response.StatusCode}: {text}");
        using var json = JsonDocument.Parse(text);
        return json.RootElement.Clone();
    }

    [Fact]
    public async Task Account_OpenedTopUpAdjusted_LedgerAndAuditRecordEachMovementWithItsReason()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        using var admin = app.AdminClient();

        var opened = await JsonAsync(await admin.PostAsJsonAsync("/admin/accounts", new { name = "Acme", credits = 10, notes = "pays by invoice" }, ct), HttpStatusCode.Created, ct);
        var id = opened.GetProperty("id").GetString()!;
        var topUp = await JsonAsync(await admin.PostAsJsonAsync($"/admin/accounts/{id}/top-ups", new { amount = 2.5, reason = "invoice 42" }, ct), HttpStatusCode.OK, ct);
        var adjusted = await JsonAsync(await admin.PostAsJsonAsync($"/admin/accounts/{id}/adjustments", new { amount = -0.5, reason = "goodwill reversed" }, ct), HttpStatusCode.OK, ct);
        using var tooMuch = await admin.PostAsJsonAsync($"/admin/accounts/{id}/adjustments", new { amount = -20, reason = "mistake" }, ct);
        using var noReason = await admin.PostAsJsonAsync($"/admin/accounts/{id}/top-ups", new { amount = 1 }, ct);
        using var negativeTopUp = await admin.PostAsJsonAsync($"/admin/accounts/{id}/top-ups", new { amount = -1, reason = "x" }, ct);

        Assert.Equal(10m, opened.GetProperty("balance").GetDecimal());
        Assert.Equal("pays by invoice", opened.GetProperty("notes").GetString());
        Assert.Equal(12.5m, topUp.GetProperty("account").GetProperty("balance").GetDecimal());
        Assert.Equal("topup", topUp.GetProperty("entry").GetProperty("kind").GetString());
        Assert.Equal(12m, adjusted.GetProperty("account").GetProperty("balance").GetDecimal());
        Assert.Equal(-0.5m, adjusted.GetProperty("entry").GetProperty("amount").GetDecimal());
        Assert.Equal(HttpStatusCode.Conflict, tooMuch.StatusCode);
        Assert.Equal(
            $"Adjusting by -20 would leave account '{id}' with less than nothing available: it has 12 credits (balance 12, 0 held). Take at most 12.",
            (await JsonAsync(tooMuch, HttpStatusCode.Conflict, ct)).GetProperty("error").GetProperty("message").GetString());
        Assert.Equal("reason", (await JsonAsync(noReason, HttpStatusCode.BadRequest, ct)).GetProperty("error").GetProperty("param").GetString());
        Assert.Equal("amount", (await JsonAsync(negativeTopUp, HttpStatusCode.BadRequest, ct)).GetProperty("error").GetProperty("param").GetString());

        var ledger = await admin.GetFromJsonAsync<JsonElement>($"/admin/accounts/{id}/ledger", ct);
        Assert.Equal(["topup 10 opening balance", "topup 2.5 invoice 42", "adjust -0.5 goodwill reversed"],
            ledger.GetProperty("data").EnumerateArray().Select(row => $"{row.GetProperty("kind").GetString()} {row.GetProperty("amount").GetDecimal().ToString(System.Globalization.CultureInfo.InvariantCulture)} {row.GetProperty("reason").GetString()}"));
        Assert.All(ledger.GetProperty("data").EnumerateArray(), row => Assert.Equal("admin", row.GetProperty("actor").GetString()));
        var page = await admin.GetFromJsonAsync<JsonElement>($"/admin/accounts/{id}/ledger?limit=1&after=1", ct);
        Assert.Equal(2, page.GetProperty("data")[0].GetProperty("sequence").GetInt64());
        Assert.True(page.GetProperty("has_more").GetBoolean());

        var audit = await admin.GetFromJsonAsync<JsonElement>($"/admin/audit?target_id={id}", ct);
        var actions = audit.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        Assert.Equal(["account.adjust", "account.top_up", "account.create"], actions);
        var top = audit.GetProperty("data")[1];
        Assert.Equal("admin", top.GetProperty("actor").GetString());
        Assert.Equal(10m, top.GetProperty("before").GetProperty("balance").GetDecimal());
        Assert.Equal(12.5m, top.GetProperty("after").GetProperty("balance").GetDecimal());
    }

    [Fact]
    public async Task Accounts_ListedWithFilters_PageByAfter()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        using var admin = app.AdminClient();
        foreach (var name in (string[])["paging a", "paging b", "paging c", "other"])
        {
            await JsonAsync(await admin.PostAsJsonAsync("/admin/accounts", new { name, unlimited = name == "paging c" }, ct), HttpStatusCode.Created, ct);
        }

        var first = await admin.GetFromJsonAsync<JsonElement>("/admin/accounts?name=PAGING&limit=2", ct);
        var rest = await admin.GetFromJsonAsync<JsonElement>($"/admin/accounts?name=paging&limit=2&after={first.GetProperty("last_id").GetString()}", ct);
        var unlimited = await admin.GetFromJsonAsync<JsonElement>("/admin/accounts?unlimited=true", ct);
        using var badLimit = await admin.GetAsync("/admin/accounts?limit=0", ct);

        // Pages follow (created_at, id): accounts made within one millisecond come in id order, so
        // only the pages' sizes and their union are fixed, each account on exactly one page.
        var firstNames = first.GetProperty("data").EnumerateArray().Select(a => a.GetProperty("name").GetString()).ToList();
        var restNames = rest.GetProperty("data").EnumerateArray().Select(a => a.GetProperty("name").GetString()).ToList();
        Assert.Equal(2, firstNames.Count);
        Assert.True(first.GetProperty("has_more").GetBoolean());
        Assert.Single(restNames);
        Assert.Equal(["paging a", "paging b", "paging c"], firstNames.Concat(restNames).Order(StringComparer.Ordinal));
        Assert.False(rest.GetProperty("has_more").GetBoolean());
        Assert.Equal(["paging c"], unlimited.GetProperty("data").EnumerateArray().Select(a => a.GetProperty("name").GetString()));
        Assert.Equal(HttpStatusCode.BadRequest, badLimit.StatusCode);
    }

    [Fact]
    public async Task Account_Revoked_ItsKeysAnswer401AtOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        var (account, client) = await app.CreateFundedClientAsync(1, mode: "test", cancellationToken: ct);
        using (client)
        {
            using var before = await client.GetAsync("/v1/models", ct);
            using var admin = app.AdminClient();
            var revoked = await JsonAsync(await admin.DeleteAsync($"/admin/accounts/{account}", ct), HttpStatusCode.OK, ct);
            using var after = await client.GetAsync("/v1/models", ct);
            using var again = await admin.DeleteAsync($"/admin/accounts/{account}", ct);

            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
            Assert.Equal(JsonValueKind.Number, revoked.GetProperty("revoked_at").ValueKind);
            Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        }
    }

    [Fact]
    public async Task Account_LimitsPatched_TakeEffectAtOnceAndNullRemovesThem()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        var (account, client) = await app.CreateFundedClientAsync(1, mode: "test", cancellationToken: ct);
        using (client)
        {
            using var admin = app.AdminClient();
            var limited = await JsonAsync(await admin.PatchAsJsonAsync($"/admin/accounts/{account}", new { limits = new { allowed_models = new[] { "grok-*" } }, notes = "trial" }, ct), HttpStatusCode.OK, ct);
            using var refused = await client.PostAsJsonAsync("/v1/video/create", new { model = "reelay-preview", prompt = "x" }, ct);
            var cleared = await JsonAsync(await admin.PatchAsync($"/admin/accounts/{account}",
                new StringContent("""{"limits":{"allowed_models":null}}""", System.Text.Encoding.UTF8, "application/json"), ct), HttpStatusCode.OK, ct);
            using var accepted = await client.PostAsJsonAsync("/v1/video/create", new { model = "reelay-preview", prompt = "x" }, ct);

            Assert.Equal(["grok-*"], limited.GetProperty("limits").GetProperty("allowed_models").EnumerateArray().Select(m => m.GetString()));
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Equal(JsonValueKind.Null, cleared.GetProperty("limits").GetProperty("allowed_models").ValueKind);
            Assert.Equal("trial", cleared.GetProperty("notes").GetString());
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        }
    }

    [Fact]
    public async Task Key_CreatedWithoutAccount_GetsAOneKeyAccountAndUnknownAccountIs404()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        using var admin = app.AdminClient();

        var created = await JsonAsync(await admin.PostAsJsonAsync("/admin/keys", new { name = "solo", mode = "live" }, ct), HttpStatusCode.Created, ct);
        using var unknown = await admin.PostAsJsonAsync("/admin/keys", new { name = "lost", account_id = "acct_nope" }, ct);
        var account = created.GetProperty("account_id").GetString()!;
        var inAccount = await JsonAsync(await admin.PostAsJsonAsync($"/admin/accounts/{account}/keys", new { name = "second", mode = "test" }, ct), HttpStatusCode.Created, ct);

        var books = await app.AccountAsync(account, ct);
        Assert.Equal("solo", books.GetProperty("name").GetString());
        Assert.Equal(0m, books.GetProperty("balance").GetDecimal());
        Assert.False(books.GetProperty("unlimited").GetBoolean());
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("account_id", (await JsonAsync(unknown, HttpStatusCode.NotFound, ct)).GetProperty("error").GetProperty("param").GetString());
        Assert.Equal(account, inAccount.GetProperty("account_id").GetString());
        var keys = await admin.GetFromJsonAsync<JsonElement>($"/admin/keys?account_id={account}", ct);
        Assert.Equal(["solo", "second"], keys.GetProperty("data").EnumerateArray().Select(k => k.GetProperty("name").GetString()));
        var testKeys = await admin.GetFromJsonAsync<JsonElement>($"/admin/keys?account_id={account}&mode=test", ct);
        Assert.Equal(["second"], testKeys.GetProperty("data").EnumerateArray().Select(k => k.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task Key_Patched_NarrowsAtOnceAndIsAudited()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        var (id, secret) = await app.CreateKeyWithIdAsync("test", "narrowed", ct);
        using var client = app.ClientFor(secret);
        using var admin = app.AdminClient();

        var patched = await JsonAsync(await admin.PatchAsJsonAsync($"/admin/keys/{id}", new { name = "renamed", limits = new { max_in_flight = 1 } }, ct), HttpStatusCode.OK, ct);
        using var first = await client.PostAsJsonAsync("/v1/video/create", new { model = "reelay-preview", prompt = "one" }, ct);
        using var second = await client.PostAsJsonAsync("/v1/video/create", new { model = "reelay-preview", prompt = "two" }, ct);

        Assert.Equal("renamed", patched.GetProperty("name").GetString());
        Assert.Equal(1, patched.GetProperty("limits").GetProperty("max_in_flight").GetInt32());
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        var audit = await admin.GetFromJsonAsync<JsonElement>($"/admin/audit?target_type=key&target_id={id}", ct);
        Assert.Equal(["key.update", "key.create"], audit.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("action").GetString()));
        Assert.Equal("narrowed", audit.GetProperty("data")[0].GetProperty("before").GetProperty("name").GetString());
    }

    [Fact]
    public async Task AdminKey_Named_ManagesTheGatewayIsTheAuditedActorAndIsRevocable()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        using var bootstrap = app.AdminClient();
        var created = await JsonAsync(await bootstrap.PostAsJsonAsync("/admin/admin-keys", new { name = "ops alice" }, ct), HttpStatusCode.Created, ct);
        var adminKeyId = created.GetProperty("id").GetString()!;
        using var alice = app.ClientFor(created.GetProperty("key").GetString()!);

        var account = await JsonAsync(await alice.PostAsJsonAsync("/admin/accounts", new { name = "by alice" }, ct), HttpStatusCode.Created, ct);
        using var clientRoute = await alice.GetAsync("/v1/models", ct);
        var listed = await bootstrap.GetFromJsonAsync<JsonElement>("/admin/admin-keys", ct);
        await JsonAsync(await bootstrap.DeleteAsync($"/admin/admin-keys/{adminKeyId}", ct), HttpStatusCode.OK, ct);
        using var afterRevoke = await alice.GetAsync("/admin/accounts", ct);
        using var bootstrapStill = await bootstrap.GetAsync("/admin/accounts", ct);

        Assert.StartsWith("sk-admin-", created.GetProperty("key").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, clientRoute.StatusCode);
        Assert.Equal(["ops alice"], listed.GetProperty("data").EnumerateArray().Select(k => k.GetProperty("name").GetString()));
        Assert.DoesNotContain(created.GetProperty("key").GetString()!, listed.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, afterRevoke.StatusCode);
        Assert.Equal(HttpStatusCode.OK, bootstrapStill.StatusCode);
        var audit = await bootstrap.GetFromJsonAsync<JsonElement>($"/admin/audit?target_id={account.GetProperty("id").GetString()}", ct);
        Assert.Equal(adminKeyId, audit.GetProperty("data")[0].GetProperty("actor").GetString());
        var revocation = await bootstrap.GetFromJsonAsync<JsonElement>($"/admin/audit?action=admin_key.revoke", ct);
        Assert.Equal("admin", revocation.GetProperty("data")[0].GetProperty("actor").GetString());
    }

    [Fact]
    public async Task Channel_Changes_AreAuditedWithoutTheSecret()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        using var admin = app.AdminClient();

        await JsonAsync(await admin.PostAsJsonAsync("/admin/channels", new { name = "audited", provider = "xai", api_key = "xai-secret-4711", models = new[] { "grok-video-3" } }, ct), HttpStatusCode.Created, ct);
        await JsonAsync(await admin.PatchAsJsonAsync("/admin/channels/audited", new { priority = 3 }, ct), HttpStatusCode.OK, ct);
        await JsonAsync(await admin.PatchAsJsonAsync("/admin/channels/audited", new { api_key = "xai-secret-0815" }, ct), HttpStatusCode.OK, ct);
        await JsonAsync(await admin.DeleteAsync("/admin/channels/audited", ct), HttpStatusCode.OK, ct);
        await JsonAsync(await admin.PostAsync("/admin/secrets/rotate", null, ct), HttpStatusCode.OK, ct);

        var audit = await admin.GetFromJsonAsync<JsonElement>("/admin/audit?target_type=channel&target_id=audited", ct);
        var rows = audit.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(["channel.delete", "channel.update", "channel.update", "channel.create"], rows.Select(e => e.GetProperty("action").GetString()));
        Assert.Equal(3, rows[2].GetProperty("after").GetProperty("priority").GetInt32());

        // The views show only has_api_key, the same before and after a new key: the note is the trace.
        Assert.Equal(["api_key changed", null, "api_key changed"], rows.Skip(1).Select(e => e.GetProperty("note").GetString()));
        Assert.True(rows[1].GetProperty("before").GetProperty("has_api_key").GetBoolean());

        var rotation = await admin.GetFromJsonAsync<JsonElement>("/admin/audit?action=secrets.rotate", ct);
        Assert.StartsWith("1 stored secrets encrypted again under key ", rotation.GetProperty("data")[0].GetProperty("note").GetString(), StringComparison.Ordinal);

        var everything = await admin.GetStringAsync("/admin/audit", ct);
        Assert.DoesNotContain("xai-secret-4711", everything, StringComparison.Ordinal);
        Assert.DoesNotContain("xai-secret-0815", everything, StringComparison.Ordinal);
    }
}
