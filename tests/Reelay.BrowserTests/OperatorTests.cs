using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using Reelay.Testing;
using Reelay.Testing.Fakes;
using static Microsoft.Playwright.Assertions;

namespace Reelay.BrowserTests;

/// <summary>The operator views with an admin key: keys, credits, channels' health.</summary>
public sealed class OperatorTests(Chromium chromium)
{
    [Fact]
    public async Task Keys_CreatedThenRevoked_SecretShownOnceThenRefused()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        await using var context = await chromium.NewContextAsync(app);
        var page = await context.SignInAsync(app.AdminKey);
        page.Dialog += async (_, dialog) => await dialog.AcceptAsync();

        await page.GetByRole(AriaRole.Link, new() { Name = "Accounts & keys" }).ClickAsync();
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("Acme");
        await page.GetByRole(AriaRole.Button, new() { Name = "Open account" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Account", Exact = true })).ToBeVisibleAsync();
        await page.GetByLabel("Key name").FillAsync("acme-web");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();

        var secret = (await page.GetByTestId("new-secret").TextContentAsync())!;
        Assert.StartsWith("sk-test-", secret);
        using (var client = app.ClientFor(secret))
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/models", ct)).StatusCode);
        }

        // Shown once: after a reload the key is listed by its prefix, and its secret is nowhere on the page.
        await page.ReloadAsync();
        var row = page.Locator("tr", new() { HasText = "acme-web" });
        await Expect(row).ToContainTextAsync("active");
        Assert.DoesNotContain(secret, await page.ContentAsync());

        // The key's holder is signed in elsewhere when the operator revokes it.
        await using var holder = await chromium.NewContextAsync(app);
        var holderPage = await holder.SignInAsync(secret);

        await page.GetByRole(AriaRole.Button, new() { Name = "Revoke acme-web" }).ClickAsync();
        await Expect(row).ToContainTextAsync("revoked");
        using (var client = app.ClientFor(secret))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/v1/models", ct)).StatusCode);
        }

        // Its next call is refused, and the holder is back at sign-in with the API's reason.
        await holderPage.GetByRole(AriaRole.Link, new() { Name = "My videos" }).ClickAsync();
        await Expect(holderPage.GetByRole(AriaRole.Heading, new() { Name = "Sign in" })).ToBeVisibleAsync();
        await Expect(holderPage.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Invalid API key: it is unknown or has been revoked.");
        Assert.Null(await holderPage.EvaluateAsync<string?>("() => sessionStorage.getItem('reelay.key')"));
    }

    [Fact]
    public async Task Key_ExpiresWhileSignedIn_NextCallSendsTheHolderToSignInWithTheReason()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        var (keyId, key) = await app.CreateKeyWithIdAsync("test", "soon-expired", ct);
        await using var context = await chromium.NewContextAsync(app);
        var page = await context.SignInAsync(key);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Playground" })).ToBeVisibleAsync();

        using var admin = app.AdminClient();
        using var expired = await admin.PatchAsJsonAsync($"/admin/keys/{keyId}", new { limits = new { expires_at = DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds() } }, ct);
        Assert.Equal(HttpStatusCode.OK, expired.StatusCode);

        await page.GetByRole(AriaRole.Link, new() { Name = "My videos" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("expired at");
        Assert.Null(await page.EvaluateAsync<string?>("() => sessionStorage.getItem('reelay.key')"));
    }

    [Fact]
    public async Task Account_TopUp_ShowsTheNewBalanceAndTheLedgerRow()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var admin = app.AdminClient();
        using var created = await admin.PostAsJsonAsync("/admin/accounts", new { name = "Acme", credits = 10 }, ct);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("id").GetString()!;
        await using var context = await chromium.NewContextAsync(app);
        var page = await context.SignInAsync(app.AdminKey);

        await page.GotoAsync($"/#/accounts/{id}");
        await Expect(page.GetByTestId("balance")).ToHaveTextAsync("10");
        await page.GetByLabel("Movement").SelectOptionAsync("top-ups");
        await page.GetByLabel("Amount", new() { Exact = true }).FillAsync("25.5");
        await page.GetByLabel("Reason", new() { Exact = true }).FillAsync("invoice 2026-118");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();

        await Expect(page.GetByTestId("balance")).ToHaveTextAsync("35.5");
        await Expect(page.GetByTestId("available")).ToHaveTextAsync("35.5");
        var newest = page.GetByTestId("ledger").Locator("tbody tr").First;
        await Expect(newest).ToContainTextAsync("topup");
        await Expect(newest).ToContainTextAsync("25.5");
        await Expect(newest).ToContainTextAsync("invoice 2026-118");
        var account = await admin.GetFromJsonAsync<JsonElement>($"/admin/accounts/{id}", ct);
        Assert.Equal(35.5m, account.GetProperty("balance").GetDecimal());

        // A bad amount is the API's own 400 message, shown where the operator acted.
        await page.GetByLabel("Amount", new() { Exact = true }).FillAsync("0");
        await page.GetByLabel("Reason", new() { Exact = true }).FillAsync("nothing");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("amount");
        await Expect(page.GetByTestId("balance")).ToHaveTextAsync("35.5");
    }

    [Fact]
    public async Task Account_LimitsEdited_AreShownAndInForceForItsKeys()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var admin = app.CreateClient();
        var id = await AccountKit.CreateAccountAsync(admin, app.AdminKey, unlimited: true, name: "Limited", cancellationToken: ct);
        var key = await AccountKit.CreateKeyAsync(admin, app.AdminKey, id, "test", cancellationToken: ct);
        await using var context = await chromium.NewContextAsync(app);
        var page = await context.SignInAsync(app.AdminKey);

        await page.GotoAsync($"/#/accounts/{id}");
        await Expect(page.GetByTestId("limits")).ToHaveTextAsync("none");
        await page.GetByLabel("Max in flight").FillAsync("2");
        await page.GetByLabel("Requests per minute").FillAsync("30");
        await page.GetByLabel("Allowed models").FillAsync("reelay-*, sora-2");
        await page.GetByRole(AriaRole.Button, new() { Name = "Set limits" }).ClickAsync();

        await Expect(page.GetByTestId("limits")).ToContainTextAsync("max_in_flight: 2");
        await Expect(page.GetByTestId("limits")).ToContainTextAsync("requests_per_minute: 30");
        await Expect(page.GetByTestId("limits")).ToContainTextAsync("allowed_models: reelay-*, sora-2");
        var limits = (await AccountKit.GetAccountAsync(admin, app.AdminKey, id, ct)).GetProperty("limits");
        Assert.Equal(2, limits.GetProperty("max_in_flight").GetInt32());
        Assert.Equal(["reelay-*", "sora-2"], limits.GetProperty("allowed_models").EnumerateArray().Select(m => m.GetString()));

        // In force for the account's key: a model outside the list is a 403 naming it, the rate limit is in the headers.
        using var client = app.ClientFor(key.Key);
        using var refused = await client.PostAsJsonAsync("/v1/video/create", new { model = "grok-video-3", prompt = "a cat" }, ct);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("grok-video-3", (await refused.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error").GetProperty("message").GetString());
        using var allowed = await client.PostAsJsonAsync("/v1/video/create", new { model = "reelay-preview", prompt = "a cat", duration = 1 }, ct);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal("30", allowed.Headers.GetValues("x-ratelimit-limit-requests").Single());

        // A bad value is the API's own message, where the operator acted.
        await page.GetByLabel("Max in flight").FillAsync("0");
        await page.GetByLabel("Max in flight").EvaluateAsync("input => input.removeAttribute('min')");
        await page.GetByRole(AriaRole.Button, new() { Name = "Set limits" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("max_in_flight");
        await Expect(page.GetByTestId("limits")).ToContainTextAsync("max_in_flight: 2");
    }

    [Fact]
    public async Task Channels_UpstreamRefusesTheKey_ShowsItsBreakerOpen()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broken = await FakeXaiServer.StartNewAsync(ct);
        await using var healthy = await FakeXaiServer.StartNewAsync(ct);
        broken.Scenario = FakeScenario.Unauthorized;
        await using var app = ReelayApp.Start(new Dictionary<string, string?>
        {
            ["Engine:RetryDelay"] = "00:00:00.200",
            ["ChannelHealth:FailuresToOpen"] = "1",
            ["ChannelHealth:CoolDown"] = "00:10:00",
            ["Channels:0:Name"] = "broken",
            ["Channels:0:Provider"] = "xai",
            ["Channels:0:BaseUrl"] = broken.BaseUrl.ToString(),
            ["Channels:0:ApiKey"] = "upstream-secret-key",
            ["Channels:0:Priority"] = "0",
            ["Channels:0:PollInterval"] = "00:00:00.100",
            ["Channels:1:Name"] = "healthy",
            ["Channels:1:Provider"] = "xai",
            ["Channels:1:BaseUrl"] = healthy.BaseUrl.ToString(),
            ["Channels:1:ApiKey"] = "upstream-secret-key",
            ["Channels:1:Priority"] = "1",
            ["Channels:1:PollInterval"] = "00:00:00.100",
        });
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        // The broken channel refuses the first submission, which opens its breaker; the task fails over.
        var id = await client.CreateAsync(new { model = "grok-video-3", prompt = "a cat" }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);
        Assert.Equal("completed", task.GetProperty("status").GetString());
        Assert.Equal(1, broken.Submissions);

        await using var context = await chromium.NewContextAsync(app);
        var page = await context.SignInAsync(app.AdminKey);
        await page.GetByRole(AriaRole.Link, new() { Name = "Channels" }).ClickAsync();
        var brokenRow = page.Locator("tr[data-channel='broken']");
        var healthyRow = page.Locator("tr[data-channel='healthy']");
        await Expect(brokenRow.Locator("[data-breaker]")).ToHaveAttributeAsync("data-breaker", "open");
        await Expect(brokenRow).ToContainTextAsync("breaker open");
        await Expect(healthyRow.Locator("[data-breaker]")).ToHaveAttributeAsync("data-breaker", "closed");
        await Expect(brokenRow.Locator("td").Nth(6)).ToHaveTextAsync("1");

        // The overview counts it too.
        await page.GetByRole(AriaRole.Link, new() { Name = "Overview" }).ClickAsync();
        await Expect(page.Locator(".stat", new() { HasText = "Breakers not closed" }).Locator("strong")).ToHaveTextAsync("1");
    }
}
