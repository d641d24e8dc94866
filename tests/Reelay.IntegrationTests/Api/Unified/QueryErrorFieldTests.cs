using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Tasks;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Api.Unified;

/// <summary>
/// <c>error</c> is in the query answer only when the task failed or was cancelled: relay clients test
/// <c>typeof error === 'object'</c> (true for null) and would show "null" under every good video.
/// The raw JSON is read, since a parsed null and a missing key look alike to most helpers.
/// </summary>
public class QueryErrorFieldTests
{
    /// <summary>Every query field but <c>error</c>: these stay present whatever the status.</summary>
    private static readonly string[] AlwaysPresent =
    [
        "aspect_ratio", "completed_at", "cost", "created_at", "duration", "enhanced_prompt", "height", "id", "model", "progress",
        "prompt", "size", "status", "status_update_time", "thumbnail_url", "video_url", "width",
    ];

    [Fact]
    public async Task Query_UnfinishedThenCompletedTask_LeavesErrorOutAndKeepsEveryOtherField()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        using var created = await client.PostAsJsonAsync("/v1/video/create", new { model = "reelay-preview", prompt = "a quiet harbour", duration = 1 }, ct);
        using var createAnswer = JsonDocument.Parse(await created.Content.ReadAsStringAsync(ct));
        Assert.Equal(["id", "status", "status_update_time"], createAnswer.RootElement.EnumerateObject().Select(p => p.Name));
        var id = createAnswer.RootElement.GetProperty("id").GetString()!;

        var early = await RawQueryAsync(client, id, ct);
        Assert.NotEqual("failed", early.GetProperty("status").GetString());
        Assert.Equal(AlwaysPresent, Names(early));

        var done = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(120), ct);
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(AlwaysPresent, Names(await RawQueryAsync(client, id, ct)));
    }

    [Fact]
    public async Task Query_FailedTask_CarriesErrorWithCodeAndMessage()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var images = await StaticServer.ServingAsync(
            new Dictionary<string, (byte[], string)> { ["/cat.png"] = ("%PDF-1.7 not an image"u8.ToArray(), "image/png") }, ct);
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        var id = await client.CreateAsync(new { model = "reelay-preview", prompt = "from a broken image", images = new[] { images.Url("/cat.png").ToString() } }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);

        Assert.Equal("failed", task.GetProperty("status").GetString());
        var raw = await RawQueryAsync(client, id, ct);
        Assert.Equal(AlwaysPresent.Append("error").Order(StringComparer.Ordinal), Names(raw));
        var error = raw.GetProperty("error");
        Assert.Equal(["code", "message"], error.EnumerateObject().Select(p => p.Name));
        Assert.Equal("image_invalid", error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task Query_CancelledTask_CarriesError()
    {
        var ct = TestContext.Current.CancellationToken;
        // No workers: the task waits, so it is still unfinished when it is cancelled.
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["Engine:Enabled"] = "false" });
        var (keyId, key) = await app.CreateKeyWithIdAsync("test", cancellationToken: ct);
        using var client = app.ClientFor(key);
        var id = await client.CreateAsync(new { model = "reelay-preview", prompt = "never mind" }, ct);
        Assert.Equal(AlwaysPresent, Names(await RawQueryAsync(client, id, ct)));

        var store = app.Services.GetRequiredService<ITaskStore>();
        Assert.NotNull(await store.CancelAsync(id, keyId, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), ct));

        var raw = await RawQueryAsync(client, id, ct);
        Assert.Equal("cancelled", raw.GetProperty("status").GetString());
        Assert.Equal("cancelled", raw.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("Cancelled by the client.", raw.GetProperty("error").GetProperty("message").GetString());
    }

    private static async Task<JsonElement> RawQueryAsync(HttpClient client, string id, CancellationToken ct)
    {
        using var response = await client.GetAsync("/v1/video/query?id=" + Uri.EscapeDataString(id), ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.IsSuccessStatusCode, text);
        using var json = JsonDocument.Parse(text);
        return json.RootElement.Clone();
    }

    private static List<string> Names(JsonElement answer) => answer.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToList();
}
