using System.Net;
using System.Text.Json;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Api.Unified;

public sealed class TenantIsolationTests
{
    private static async Task<(HttpStatusCode Status, JsonElement Error)> QueryErrorAsync(HttpClient client, string id)
    {
        var ct = TestContext.Current.CancellationToken;
        using var response = await client.GetAsync("/v1/video/query?id=" + Uri.EscapeDataString(id), ct);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        return (response.StatusCode, json.RootElement.GetProperty("error").Clone());
    }

    [Fact]
    public async Task Query_AnotherKeysTask_Returns404ShapedLikeMissingTask()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["Engine:Enabled"] = "false" });
        using var a = await app.CreateClientWithKeyAsync("test", ct);
        using var b = await app.CreateClientWithKeyAsync("test", ct);
        var id = await a.CreateAsync(new { model = "grok-video-3", prompt = "a cat" }, ct);
        var missing = "grok:" + Guid.NewGuid().ToString("D");

        var (otherStatus, other) = await QueryErrorAsync(b, id);
        var (missingStatus, absent) = await QueryErrorAsync(b, missing);

        Assert.Equal(HttpStatusCode.NotFound, otherStatus);
        Assert.Equal(missingStatus, otherStatus);
        foreach (var field in (string[])["type", "code", "param"])
        {
            Assert.Equal(absent.GetProperty(field).GetString(), other.GetProperty(field).GetString());
        }

        // The same sentence with only the id swapped: nothing says the task exists elsewhere.
        Assert.Equal(absent.GetProperty("message").GetString()!.Replace(missing, "<id>", StringComparison.Ordinal),
            other.GetProperty("message").GetString()!.Replace(id, "<id>", StringComparison.Ordinal));
        var task = await a.QueryAsync(id, ct);
        Assert.Equal(id, task.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Query_OwnerKeyRevoked_Returns401()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["Engine:Enabled"] = "false" });
        var (keyId, key) = await app.CreateKeyWithIdAsync("test", "a", ct);
        using var a = app.ClientFor(key);
        var id = await a.CreateAsync(new { model = "reelay-preview", prompt = "a cat" }, ct);
        using var admin = app.AdminClient();
        using (var revoke = await admin.DeleteAsync($"/admin/keys/{keyId}", ct))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        }

        var (status, error) = await QueryErrorAsync(a, id);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
    }
}
