using System.Text.Json;
using Microsoft.Playwright;
using Reelay.Testing;
using static Microsoft.Playwright.Assertions;

namespace Reelay.BrowserTests;

/// <summary>The playground with a test-mode key: a real local render, watched live, played in the page.</summary>
public sealed class PlaygroundTests(Chromium chromium)
{
    [Fact]
    public async Task Generate_TestModeKey_ShowsProgressMovingThenPlaysSeeksAndDownloads()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        var key = await app.CreateKeyAsync("test", cancellationToken: ct);
        await using var context = await chromium.NewContextAsync(app);
        var page = await context.SignInAsync(key);
        var errors = page.RecordErrors();

        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Playground" })).ToBeVisibleAsync();
        await page.GetByLabel("Prompt", new() { Exact = true }).FillAsync("a red kite over a beach");
        await page.GetByLabel("Model", new() { Exact = true }).SelectOptionAsync("reelay-preview");
        await page.GetByLabel("Aspect ratio", new() { Exact = true }).SelectOptionAsync("16:9");
        await page.GetByLabel("Size", new() { Exact = true }).SelectOptionAsync("720P");
        await page.GetByLabel("Duration", new() { Exact = true }).SelectOptionAsync("4");

        // The dry run answers the price without making anything (test keys are never charged).
        await page.GetByRole(AriaRole.Button, new() { Name = "Price it (dry run)" }).ClickAsync();
        await Expect(page.GetByTestId("quote")).ToContainTextAsync("Price: 0 credits (720P, 4 s) · test mode: not charged");

        // The code samples carry the request as it stands.
        await page.GetByRole(AriaRole.Tab, new() { Name = "curl" }).ClickAsync();
        await Expect(page.Locator("[data-lang='curl'] pre")).ToContainTextAsync("\"prompt\":\"a red kite over a beach\"");
        await page.GetByRole(AriaRole.Tab, new() { Name = "C#" }).ClickAsync();
        await Expect(page.Locator("[data-lang='C#'] pre")).ToContainTextAsync("\"\"duration\"\":4");

        await page.GetByRole(AriaRole.Button, new() { Name = "Generate" }).ClickAsync();

        var video = page.Locator(".result video");
        await Expect(video).ToBeVisibleAsync(new() { Timeout = 120_000 });
        // The page's live log: every state the event stream reported, in order.
        var seen = await page.Locator(".live-log li").EvaluateAllAsync<JsonElement>("items => items.map(li => ({ status: li.dataset.status, progress: Number(li.dataset.progress) }))");
        var states = seen.EnumerateArray().Select(s => (Status: s.GetProperty("status").GetString(), Progress: s.GetProperty("progress").GetInt32())).ToList();
        Assert.Contains("(SSE)", await page.Locator(".live-log li").Last.TextContentAsync());
        Assert.Equal(("completed", 100), states[^1]);
        Assert.Contains(states, s => s.Status == "processing" && s.Progress is > 0 and < 100);
        Assert.Equal(states.Select(s => s.Progress).Order(), states.Select(s => s.Progress));

        // It plays: enough data for playback, and the clock moves.
        await page.WaitForFunctionAsync("() => document.querySelector('.result video').readyState >= 3");
        await video.EvaluateAsync("v => v.play()");
        var start = await video.EvaluateAsync<double>("v => v.currentTime");
        await page.WaitForFunctionAsync("t => document.querySelector('.result video').currentTime > t", start);

        // It seeks.
        await video.EvaluateAsync("v => { v.pause(); v.currentTime = 2.5; }");
        await page.WaitForFunctionAsync("() => { const v = document.querySelector('.result video'); return !v.seeking && v.readyState >= 2 && Math.abs(v.currentTime - 2.5) < 0.1; }");
        Assert.InRange(await video.EvaluateAsync<double>("v => v.duration"), 3.5, 4.5);

        // The download link is the same signed file, an MP4, with a file name to save it under.
        var download = page.GetByRole(AriaRole.Link, new() { Name = "Download MP4" });
        Assert.Equal(await video.GetAttributeAsync("src"), await download.GetAttributeAsync("href"));
        Assert.EndsWith(".mp4", await download.GetAttributeAsync("download"));
        var file = await context.APIRequest.GetAsync((await download.GetAttributeAsync("href"))!);
        Assert.Equal(200, file.Status);
        Assert.StartsWith("video/mp4", file.Headers["content-type"]);
        Assert.Empty(errors);
    }
}
