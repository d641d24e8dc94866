using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Catalog;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Api.Models;

public sealed class ModelsFixture : IAsyncLifetime
{
    public ReelayApp App { get; private set; } = null!;

    public ValueTask InitializeAsync()
    {
        App = ReelayApp.Start(new Dictionary<string, string?> { ["Engine:Enabled"] = "false" });
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => App.DisposeAsync();
}

public sealed class ModelsApiTests(ModelsFixture fixture) : IClassFixture<ModelsFixture>
{
    private async Task<JsonElement[]> ListAsync(string mode)
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = await fixture.App.CreateClientWithKeyAsync(mode, ct);
        using var response = await client.GetAsync("/v1/models", ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        Assert.Equal("list", json.RootElement.GetProperty("object").GetString());
        return [.. json.RootElement.GetProperty("data").EnumerateArray().Select(m => m.Clone())];
    }

    [Fact]
    public async Task ListModels_TestKey_ListsEveryCatalogEntryOnceWithAliases()
    {
        var catalog = fixture.App.Services.GetRequiredService<ModelCatalog>();

        var models = await ListAsync("test");

        var ids = models.Select(m => m.GetProperty("id").GetString()!).ToList();
        // Every entry in service: retired ones cannot be used, so they are not listed.
        Assert.Equal(catalog.Entries.Where(e => e.RetiredAt(DateTimeOffset.UtcNow) is null).Select(e => e.Name).Order(StringComparer.Ordinal), ids.Order(StringComparer.Ordinal));
        Assert.Contains("grok-video-3", ids);
        Assert.DoesNotContain("grok-imagine-video", ids);
        var grok = models.Single(m => m.GetProperty("id").GetString() == "grok-video-3");
        Assert.Contains("grok-imagine-video", grok.GetProperty("aliases").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal("model", grok.GetProperty("object").GetString());
        Assert.Equal(["3:2", "2:3", "1:1", "16:9", "9:16"], grok.GetProperty("aspect_ratios").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal(7, grok.GetProperty("max_images").GetInt32());
        var veo = models.Single(m => m.GetProperty("id").GetString() == "veo3.1");
        Assert.Equal([4, 6, 8], veo.GetProperty("durations").EnumerateArray().Select(d => d.GetInt32()));
    }

    [Fact]
    public async Task ListModels_LiveKeyWithoutChannels_ListsOnlyLocalPreview()
    {
        var models = await ListAsync("live");

        var only = Assert.Single(models);
        Assert.Equal("reelay-preview", only.GetProperty("id").GetString());
        Assert.Equal(15, only.GetProperty("durations").GetArrayLength());
    }

    [Fact]
    public async Task ListModels_WithoutKey_Returns401()
    {
        var ct = TestContext.Current.CancellationToken;
        using var anonymous = fixture.App.CreateClient();

        using var response = await anonymous.GetAsync("/v1/models", ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}

public sealed class UnknownModelTests
{
    [Fact]
    public async Task Create_UnknownModelWithLiveKey_ListsOnlyTheModelsThatKeyMayUse()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["Engine:Enabled"] = "false" });
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        using var response = await client.PostAsync("/v1/video/create",
            new StringContent("""{"model":"gpt-video-9","prompt":"cat"}""", System.Text.Encoding.UTF8, "application/json"), ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        Assert.Equal("Model 'gpt-video-9' does not exist. Available models: reelay-preview.", json.RootElement.GetProperty("error").GetProperty("message").GetString());
    }
}
