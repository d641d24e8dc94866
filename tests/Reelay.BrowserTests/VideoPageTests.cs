using Microsoft.Playwright;
using Reelay.Testing;
using static Microsoft.Playwright.Assertions;

namespace Reelay.BrowserTests;

/// <summary>A video's own page (status timeline, webhook deliveries), and the dashboard in a Chinese browser.</summary>
public sealed class VideoPageTests(Chromium chromium)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task TaskPage_VideoWithACallback_ShowsItsTimelineAndDeliveredWebhooks()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var receiver = await WebhookReceiver.StartAsync(ct);
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["Webhooks:IdleDelay"] = "00:00:00.100" });
        var (_, key, secret) = await app.CreateWebhookAccountAsync(cancellationToken: ct);
        receiver.Secrets = [secret];
        using var client = app.ClientFor(key.Key);
        var id = await client.CreateAsync(new { model = "reelay-preview", prompt = "a lighthouse", duration = 1, callback_url = receiver.Url.ToString() }, ct);
        await client.WaitForEndAsync(id, Timeout, ct);
        await receiver.WaitForEventsAsync(2, Timeout, ct);

        await using var context = await chromium.NewContextAsync(app);
        var page = await context.SignInAsync(key.Key);
        var errors = page.RecordErrors();
        // The log records the receiver's answers just after it has the events: reload until both read delivered.
        var deliveries = page.Locator("tr[data-delivery]");
        for (var deadline = DateTime.UtcNow + Timeout; ; await Task.Delay(200, ct))
        {
            await page.GotoAsync($"/#/videos/{id}");
            await page.ReloadAsync();
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "a lighthouse" })).ToBeVisibleAsync();
            if (await deliveries.Filter(new() { HasText = "delivered" }).CountAsync() == 2 || DateTime.UtcNow > deadline)
            {
                break;
            }
        }

        var events = await page.GetByTestId("timeline").Locator("li").EvaluateAllAsync<string[]>("items => items.map(li => li.dataset.event)");
        Assert.Equal(["created", "submitted", "completed"], events);
        await Expect(page.GetByTestId("timeline").Locator("li").Last).ToContainTextAsync("completed");
        Assert.Equal(["video.completed", "video.processing"], await deliveries.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.delivery)"));
        await Expect(deliveries.Filter(new() { HasText = "delivered" })).ToHaveCountAsync(2);
        await Expect(deliveries.First).ToContainTextAsync(receiver.Url.ToString());
        await Expect(deliveries.First).ToContainTextAsync("200");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task ChineseBrowser_GenerateAndOpenTheTaskPage_EverythingReadsInChinese()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        var key = await app.CreateKeyAsync("test", cancellationToken: ct);
        await using var context = await chromium.NewContextAsync(app, locale: "zh-CN");
        var page = await context.SignInAsync(key, chinese: true);
        var errors = page.RecordErrors();

        Assert.Equal("zh-CN", await page.EvaluateAsync<string>("() => document.documentElement.lang"));
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "试验场" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "我的视频" })).ToBeVisibleAsync();
        await page.GetByLabel("提示词", new() { Exact = true }).FillAsync("夕阳下海滩上空的一只红风筝");
        await page.GetByLabel("模型", new() { Exact = true }).SelectOptionAsync("reelay-preview");
        await page.GetByLabel("时长", new() { Exact = true }).SelectOptionAsync("1");
        await page.GetByRole(AriaRole.Button, new() { Name = "估价（不生成）" }).ClickAsync();
        await Expect(page.GetByTestId("quote")).ToContainTextAsync("测试模式：不扣费");
        await page.GetByRole(AriaRole.Button, new() { Name = "生成", Exact = true }).ClickAsync();
        await Expect(page.Locator(".result video")).ToBeVisibleAsync(new() { Timeout = 120_000 });
        await Expect(page.Locator(".live-log li").Last).ToContainTextAsync("已完成");

        await page.GetByRole(AriaRole.Link, new() { Name = "任务页" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "夕阳下海滩上空的一只红风筝" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "状态时间线" })).ToBeVisibleAsync();
        await Expect(page.GetByTestId("timeline").Locator("li").Last).ToContainTextAsync("已完成");
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "下载 MP4" })).ToBeVisibleAsync();
        await Expect(page.GetByText("没有 Webhook 投递", new() { Exact = false })).ToBeVisibleAsync();
        // None of the page's own labels left in English.
        var text = await page.Locator("main").InnerTextAsync();
        foreach (var english in (string[])["Request", "Status timeline", "Webhook deliveries", "Download MP4", "My videos", "Duration"])
        {
            Assert.DoesNotContain(english, text, StringComparison.Ordinal);
        }

        Assert.Empty(errors);
    }
}
