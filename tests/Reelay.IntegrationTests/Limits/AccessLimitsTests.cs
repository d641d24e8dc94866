using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Limits;

/// <summary>
/// Each limit of an account or a key, over HTTP, with the status it answers: allowed models (403), expiry
/// (401), client addresses (403), requests per minute (429 with Retry-After and OpenAI's rate-limit headers),
/// tasks in flight and spend per day (429 naming the limit and its value). No workers run: tasks stay unfinished.
/// </summary>
public class AccessLimitsTests
{
    private static readonly Dictionary<string, string?> ApiOnly = new()
    {
        ["Engine:Enabled"] = "false",
        ["Limits:LocalAdmission"] = "false",
        ["Billing:Prices:reelay-preview:PerVideo"] = "0.4",
    };

    private static Task<HttpResponseMessage> CreateAsync(HttpClient client, CancellationToken ct, string model = "reelay-preview") =>
        client.PostAsync("/v1/video/create", new StringContent($$"""{"model":"{{model}}","prompt":"a limit"}""", Encoding.UTF8, "application/json"), ct);

    private static async Task<JsonElement> ErrorAsync(HttpResponseMessage response, CancellationToken ct) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error");

    [Fact]
    public async Task AllowedModels_KeyNarrowsItsAccount_OtherModelsAnswer403AndAreNotListed()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        var (_, client) = await app.CreateFundedClientAsync(10, mode: "test", accountLimits: new { allowed_models = new[] { "reelay-*", "grok-video-3" } },
            keyLimits: new { allowed_models = new[] { "grok-*" } }, cancellationToken: ct);
        using (client)
        {
            using var preview = await CreateAsync(client, ct);
            using var grok = await CreateAsync(client, ct, "grok-video-3");
            using var pro = await CreateAsync(client, ct, "grok-video-3-pro");

            Assert.Equal(HttpStatusCode.Forbidden, preview.StatusCode);
            var error = await ErrorAsync(preview, ct);
            Assert.Equal("model_not_allowed", error.GetProperty("code").GetString());
            Assert.Equal("model", error.GetProperty("param").GetString());
            Assert.Equal("This key may not use reelay-preview: the key's allowed models are grok-*.", error.GetProperty("message").GetString());
            Assert.Equal(HttpStatusCode.OK, grok.StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, pro.StatusCode);
            Assert.Equal("This key may not use grok-video-3-pro: its account's allowed models are reelay-*, grok-video-3.", (await ErrorAsync(pro, ct)).GetProperty("message").GetString());
            var models = await client.GetFromJsonAsync<JsonElement>("/v1/models", ct);
            Assert.Equal(["grok-video-3"], models.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        }
    }

    [Fact]
    public async Task ExpiresAt_Passed_Answers401OnEveryRoute()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        var (_, expiredKey) = await app.CreateFundedClientAsync(1, mode: "test", keyLimits: new { expires_at = "2020-01-01T00:00:00Z" }, cancellationToken: ct);
        var (_, expiredAccount) = await app.CreateFundedClientAsync(1, mode: "test", accountLimits: new { expires_at = 1_000 }, cancellationToken: ct);
        var (_, current) = await app.CreateFundedClientAsync(1, mode: "test", keyLimits: new { expires_at = "2100-01-01T00:00:00Z" }, cancellationToken: ct);
        using (expiredKey)
        using (expiredAccount)
        using (current)
        {
            using var create = await CreateAsync(expiredKey, ct);
            using var models = await expiredAccount.GetAsync("/v1/models", ct);
            using var fine = await CreateAsync(current, ct);

            Assert.Equal(HttpStatusCode.Unauthorized, create.StatusCode);
            var error = await ErrorAsync(create, ct);
            Assert.Equal("key_expired", error.GetProperty("code").GetString());
            Assert.Equal("This key expired at 2020-01-01T00:00:00Z (expires_at); ask the operator for a new key or a later expiry.", error.GetProperty("message").GetString());
            Assert.Equal(HttpStatusCode.Unauthorized, models.StatusCode);
            Assert.StartsWith("This key's account expired at 1970-01-01T00:00:01Z", (await ErrorAsync(models, ct)).GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, fine.StatusCode);
        }
    }

    [Fact]
    public async Task AllowedIps_ClientOutsideThem_Answers403NamingTheAddress()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        var (_, elsewhere) = await app.CreateFundedClientAsync(1, mode: "test", keyLimits: new { allowed_ips = new[] { "203.0.113.0/24", "2001:db8::/32" } }, cancellationToken: ct);
        var (_, loopback) = await app.CreateFundedClientAsync(1, mode: "test", accountLimits: new { allowed_ips = new[] { "127.0.0.1" } }, cancellationToken: ct);
        using (elsewhere)
        using (loopback)
        {
            using var refused = await CreateAsync(elsewhere, ct);
            using var allowed = await CreateAsync(loopback, ct);

            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            var error = await ErrorAsync(refused, ct);
            Assert.Equal("ip_not_allowed", error.GetProperty("code").GetString());
            Assert.Equal("Requests from 127.0.0.1 are not allowed for this key: its allowed_ips are 203.0.113.0/24, 2001:db8::/32.", error.GetProperty("message").GetString());
            Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        }
    }

    [Fact]
    public async Task RequestsPerMinute_Exceeded_Answers429WithRetryAfterAndRateLimitHeaders()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        var (_, client) = await app.CreateFundedClientAsync(1, mode: "test", keyLimits: new { requests_per_minute = 2 }, cancellationToken: ct);
        using (client)
        {
            using var first = await CreateAsync(client, ct);
            using var second = await CreateAsync(client, ct);
            using var third = await CreateAsync(client, ct);

            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            Assert.Equal("2", first.Headers.GetValues("x-ratelimit-limit-requests").Single());
            Assert.Equal("1", first.Headers.GetValues("x-ratelimit-remaining-requests").Single());
            Assert.Equal("30s", first.Headers.GetValues("x-ratelimit-reset-requests").Single());
            Assert.Equal(HttpStatusCode.OK, second.StatusCode);
            Assert.Equal("0", second.Headers.GetValues("x-ratelimit-remaining-requests").Single());
            Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
            var wait = third.Headers.RetryAfter?.Delta;
            Assert.True(wait > TimeSpan.Zero && wait <= TimeSpan.FromSeconds(30), $"Retry-After {wait}");
            Assert.Equal("0", third.Headers.GetValues("x-ratelimit-remaining-requests").Single());
            var error = await ErrorAsync(third, ct);
            Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
            Assert.Equal("rate_limit_error", error.GetProperty("type").GetString());
            Assert.StartsWith("This key allows 2 create requests per minute (requests_per_minute 2)", error.GetProperty("message").GetString(), StringComparison.Ordinal);
            // Reads are not counted: polling a task never uses up the creates.
            using var models = await client.GetAsync("/v1/models", ct);
            Assert.Equal(HttpStatusCode.OK, models.StatusCode);
        }
    }

    [Fact]
    public async Task RequestsPerMinute_OfTheAccount_IsSharedByItsKeys()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        using var admin = app.CreateClient();
        var account = await AccountKit.CreateAccountAsync(admin, app.AdminKey, 1, limits: new { requests_per_minute = 1 }, cancellationToken: ct);
        using var one = app.ClientFor((await AccountKit.CreateKeyAsync(admin, app.AdminKey, account, "test", cancellationToken: ct)).Key);
        using var two = app.ClientFor((await AccountKit.CreateKeyAsync(admin, app.AdminKey, account, "test", cancellationToken: ct)).Key);

        using var first = await CreateAsync(one, ct);
        using var second = await CreateAsync(two, ct);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.StartsWith("This key's account allows 1 create requests per minute", (await ErrorAsync(second, ct)).GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MaxInFlight_OfKeyAndOfAccount_Answer429NamingTheLimit()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        using var admin = app.CreateClient();
        var account = await AccountKit.CreateAccountAsync(admin, app.AdminKey, 10, limits: new { max_in_flight = 3 }, cancellationToken: ct);
        using var narrow = app.ClientFor((await AccountKit.CreateKeyAsync(admin, app.AdminKey, account, "live", new { max_in_flight = 2 }, ct)).Key);
        using var wide = app.ClientFor((await AccountKit.CreateKeyAsync(admin, app.AdminKey, account, "live", cancellationToken: ct)).Key);

        using var a = await CreateAsync(narrow, ct);
        using var b = await CreateAsync(narrow, ct);
        using var keyFull = await CreateAsync(narrow, ct);
        using var c = await CreateAsync(wide, ct);
        using var accountFull = await CreateAsync(wide, ct);

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK], new[] { a.StatusCode, b.StatusCode, c.StatusCode });
        Assert.Equal(HttpStatusCode.TooManyRequests, keyFull.StatusCode);
        Assert.True(keyFull.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        var keyError = await ErrorAsync(keyFull, ct);
        Assert.Equal("too_many_tasks", keyError.GetProperty("code").GetString());
        Assert.Equal("This key already has 2 unfinished tasks, its limit (max_in_flight 2); wait for some to finish.", keyError.GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.TooManyRequests, accountFull.StatusCode);
        Assert.Equal("This account already has 3 unfinished tasks, its limit (max_in_flight 3); wait for some to finish.", (await ErrorAsync(accountFull, ct)).GetProperty("message").GetString());
    }

    [Fact]
    public async Task MaxInFlight_20ParallelCreates_StoresExactlyTheLimit()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        var (account, client) = await app.CreateFundedClientAsync(100, keyLimits: new { max_in_flight = 5 }, cancellationToken: ct);
        using (client)
        {
            var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(async _ =>
            {
                using var response = await CreateAsync(client, ct);
                return response.StatusCode;
            }));

            Assert.Equal(5, answers.Count(s => s == HttpStatusCode.OK));
            Assert.Equal(15, answers.Count(s => s == HttpStatusCode.TooManyRequests));
            Assert.Equal(2m, (await app.AccountAsync(account, ct)).GetProperty("held").GetDecimal());
        }
    }

    [Fact]
    public async Task MaxSpendPerDay_WouldBePassed_Answers429UntilTheDayEnds()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        // 0.4 per video: a day of 1 credit covers two.
        var (_, client) = await app.CreateFundedClientAsync(10, accountLimits: new { max_spend_per_day = 1 }, cancellationToken: ct);
        var (_, keyLimited) = await app.CreateFundedClientAsync(10, keyLimits: new { max_spend_per_day = 0.5 }, cancellationToken: ct);
        using (client)
        using (keyLimited)
        {
            using var first = await CreateAsync(client, ct);
            using var second = await CreateAsync(client, ct);
            using var third = await CreateAsync(client, ct);
            using var keyFirst = await CreateAsync(keyLimited, ct);
            using var keySecond = await CreateAsync(keyLimited, ct);

            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            Assert.Equal(HttpStatusCode.OK, second.StatusCode);
            Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
            var untilMidnight = TimeSpan.FromDays(1) - DateTimeOffset.UtcNow.TimeOfDay;
            Assert.True(third.Headers.RetryAfter?.Delta is { } wait && wait <= untilMidnight + TimeSpan.FromSeconds(5) && wait >= untilMidnight - TimeSpan.FromMinutes(1), $"Retry-After {third.Headers.RetryAfter}");
            var error = await ErrorAsync(third, ct);
            Assert.Equal("daily_spend_limit", error.GetProperty("code").GetString());
            Assert.Equal("This account has spent 0.8 of its 1 credits for today (max_spend_per_day), and this request would hold 0.4 more. The day ends at 00:00 UTC.", error.GetProperty("message").GetString());
            Assert.Equal(HttpStatusCode.OK, keyFirst.StatusCode);
            Assert.Equal(HttpStatusCode.TooManyRequests, keySecond.StatusCode);
            Assert.StartsWith("This key has spent 0.4 of its 0.5 credits for today", (await ErrorAsync(keySecond, ct)).GetProperty("message").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task CallbackUrl_OfTheKey_IsTheDefaultOfCreatesThatNameNone()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        var (_, client) = await app.CreateFundedClientAsync(1, mode: "test", accountLimits: new { callback_url = "https://account.example.com/hook" },
            keyLimits: new { callback_url = "https://key.example.com/hook" }, cancellationToken: ct);
        using (client)
        {
            var defaulted = await client.CreateAsync(new { model = "reelay-preview", prompt = "default hook" }, ct);
            var own = await client.CreateAsync(new { model = "reelay-preview", prompt = "own hook", callback_url = "https://own.example.com/hook" }, ct);

            Assert.Equal("https://key.example.com/hook", (await app.AdminTaskViewAsync(defaulted, ct)).GetProperty("callback_url").GetString());
            Assert.Equal("https://own.example.com/hook", (await app.AdminTaskViewAsync(own, ct)).GetProperty("callback_url").GetString());
        }
    }

    [Theory]
    [InlineData("""{"name":"x","limits":{"rpm":5}}""", "limits.rpm", "'limits.rpm' is not a limit; the limits are allowed_models, expires_at, requests_per_minute, max_in_flight, max_spend_per_day, allowed_ips, callback_url.")]
    [InlineData("""{"name":"x","limits":{"allowed_ips":["10.0.0.0/33"]}}""", "limits.allowed_ips[0]", "'limits.allowed_ips[0]' must be a CIDR such as 203.0.113.0/24, or one address.")]
    [InlineData("""{"name":"x","limits":{"allowed_models":["gr*k"]}}""", "limits.allowed_models[0]", "'limits.allowed_models[0]' must be a model name or a prefix ending in * (grok-*).")]
    [InlineData("""{"name":"x","limits":{"max_in_flight":0}}""", "limits.max_in_flight", "'limits.max_in_flight' must be between 1 and 1000000, got 0.")]
    [InlineData("""{"name":"x","limits":{"max_spend_per_day":0.0000001}}""", "limits.max_spend_per_day", "'limits.max_spend_per_day' has more than six decimals or is too large: credits are counted in millionths.")]
    [InlineData("""{"name":"x","limits":{"expires_at":"soon"}}""", "limits.expires_at", "'limits.expires_at' must be a time: Unix milliseconds, or ISO 8601 such as \"2027-01-31T00:00:00Z\".")]
    [InlineData("""{"name":"x","limits":{"callback_url":"ftp://example.com/hook"}}""", "limits.callback_url", "'limits.callback_url' must be an absolute http(s) URL of at most 4096 characters.")]
    public async Task Limits_Invalid_Answer400NamingTheField(string body, string param, string message)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["Engine:Enabled"] = "false" });
        using var admin = app.AdminClient();

        using var key = await admin.PostAsync("/admin/keys", new StringContent(body, Encoding.UTF8, "application/json"), ct);
        using var account = await admin.PostAsync("/admin/accounts", new StringContent(body, Encoding.UTF8, "application/json"), ct);

        foreach (var response in new[] { key, account })
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var error = await ErrorAsync(response, ct);
            Assert.Equal(param, error.GetProperty("param").GetString());
            Assert.Equal(message, error.GetProperty("message").GetString());
        }
    }
}
