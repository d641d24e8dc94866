using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Tasks;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Api.Unified;

/// <summary>
/// One API-only instance (no workers): tasks stay pending, so every answer shows the request exactly
/// as normalized at create, and nothing races a renderer.
/// </summary>
public sealed class CreateFixture : IAsyncLifetime
{
    public ReelayApp App { get; private set; } = null!;

    public HttpClient Client { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        App = ReelayApp.Start(new Dictionary<string, string?> { ["Engine:Enabled"] = "false" });
        Client = await App.CreateClientWithKeyAsync("test", TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.DisposeAsync();
    }
}

public sealed class CreateTests(CreateFixture fixture) : IClassFixture<CreateFixture>
{
    /// <summary>The documented query fields but <c>error</c>, which only a failed or cancelled task has.</summary>
    private static readonly string[] DocumentedQueryFields =
    [
        "id", "status", "status_update_time", "progress", "video_url", "thumbnail_url", "enhanced_prompt", "model", "prompt",
        "aspect_ratio", "size", "duration", "width", "height", "created_at", "completed_at", "cost",
    ];

    private HttpClient Client => fixture.Client;

    private async Task<JsonElement> CreateAndQueryAsync(object body)
    {
        var ct = TestContext.Current.CancellationToken;
        var id = await Client.CreateAsync(body, ct);
        return await Client.QueryAsync(id, ct);
    }

    [Fact]
    public async Task Create_WithoutShapeFields_FillsCatalogDefaults()
    {
        var task = await CreateAndQueryAsync(new { model = "grok-video-3", prompt = "a cat eating fish" });

        Assert.Equal("grok-video-3", task.GetProperty("model").GetString());
        Assert.Equal("3:2", task.GetProperty("aspect_ratio").GetString());
        Assert.Equal("720P", task.GetProperty("size").GetString());
        // The relays' grok default (providers/unified-video.md: 6/10/15 s, default 10).
        Assert.Equal(10, task.GetProperty("duration").GetInt32());
    }

    [Fact]
    public async Task Create_VeoWithoutShapeFields_FillsThatModelsDefaults()
    {
        var task = await CreateAndQueryAsync(new { model = "veo3.1", prompt = "a cat eating fish" });

        Assert.Equal("16:9", task.GetProperty("aspect_ratio").GetString());
        Assert.Equal("720P", task.GetProperty("size").GetString());
        Assert.Equal(8, task.GetProperty("duration").GetInt32());
    }

    [Fact]
    public async Task Create_EmptyImagesOrNone_BothAccepted()
    {
        var ct = TestContext.Current.CancellationToken;

        var withEmpty = await Client.CreateAsync(new { model = "grok-video-3", prompt = "a cat", images = Array.Empty<string>() }, ct);
        var withNull = await Client.CreateAsync(new { model = "grok-video-3", prompt = "a cat", images = (string[]?)null }, ct);
        var without = await Client.CreateAsync(new { model = "grok-video-3", prompt = "a cat" }, ct);

        Assert.Equal(3, new[] { withEmpty, withNull, without }.Distinct().Count());
    }

    [Theory]
    [InlineData("grok-video-3", "720p", "720P")]
    [InlineData("grok-video-3", " 480p ", "480P")]
    [InlineData("sora-2", "small", "720P")]
    [InlineData("sora-2-pro", "large", "1080P")]
    [InlineData("reelay-preview", "LARGE", "1080P")]
    public async Task Create_SizeSpelledDifferently_NormalizedToSizeClass(string model, string size, string expected)
    {
        var task = await CreateAndQueryAsync(new { model, prompt = "a cat", size });

        Assert.Equal(expected, task.GetProperty("size").GetString());
    }

    [Theory]
    [InlineData("720x1280", "720P", "9:16")]
    [InlineData("1280x720", "720P", "16:9")]
    [InlineData("1920x1080", "1080P", "16:9")]
    public async Task Create_PixelSizeWithoutAspectRatio_TakesShapeFromPixels(string size, string expectedSize, string expectedRatio)
    {
        var task = await CreateAndQueryAsync(new { model = "veo3.1", prompt = "a cat", size });

        Assert.Equal(expectedSize, task.GetProperty("size").GetString());
        Assert.Equal(expectedRatio, task.GetProperty("aspect_ratio").GetString());
    }

    [Fact]
    public async Task Create_PromptEndingInModeFlag_QueryEchoesPromptWithoutFlag()
    {
        var task = await CreateAndQueryAsync(new { model = "grok-video-3", prompt = "小猫在吃鱼 --mode=custom", aspect_ratio = "3:2", size = "720P", images = Array.Empty<string>() });

        Assert.Equal("小猫在吃鱼", task.GetProperty("prompt").GetString());
    }

    [Fact]
    public async Task Create_SecondsInsteadOfDuration_SetsDuration()
    {
        var task = await CreateAndQueryAsync(new { model = "reelay-preview", prompt = "a cat", seconds = 3 });

        Assert.Equal(3, task.GetProperty("duration").GetInt32());
    }

    [Fact]
    public async Task Create_DurationAsNumericString_Accepted()
    {
        var task = await CreateAndQueryAsync(new { model = "reelay-preview", prompt = "a cat", duration = "2" });

        Assert.Equal(2, task.GetProperty("duration").GetInt32());
    }

    [Theory]
    [InlineData("grok-imagine-video", "grok-video-3", "grok:")]
    [InlineData("GROK-VIDEO-3", "grok-video-3", "grok:")]
    [InlineData("veo-3.1-fast-generate-001", "veo3.1-fast", "veo3.1-fast:")]
    [InlineData("sora-2", "sora-2", "sora-2:")]
    public async Task Create_ModelAlias_ResolvesToCatalogEntryAndItsIdPrefix(string requested, string model, string prefix)
    {
        var ct = TestContext.Current.CancellationToken;

        var id = await Client.CreateAsync(new { model = requested, prompt = "a cat" }, ct);
        var task = await Client.QueryAsync(id, ct);

        Assert.StartsWith(prefix, id, StringComparison.Ordinal);
        Assert.Equal(model, task.GetProperty("model").GetString());
    }

    [Fact]
    public async Task Create_Answer_HasExactlyTheSeedsThreeFieldsWithTimeInUnixMilliseconds()
    {
        var ct = TestContext.Current.CancellationToken;
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        using var response = await Client.PostAsJsonAsync("/v1/video/create", new { model = "grok-video-3", prompt = "a cat", aspect_ratio = "3:2", size = "720P", images = Array.Empty<string>() }, ct);

        var after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        var root = json.RootElement;
        Assert.Equal(["id", "status", "status_update_time"], root.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal("pending", root.GetProperty("status").GetString());
        var time = root.GetProperty("status_update_time").GetInt64();
        Assert.Equal(13, time.ToString(System.Globalization.CultureInfo.InvariantCulture).Length);
        Assert.InRange(time, before - 1000, after + 1000);
    }

    [Fact]
    public async Task Create_SameIdempotencyKeyTwice_ReturnsSameTaskAndStoresOne()
    {
        var ct = TestContext.Current.CancellationToken;
        var (keyId, key) = await fixture.App.CreateKeyWithIdAsync("test", "idempotency", ct);
        using var client = fixture.App.ClientFor(key);
        client.DefaultRequestHeaders.Add("Idempotency-Key", "order-42");

        var first = await client.CreateAsync(new { model = "reelay-preview", prompt = "a cat" }, ct);
        var second = await client.CreateAsync(new { model = "reelay-preview", prompt = "a cat" }, ct);

        Assert.Equal(first, second);
        var tasks = await fixture.App.Services.GetRequiredService<ITaskStore>().ListAsync(keyId, new TaskPageRequest(10, null, false), ct);
        Assert.Equal(first, Assert.Single(tasks).Id);
    }

    [Fact]
    public async Task Create_SameIdempotencyKeyFromTwoKeys_MakesTwoTasks()
    {
        var ct = TestContext.Current.CancellationToken;
        using var a = await fixture.App.CreateClientWithKeyAsync("test", ct);
        using var b = await fixture.App.CreateClientWithKeyAsync("test", ct);
        a.DefaultRequestHeaders.Add("Idempotency-Key", "shared");
        b.DefaultRequestHeaders.Add("Idempotency-Key", "shared");

        var fromA = await a.CreateAsync(new { model = "reelay-preview", prompt = "a cat" }, ct);
        var fromB = await b.CreateAsync(new { model = "reelay-preview", prompt = "a cat" }, ct);

        Assert.NotEqual(fromA, fromB);
    }

    [Fact]
    public async Task Query_PendingTask_HasEveryDocumentedFieldWithNullsBeforeCompletion()
    {
        var ct = TestContext.Current.CancellationToken;
        var id = await Client.CreateAsync(new { model = "grok-video-3", prompt = "a cat --mode=custom", aspect_ratio = "2:3", size = "720P", duration = 5 }, ct);

        var task = await Client.QueryAsync(id, ct);

        Assert.Equal(DocumentedQueryFields.Order(StringComparer.Ordinal), task.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(id, task.GetProperty("id").GetString());
        Assert.Equal("pending", task.GetProperty("status").GetString());
        Assert.Equal(0, task.GetProperty("progress").GetInt32());
        Assert.Equal("", task.GetProperty("enhanced_prompt").GetString());
        Assert.Equal("grok-video-3", task.GetProperty("model").GetString());
        Assert.Equal("a cat", task.GetProperty("prompt").GetString());
        Assert.Equal("2:3", task.GetProperty("aspect_ratio").GetString());
        Assert.Equal("720P", task.GetProperty("size").GetString());
        Assert.Equal(5, task.GetProperty("duration").GetInt32());
        foreach (var field in (string[])["video_url", "thumbnail_url", "width", "height", "completed_at"])
        {
            Assert.Equal(JsonValueKind.Null, task.GetProperty(field).ValueKind);
        }

        Assert.False(task.TryGetProperty("error", out _), "a pending task's answer has no error field");

        var created = task.GetProperty("created_at").GetInt64();
        Assert.Equal(13, created.ToString(System.Globalization.CultureInfo.InvariantCulture).Length);
        Assert.Equal(created, task.GetProperty("status_update_time").GetInt64());
    }

    [Fact]
    public async Task CreateAndPendingQuery_AnswerWholeJsonWithContentLength_NotChunked()
    {
        var ct = TestContext.Current.CancellationToken;
        using var created = await Client.PostAsJsonAsync("/v1/video/create", new { model = "grok-video-3", prompt = "a cat eating fish" }, ct);
        var createBytes = await AssertWholeJsonAnswerAsync(created, ct);
        using (var answer = JsonDocument.Parse(createBytes))
        {
            // The seed's create answer, no more.
            Assert.Equal(["id", "status", "status_update_time"], answer.RootElement.EnumerateObject().Select(p => p.Name));
            using var queried = await Client.GetAsync("/v1/video/query?id=" + Uri.EscapeDataString(answer.RootElement.GetProperty("id").GetString()!), ct);
            using var query = JsonDocument.Parse(await AssertWholeJsonAnswerAsync(queried, ct));
            Assert.Equal("pending", query.RootElement.GetProperty("status").GetString());
        }
    }

    /// <summary>A 200 JSON answer sent with its length up front (one write, no chunked framing); its bytes.</summary>
    private static async Task<byte[]> AssertWholeJsonAnswerAsync(HttpResponseMessage response, CancellationToken ct)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotEqual(true, response.Headers.TransferEncodingChunked);
        Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        var bytes = await response.Content.ReadAsByteArrayAsync(ct);
        Assert.Equal(bytes.Length, response.Content.Headers.ContentLength);
        return bytes;
    }
}
