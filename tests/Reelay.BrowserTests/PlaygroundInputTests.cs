using System.Text.Json;
using Microsoft.Playwright;
using Reelay.Testing;
using static Microsoft.Playwright.Assertions;

namespace Reelay.BrowserTests;

/// <summary>
/// The playground's other ways in and out: reference images dropped and pasted (sent inline, rendered by the
/// local renderer), and a browser that cannot hold the event stream open falling back to long-polling.
/// </summary>
public sealed class PlaygroundInputTests(Chromium chromium)
{
    [Fact]
    public async Task Generate_OneImageDroppedOnePasted_SendsBothInlineAndRendersThem()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        var key = await app.CreateKeyAsync("test", cancellationToken: ct);
        await using var context = await chromium.NewContextAsync(app);
        var page = await context.SignInAsync(key);
        var errors = page.RecordErrors();
        var png = Convert.ToBase64String(await TestMedia.ImageAsync(320, 180));
        await page.GetByLabel("Prompt", new() { Exact = true }).FillAsync("a harbour at dawn");
        await page.GetByLabel("Model", new() { Exact = true }).SelectOptionAsync("reelay-preview");
        await page.GetByLabel("Duration", new() { Exact = true }).SelectOptionAsync("2");

        // A file dropped on the drop zone, then one pasted anywhere on the page: what the browser hands the page in each case.
        const string files = "async ([b64, name]) => { const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0)); const dt = new DataTransfer(); dt.items.add(new File([bytes], name, { type: 'image/png' })); return dt; }";
        var dropped = await page.EvaluateHandleAsync(files, new object[] { png, "dropped.png" });
        await page.GetByRole(AriaRole.Button, new() { Name = "Add reference images: drop, paste or choose files" })
            .DispatchEventAsync("drop", new Dictionary<string, object> { ["dataTransfer"] = dropped });
        await page.EvaluateAsync(files.Replace("return dt;", "document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true }));", StringComparison.Ordinal), new object[] { png, "pasted.png" });

        var thumbs = page.GetByRole(AriaRole.List, new() { Name = "Reference images" }).Locator("img");
        await Expect(thumbs).ToHaveCountAsync(2);
        Assert.Equal(["dropped.png", "pasted.png"], (await thumbs.EvaluateAllAsync<string[]>("images => images.map(i => i.alt)")).Order());

        // The request as it left the browser: both images inline as data: URLs, the same bytes.
        string? body = null;
        await page.RouteAsync("**/v1/video/create", async route =>
        {
            body = route.Request.PostData;
            await route.ContinueAsync();
        });
        await page.GetByRole(AriaRole.Button, new() { Name = "Generate" }).ClickAsync();
        await Expect(page.Locator(".result video")).ToBeVisibleAsync(new() { Timeout = 120_000 });

        var images = JsonDocument.Parse(body!).RootElement.GetProperty("images").EnumerateArray().Select(i => i.GetString()!).ToList();
        Assert.Equal(2, images.Count);
        Assert.All(images, src => Assert.Equal("data:image/png;base64," + png, src));
        // Rendered from the images: the status says completed, and the file plays.
        await Expect(page.Locator("div.status")).ToHaveAttributeAsync("data-status", "completed");
        await page.WaitForFunctionAsync("() => document.querySelector('.result video').readyState >= 2");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task Generate_EventStreamRefused_FallsBackToLongPollAndStillSeesTheEnd()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        var key = await app.CreateKeyAsync("test", cancellationToken: ct);
        await using var context = await chromium.NewContextAsync(app);
        // As behind a proxy that cuts streaming responses: every event-stream request fails.
        var streams = 0;
        await context.RouteAsync("**/v1/video/events**", async route =>
        {
            Interlocked.Increment(ref streams);
            await route.AbortAsync();
        });
        var waits = new List<string>();
        context.Request += (_, request) =>
        {
            if (request.Url.Contains("/v1/video/query", StringComparison.Ordinal))
            {
                lock (waits)
                {
                    waits.Add(request.Url);
                }
            }
        };
        var page = await context.SignInAsync(key);
        await page.GetByLabel("Prompt", new() { Exact = true }).FillAsync("a lantern in the rain");
        await page.GetByLabel("Model", new() { Exact = true }).SelectOptionAsync("reelay-preview");
        await page.GetByLabel("Duration", new() { Exact = true }).SelectOptionAsync("2");
        await page.GetByRole(AriaRole.Button, new() { Name = "Generate" }).ClickAsync();

        await Expect(page.Locator(".result video")).ToBeVisibleAsync(new() { Timeout = 120_000 });
        var last = page.Locator(".live-log li").Last;
        await Expect(last).ToHaveAttributeAsync("data-status", "completed");
        await Expect(last).ToContainTextAsync("(long-poll)");
        Assert.True(streams >= 1);
        // Long-polls, not tight polling: each query asks to wait for the next change.
        lock (waits)
        {
            Assert.NotEmpty(waits);
            Assert.All(waits, url => Assert.Contains("wait=30", url, StringComparison.Ordinal));
        }
    }
}
