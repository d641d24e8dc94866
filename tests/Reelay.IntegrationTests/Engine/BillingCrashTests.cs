using System.Net.Http.Json;
using System.Text.Json;
using Reelay.Testing;
using Reelay.Testing.Fakes;

namespace Reelay.IntegrationTests.Engine;

/// <summary>
/// Credits across a SIGKILL: killed between the hold and the upstream's answer to the submission, the task
/// fails <c>submit_interrupted</c> and its whole hold comes back; killed between the upstream's success and
/// the settlement (while the video downloads), the restarted finisher charges it once. The books are
/// checked after the last kill (<see cref="LedgerInvariants"/>).
/// </summary>
public class BillingCrashTests
{
    [Fact]
    public async Task Kill9_BetweenHoldAndSubmitAnswer_FailsSubmitInterruptedAndReleasesTheHold()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var relay = await FakeUnifiedRelayServer.StartNewAsync(ct);
        relay.SubmitDelay = TimeSpan.FromMinutes(5);
        await using var server = Start(relay);
        await server.StartAsync(ct);
        var (account, client) = await FundAsync(server, ct);
        using (client)
        {
            var id = await client.CreateAsync(new { model = "grok-video-3", prompt = "killed mid-submit", duration = 10 }, ct);
            await WaitAsync(() => relay.Submissions >= 1, "the submission to reach the relay", ct);

            await server.KillAsync();
            relay.SubmitDelay = TimeSpan.Zero;
            await server.StartAsync(ct);
            var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);

            Assert.Equal("submit_interrupted", task.GetProperty("error").GetProperty("code").GetString());
            Assert.Equal(0m, task.GetProperty("cost").GetDecimal());
            Assert.Equal(1, relay.Submissions);
            Assert.Equal(["hold 0.5", "release 0.5"], await MovementsAsync(server, id, ct));
            var books = await AccountAsync(server, account, ct);
            Assert.Equal(10m, books.GetProperty("balance").GetDecimal());
            Assert.Equal(0m, books.GetProperty("held").GetDecimal());
        }

        await server.KillAsync();
        LedgerInvariants.AssertHold(Path.Combine(server.DataDir, "reelay.db"));
        Directory.Delete(server.DataDir, recursive: true);
    }

    [Fact]
    public async Task Kill9_BetweenUpstreamSuccessAndSettle_ChargesOnceAfterRestart()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var relay = await FakeUnifiedRelayServer.StartNewAsync(ct);
        relay.DownloadDelay = TimeSpan.FromMinutes(5);
        await using var server = Start(relay);
        await server.StartAsync(ct);
        var (account, client) = await FundAsync(server, ct);
        using (client)
        {
            var id = await client.CreateAsync(new { model = "grok-video-3", prompt = "killed mid-download", duration = 10 }, ct);
            await WaitAsync(() => relay.Downloads >= 1, "the finisher to start downloading", ct);

            await server.KillAsync();
            relay.DownloadDelay = TimeSpan.Zero;
            await server.StartAsync(ct);
            var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);

            Assert.Equal("completed", task.GetProperty("status").GetString());
            Assert.Equal(0.05m, task.GetProperty("cost").GetDecimal());
            Assert.Equal(1, relay.Submissions);
            Assert.Equal(["hold 0.5", "charge 0.05", "release 0.45"], await MovementsAsync(server, id, ct));
            var books = await AccountAsync(server, account, ct);
            Assert.Equal(9.95m, books.GetProperty("balance").GetDecimal());
            Assert.Equal(0m, books.GetProperty("held").GetDecimal());
        }

        await server.KillAsync();
        LedgerInvariants.AssertHold(Path.Combine(server.DataDir, "reelay.db"));
        Directory.Delete(server.DataDir, recursive: true);
    }

    private static ServerProcess Start(FakeUnifiedRelayServer relay) =>
        new(Path.Combine(Path.GetTempPath(), "reelay-crash-" + Guid.NewGuid().ToString("N")), "sk-admin-crash-" + Guid.NewGuid().ToString("N"), new Dictionary<string, string>
        {
            ["REELAY_Channels__0__Name"] = "relay",
            ["REELAY_Channels__0__Provider"] = "unified",
            ["REELAY_Channels__0__BaseUrl"] = relay.BaseUrl.ToString(),
            ["REELAY_Channels__0__PollInterval"] = "00:00:00.150",
            ["REELAY_Billing__Prices__grok-video-3__PerSecond"] = "0.05",
            // A short lease so the task a killed process held is taken over quickly.
            ["REELAY_Engine__LeaseDuration"] = "00:00:03",
        });

    private static async Task<(string Account, HttpClient Client)> FundAsync(ServerProcess server, CancellationToken ct)
    {
        using var admin = new HttpClient { BaseAddress = server.BaseAddress };
        var account = await AccountKit.CreateAccountAsync(admin, server.AdminKey, 10, cancellationToken: ct);
        var key = await AccountKit.CreateKeyAsync(admin, server.AdminKey, account, cancellationToken: ct);
        return (account, server.ClientFor(key.Key));
    }

    private static async Task<JsonElement> AccountAsync(ServerProcess server, string account, CancellationToken ct)
    {
        using var admin = new HttpClient { BaseAddress = server.BaseAddress };
        return await AccountKit.GetAccountAsync(admin, server.AdminKey, account, ct);
    }

    private static async Task<string[]> MovementsAsync(ServerProcess server, string id, CancellationToken ct)
    {
        using var admin = server.ClientFor(server.AdminKey);
        return Billing.SettlementTests.Movements(await admin.GetFromJsonAsync<JsonElement>("/admin/tasks/" + Uri.EscapeDataString(id), ct));
    }

    /// <summary>Waits for something the fake observes (a request arriving), up to a generous bound for a loaded machine.</summary>
    private static async Task WaitAsync(Func<bool> condition, string what, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(50, ct);
        }
    }
}
