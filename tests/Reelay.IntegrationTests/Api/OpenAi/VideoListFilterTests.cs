using System.Net.Http.Json;
using System.Text.Json;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Api.OpenAi;

/// <summary><c>GET /v1/videos</c> filtered by status, model and day: the key's own videos only, newest first.</summary>
public sealed class VideoListFilterTests
{
    [Fact]
    public async Task List_FilteredByStatusModelAndDay_ReturnsOnlyTheKeysMatchingVideos()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);
        using var other = await app.CreateClientWithKeyAsync("test", ct);
        var completed = await client.CreateAsync(new { model = "reelay-preview", prompt = "a kite", size = "480P", duration = 1 }, ct);
        // Nothing listens on port 1: the reference image cannot be fetched, so the task fails.
        var failed = await client.CreateAsync(new { model = "grok-video-3", prompt = "a cat", images = new[] { "http://127.0.0.1:1/cat.png" } }, ct);
        var foreign = await other.CreateAsync(new { model = "reelay-preview", prompt = "not yours", size = "480P", duration = 1 }, ct);
        Assert.Equal("completed", (await client.WaitForEndAsync(completed, TimeSpan.FromSeconds(120), ct)).GetProperty("status").GetString());
        Assert.Equal("failed", (await client.WaitForEndAsync(failed, TimeSpan.FromSeconds(120), ct)).GetProperty("status").GetString());
        await other.WaitForEndAsync(foreign, TimeSpan.FromSeconds(120), ct);
        var today = DateTime.UtcNow.ToString("yyyy-MM-dd");
        var tomorrow = DateTime.UtcNow.AddDays(1).ToString("yyyy-MM-dd");

        Assert.Equal([completed], await IdsAsync(client, "status=completed", ct));
        Assert.Equal([failed], await IdsAsync(client, "status=failed", ct));
        Assert.Empty(await IdsAsync(client, "status=in_progress", ct));
        Assert.Equal([failed], await IdsAsync(client, "model=grok-video-3", ct));
        Assert.Equal([failed, completed], await IdsAsync(client, $"from={today}&to={today}", ct));
        Assert.Empty(await IdsAsync(client, $"from={tomorrow}", ct));
        Assert.Equal([foreign], await IdsAsync(other, "model=reelay-preview", ct));

        // Paged like the unfiltered list: the cursor is the previous page's last id.
        var page = await client.GetFromJsonAsync<JsonElement>($"/v1/videos?from={today}&limit=1", ct);
        Assert.True(page.GetProperty("has_more").GetBoolean());
        Assert.Equal([completed], await IdsAsync(client, $"from={today}&limit=1&after={Uri.EscapeDataString(page.GetProperty("last_id").GetString()!)}", ct));
    }

    [Theory]
    [InlineData("status=done", 400, "status", "'status' must be one of queued, in_progress, completed, failed, got 'done'.")]
    [InlineData("status=completed&order=asc", 400, "order", "A filtered list (status, model, from, to) is newest first; leave out 'order' or send 'desc'.")]
    [InlineData("from=12/01/2026", 400, "from", "'from' must be a UTC day as yyyy-MM-dd, got '12/01/2026'.")]
    [InlineData("from=2026-12-01&to=tomorrow", 400, "to", "'to' must be a UTC day as yyyy-MM-dd, got 'tomorrow'.")]
    public async Task List_BadFilter_Answers400NamingTheField(string filter, int status, string param, string message)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        using var response = await client.GetAsync("/v1/videos?" + filter, ct);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error");

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Equal(message, error.GetProperty("message").GetString());
    }

    private static async Task<List<string>> IdsAsync(HttpClient client, string filter, CancellationToken ct)
    {
        var page = await client.GetFromJsonAsync<JsonElement>("/v1/videos?" + filter, ct);
        return [.. page.GetProperty("data").EnumerateArray().Select(video => video.GetProperty("id").GetString()!)];
    }
}
