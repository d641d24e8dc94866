using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using Reelay.Testing;
using static Microsoft.Playwright.Assertions;

namespace Reelay.BrowserTests;

/// <summary>
/// Every page at phone width and in dark mode, saved under TestResults/screenshots beside the test binaries.
/// With REELAY_UPDATE_SCREENSHOTS=1 the playground and the operator overview are also written to
/// docs/screenshots/ for the README.
/// </summary>
public sealed class ScreenshotTests(Chromium chromium)
{
    private static readonly string[] ClientPages = ["playground", "videos"];
    private static readonly string[] AdminPages = ["overview", "accounts", "channels", "catalog", "usage", "audit", "webhooks"];

    [Fact]
    public async Task EveryPage_PhoneWidthAndDarkMode_FitsTheScreenAndIsSaved()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        var (keyId, key) = await app.CreateKeyWithIdAsync("test", "demo", ct);
        using var client = app.ClientFor(key);
        var videoId = await client.CreateAsync(new { model = "reelay-preview", prompt = "夕阳下海滩上空的一只红风筝", size = "480P", duration = 1 }, ct);
        await client.WaitForEndAsync(videoId, TimeSpan.FromSeconds(120), ct);
        using var admin = app.AdminClient();
        var account = (await admin.GetFromJsonAsync<JsonElement>($"/admin/keys/{keyId}", ct)).GetProperty("account_id").GetString()!;
        using (await admin.PostAsJsonAsync($"/admin/accounts/{account}/top-ups", new { amount = 20, reason = "welcome credit" }, ct))
        {
        }

        var pages = new List<(string Key, string Name, string Path)>();
        pages.Add((key, "signin", ""));
        pages.AddRange(ClientPages.Select(name => (key, name, "#/" + name)));
        pages.Add((key, "video", "#/videos/" + Uri.EscapeDataString(videoId)));
        pages.AddRange(AdminPages.Select(name => (app.AdminKey, name, "#/" + name)));
        pages.Add((app.AdminKey, "account", "#/accounts/" + account));

        foreach (var (phone, dark, suffix) in new[] { (true, false, "phone"), (false, true, "dark") })
        {
            await using var clientContext = await chromium.NewContextAsync(app, phone, dark);
            await using var adminContext = await chromium.NewContextAsync(app, phone, dark);
            var clientPage = await clientContext.SignInAsync(key);
            var adminPage = await adminContext.SignInAsync(app.AdminKey);
            var clientErrors = clientPage.RecordErrors();
            var adminErrors = adminPage.RecordErrors();
            foreach (var (pageKey, name, path) in pages)
            {
                await using var signedOut = name == "signin" ? await chromium.NewContextAsync(app, phone, dark) : null;
                var page = signedOut is not null ? await signedOut.NewPageAsync() : pageKey == key ? clientPage : adminPage;
                await page.GotoAsync("/" + path);
                await Expect(page.Locator($"main[data-ready='{path}']")).ToBeAttachedAsync();
                await Expect(page.Locator("main h1").First).ToBeVisibleAsync();
                await Expect(page.Locator("main .error:visible")).ToHaveCountAsync(0);
                if (phone)
                {
                    // Readable at phone width: nothing wider than the screen (wide tables scroll inside their own box).
                    Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), $"{name} is wider than a phone");
                }

                if (dark)
                {
                    var background = await page.EvaluateAsync<string>("() => getComputedStyle(document.body).backgroundColor");
                    Assert.Equal("rgb(17, 18, 24)", background);
                }

                await page.ScreenshotAsync($"{name}-{suffix}");
            }

            Assert.Empty(clientErrors);
            Assert.Empty(adminErrors);
        }

        if (Environment.GetEnvironmentVariable("REELAY_UPDATE_SCREENSHOTS") == "1")
        {
            var docs = Path.Combine(Dashboard.RepositoryRoot(), "docs", "screenshots");
            Directory.CreateDirectory(docs);
            await using var context = await chromium.NewContextAsync(app);
            var playground = await context.SignInAsync(key);
            await playground.GetByLabel("Prompt", new() { Exact = true }).FillAsync("夕阳下海滩上空的一只红风筝 — a red kite over a beach at sunset");
            await playground.GetByRole(AriaRole.Button, new() { Name = "Price it (dry run)" }).ClickAsync();
            await Expect(playground.GetByTestId("quote")).ToContainTextAsync("Price");
            await playground.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(docs, "playground.png"), FullPage = true });
            await using var operatorContext = await chromium.NewContextAsync(app);
            var overview = await operatorContext.SignInAsync(app.AdminKey);
            await Expect(overview.Locator(".stat").First).ToBeVisibleAsync();
            await overview.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(docs, "overview.png"), FullPage = true });
        }
    }
}
