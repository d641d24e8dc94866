using Microsoft.Playwright;
using Reelay.Testing;

namespace Reelay.BrowserTests;

/// <summary>Speaks the dashboard: a fresh browser context per test, sign-in, screenshots kept as test artifacts.</summary>
public static class Dashboard
{
    /// <summary>Where every screenshot goes: beside the test binaries, kept by CI as an artifact.</summary>
    public static string ScreenshotDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "TestResults", "screenshots");

    /// <param name="locale">The browser's language, which picks the UI text (<c>zh-CN</c> for Chinese).</param>
    public static async Task<IBrowserContext> NewContextAsync(this Chromium chromium, ReelayApp app, bool phone = false, bool dark = false, string locale = "en-US")
    {
        var context = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = app.BaseAddress.ToString(),
            Locale = locale,
            ViewportSize = phone ? new ViewportSize { Width = 390, Height = 844 } : new ViewportSize { Width = 1280, Height = 900 },
            IsMobile = phone,
            HasTouch = phone,
            DeviceScaleFactor = 1,
            ColorScheme = dark ? ColorScheme.Dark : ColorScheme.Light,
        });
        // Expect() assertions wait for the page; a generous bound for a 2-core box running other suites.
        context.SetDefaultTimeout(30_000);
        return context;
    }

    /// <summary>Opens the dashboard and signs in with <paramref name="key"/>; returns once the first page of that kind of key shows.</summary>
    /// <param name="chinese">The context's UI is in Chinese: the labels to find are the Chinese ones.</param>
    public static async Task<IPage> SignInAsync(this IBrowserContext context, string key, bool chinese = false)
    {
        var page = await context.NewPageAsync();
        await page.GotoAsync("/");
        await page.GetByLabel(chinese ? "API 密钥" : "API key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = chinese ? "登录" : "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = chinese ? "退出" : "Sign out" })).ToBeVisibleAsync();
        return page;
    }

    /// <summary>
    /// Collects what the page reports as broken from now on: script errors and console errors, which is
    /// also where Chromium reports anything the Content-Security-Policy refused.
    /// </summary>
    public static List<string> RecordErrors(this IPage page)
    {
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                lock (errors)
                {
                    errors.Add(message.Text);
                }
            }
        };
        page.PageError += (_, error) =>
        {
            lock (errors)
            {
                errors.Add(error);
            }
        };
        return errors;
    }

    public static async Task ScreenshotAsync(this IPage page, string name)
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });
    }

    /// <summary>The repository's root (where Reelay.slnx is), for the screenshots the README shows.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Reelay.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Reelay.slnx not found above " + AppContext.BaseDirectory);
    }
}
