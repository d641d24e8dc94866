using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Reelay.IntegrationTests.Channels;
using Reelay.Tasks;
using Reelay.Testing;
using Reelay.Testing.Fakes;

namespace Reelay.IntegrationTests.Billing;

/// <summary>
/// Settlement, end to end against a fake relay whose every video is 1 s long: a completed task is charged
/// the seconds actually stored (never more than its hold) and the rest released; a task that ends any other
/// way is charged nothing and its whole hold released. The ledger rows say so, and the account's numbers follow.
/// </summary>
public class SettlementTests
{
    private static Dictionary<string, string?> Prices(string unit = "PerSecond", string amount = "0.05") => new()
    {
        [$"Billing:Prices:grok-video-3:{unit}"] = amount,
        ["Engine:SweepInterval"] = "00:00:00.200",
    };

    [Fact]
    public async Task Completed_UpstreamMadeAShorterVideo_ChargesTheSecondsStoredAndReleasesTheRest()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var relay = await FakeUnifiedRelayServer.StartNewAsync(ct);
        await using var app = UpstreamGateway.Start([new("relay", "unified", relay)], Prices());
        var (account, client) = await app.CreateFundedClientAsync(10, cancellationToken: ct);
        using (client)
        {
            var id = await client.CreateAsync(new { model = "grok-video-3", prompt = "ten seconds, please", duration = 10 }, ct);
            var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);

            Assert.Equal("completed", task.GetProperty("status").GetString());
            Assert.Equal(0.05m, task.GetProperty("cost").GetDecimal());
            var view = await app.AdminTaskViewAsync(id, ct);
            Assert.Equal(1.0, view.GetProperty("video_seconds").GetDouble(), 2);
            Assert.Equal(["hold 0.5", "charge 0.05", "release 0.45"], Movements(view));
            var books = await app.AccountAsync(account, ct);
            Assert.Equal(9.95m, books.GetProperty("balance").GetDecimal());
            Assert.Equal(0m, books.GetProperty("held").GetDecimal());
        }
    }

    [Fact]
    public async Task Completed_PricedPerVideo_ChargesTheWholeHold()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var relay = await FakeUnifiedRelayServer.StartNewAsync(ct);
        await using var app = UpstreamGateway.Start([new("relay", "unified", relay)], Prices("PerVideo", "2"));
        var (account, client) = await app.CreateFundedClientAsync(5, cancellationToken: ct);
        using (client)
        {
            var id = await client.CreateAsync(new { model = "grok-video-3", prompt = "one video", duration = 10 }, ct);
            var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);

            Assert.Equal(2m, task.GetProperty("cost").GetDecimal());
            Assert.Equal(["hold 2", "charge 2"], Movements(await app.AdminTaskViewAsync(id, ct)));
            Assert.Equal(3m, (await app.AccountAsync(account, ct)).GetProperty("balance").GetDecimal());
        }
    }

    [Theory]
    [InlineData(FakeScenario.RefuseAtSubmit, "content_policy")]
    [InlineData(FakeScenario.RefuseAtPoll, "content_policy")]
    [InlineData(FakeScenario.ResultNotVideo, "upstream_result_invalid")]
    [InlineData(FakeScenario.ResultNotFound, "upstream_result_invalid")]
    public async Task Failed_AnyStage_ReleasesTheWholeHoldAndChargesNothing(FakeScenario scenario, string code)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var relay = await FakeUnifiedRelayServer.StartNewAsync(ct);
        relay.Scenario = scenario;
        await using var app = UpstreamGateway.Start([new("relay", "unified", relay)], new Dictionary<string, string?>(Prices()) { ["Engine:MaxConsecutiveFailures"] = "2" });
        var (account, client) = await app.CreateFundedClientAsync(10, cancellationToken: ct);
        using (client)
        {
            var id = await client.CreateAsync(new { model = "grok-video-3", prompt = "refused somewhere", duration = 10 }, ct);
            var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);

            Assert.Equal("failed", task.GetProperty("status").GetString());
            Assert.Equal(code, task.GetProperty("error").GetProperty("code").GetString());
            Assert.Equal(0m, task.GetProperty("cost").GetDecimal());
            Assert.Equal(["hold 0.5", "release 0.5"], Movements(await app.AdminTaskViewAsync(id, ct)));
            var books = await app.AccountAsync(account, ct);
            Assert.Equal(10m, books.GetProperty("balance").GetDecimal());
            Assert.Equal(10m, books.GetProperty("available").GetDecimal());
        }
    }

    [Fact]
    public async Task TimedOut_UpstreamNeverFinishes_ReleasesTheWholeHold()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var relay = await FakeUnifiedRelayServer.StartNewAsync(ct);
        relay.Scenario = FakeScenario.Slow;
        relay.SlowPolls = 100_000;
        await using var app = UpstreamGateway.Start([new("relay", "unified", relay)],
            new Dictionary<string, string?>(Prices()) { ["Catalog:Models:grok-video-3:MaxLifetime"] = "00:00:02" });
        var (account, client) = await app.CreateFundedClientAsync(10, cancellationToken: ct);
        using (client)
        {
            var id = await client.CreateAsync(new { model = "grok-video-3", prompt = "forever", duration = 10 }, ct);
            var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(30), ct);

            Assert.Equal("timeout", task.GetProperty("error").GetProperty("code").GetString());
            Assert.Equal(["hold 0.5", "release 0.5"], Movements(await app.AdminTaskViewAsync(id, ct)));
            Assert.Equal(10m, (await app.AccountAsync(account, ct)).GetProperty("available").GetDecimal());
        }
    }

    [Fact]
    public async Task Cancelled_WhileRunning_ReleasesTheWholeHold()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var relay = await FakeUnifiedRelayServer.StartNewAsync(ct);
        relay.Scenario = FakeScenario.Slow;
        relay.SlowPolls = 100_000;
        await using var app = UpstreamGateway.Start([new("relay", "unified", relay)], Prices());
        var (account, client) = await app.CreateFundedClientAsync(10, cancellationToken: ct);
        using (client)
        {
            var id = await client.CreateAsync(new { model = "grok-video-3", prompt = "never mind", duration = 10 }, ct);
            var owner = (await app.AdminTaskViewAsync(id, ct)).GetProperty("owner_key_id").GetString()!;

            // No route cancels yet; the store's cancel is the path a cancel route takes.
            var cancelled = await app.Services.GetRequiredService<ITaskStore>().CancelAsync(id, owner, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), ct);

            Assert.NotNull(cancelled);
            Assert.Equal(0, cancelled.Charged);
            Assert.Equal(["hold 0.5", "release 0.5"], Movements(await app.AdminTaskViewAsync(id, ct)));
            Assert.Equal(10m, (await app.AccountAsync(account, ct)).GetProperty("available").GetDecimal());
        }
    }

    /// <summary>"kind amount" for each of a task's ledger rows, in order.</summary>
    internal static string[] Movements(JsonElement adminView) =>
        [.. adminView.GetProperty("ledger").EnumerateArray().Select(row =>
            $"{row.GetProperty("kind").GetString()} {row.GetProperty("amount").GetDecimal().ToString(System.Globalization.CultureInfo.InvariantCulture)}")];
}
