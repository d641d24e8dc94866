using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Tasks;

/// <summary>Backpressure: work that cannot be done in time, or more than a test key may queue, is refused at the door with 429.</summary>
public class AdmissionTests
{
    private const string Body = """{"model":"reelay-preview","prompt":"a lighthouse at dusk","images":[]}""";

    [Fact]
    public async Task Create_TestKeyAtItsInFlightCap_Answers429WithRetryAfterAndStoresNothing()
    {
        var ct = TestContext.Current.CancellationToken;
        // No workers: the first tasks stay unfinished, so the cap is reached and stays reached.
        await using var app = ReelayApp.Start(new Dictionary<string, string?>
        {
            ["Engine:Enabled"] = "false",
            ["Limits:MaxInFlightPerTestKey"] = "3",
        });
        using var client = await app.CreateClientWithKeyAsync("test", ct);
        using var other = await app.CreateClientWithKeyAsync("test", ct);

        for (var i = 0; i < 3; i++)
        {
            using var accepted = await PostAsync(client, ct);
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        }

        using var refused = await PostAsync(client, ct);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero, "429 must say when to retry");
        var error = (await refused.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error");
        Assert.Equal("too_many_tasks", error.GetProperty("code").GetString());
        Assert.Equal("rate_limit_error", error.GetProperty("type").GetString());
        Assert.Contains("Limits:MaxInFlightPerTestKey", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        Assert.Equal(3, await CountTasksAsync(client, ct));
        // The cap is per key: another test key is not held back.
        using var otherAccepted = await PostAsync(other, ct);
        Assert.Equal(HttpStatusCode.OK, otherAccepted.StatusCode);
    }

    [Fact]
    public async Task Create_LocalBacklogPastTheModelsLifetime_Answers429SayingTheRendererIsBusy()
    {
        var ct = TestContext.Current.CancellationToken;
        // One slot, renders expected to take 4 s, a 10 s lifetime: two renders fit (4 s + 4 s ≤ 10 s), a third cannot.
        await using var app = ReelayApp.Start(new Dictionary<string, string?>
        {
            ["Engine:Enabled"] = "false",
            ["LocalRenderer:MaxConcurrentRenders"] = "1",
            ["LocalRenderer:ExpectedRenderTime"] = "00:00:04",
            ["Catalog:Models:reelay-preview:MaxLifetime"] = "00:00:10",
        });
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        using var first = await PostAsync(client, ct);
        using var second = await PostAsync(client, ct);
        using var third = await PostAsync(client, ct);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
        // One render must finish before a third could end in time: about one render's time.
        Assert.Equal(TimeSpan.FromSeconds(4), third.Headers.RetryAfter?.Delta);
        var error = (await third.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error");
        Assert.Equal("renderer_busy", error.GetProperty("code").GetString());
        Assert.StartsWith("The local renderer is busy: 2 renders are queued", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(2, await CountTasksAsync(client, ct));
    }

    private static Task<HttpResponseMessage> PostAsync(HttpClient client, CancellationToken ct) =>
        client.PostAsync("/v1/video/create", new StringContent(Body, System.Text.Encoding.UTF8, "application/json"), ct);

    private static async Task<int> CountTasksAsync(HttpClient client, CancellationToken ct)
    {
        var page = await client.GetFromJsonAsync<JsonElement>("/v1/videos?limit=100", ct);
        return page.GetProperty("data").GetArrayLength();
    }
}
