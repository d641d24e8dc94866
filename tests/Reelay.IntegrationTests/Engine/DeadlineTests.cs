using Reelay.Testing;
using Reelay.Testing.Fakes;

namespace Reelay.IntegrationTests.Engine;

/// <summary>Every task ends, even when its upstream never finishes.</summary>
public class DeadlineTests
{
    [Fact]
    public async Task Task_UpstreamNeverFinishes_FailsWithTimeoutAtMaxLifetime()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = await FakeXaiServer.StartNewAsync(ct);
        fake.Scenario = FakeScenario.Slow;
        fake.SlowPolls = 100_000;
        await using var app = ReelayApp.Start(new Dictionary<string, string?>
        {
            ["Channels:0:Name"] = "xai",
            ["Channels:0:Provider"] = "xai",
            ["Channels:0:BaseUrl"] = fake.BaseUrl.ToString(),
            ["Channels:0:PollInterval"] = "00:00:00.100",
            ["Catalog:Models:grok-video-3:MaxLifetime"] = "00:00:02",
            ["Engine:SweepInterval"] = "00:00:00.200",
        });
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        var id = await client.CreateAsync(new { model = "grok-video-3", prompt = "forever" }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(30), ct);

        Assert.Equal("failed", task.GetProperty("status").GetString());
        Assert.Equal("timeout", task.GetProperty("error").GetProperty("code").GetString());
        Assert.True(fake.Polls > 0);
    }

    [Fact]
    public async Task Task_LocalRenderOutlivesLifetime_FailsWithTimeoutAndRenderStops()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(new Dictionary<string, string?>
        {
            ["Catalog:Models:reelay-preview:MaxLifetime"] = "00:00:01",
            ["Engine:SweepInterval"] = "00:00:00.200",
            // Admission would rightly refuse a render that cannot fit its lifetime; this test is about the sweeper.
            ["Limits:LocalAdmission"] = "false",
        });
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        var id = await client.CreateAsync(new { model = "reelay-preview", prompt = "too long to render", size = "1080P", duration = 15 }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(30), ct);

        Assert.Equal("timeout", task.GetProperty("error").GetProperty("code").GetString());
        // Cancelling the local job removes its work directory.
        var jobs = Path.Combine(app.DataDir, "work", "local");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Directory.Exists(jobs) && Directory.EnumerateDirectories(jobs).Any())
        {
            Assert.True(DateTime.UtcNow < deadline, "the local render's job directory is still there");
            await Task.Delay(100, ct);
        }
    }
}
