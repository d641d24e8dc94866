using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Reelay.IntegrationTests.Api.OpenAi;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Catalog;

/// <summary>
/// The values relay clients send by default (providers/unified-video.md) are accepted, and a
/// test-mode key renders each of them for real: the stored video has the length and shape asked for.
/// </summary>
public class RelayVocabularyTests
{
    [Fact]
    public async Task Create_Sora2Duration15WithTestKey_RendersFifteenSeconds()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        var id = await client.CreateAsync(new { model = "sora-2", prompt = "a lighthouse at dusk", duration = 15, size = "small", orientation = "landscape" }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(180), ct);

        Assert.Equal("completed", task.GetProperty("status").GetString());
        Assert.Equal(15, task.GetProperty("duration").GetInt32());
        Assert.Equal("720P", task.GetProperty("size").GetString());
        var (width, height, seconds) = await ProbeAsync(app, task, ct);
        Assert.Equal((1280, 720), (width, height));
        Assert.InRange(seconds, 14.9, 15.1);
    }

    [Fact]
    public async Task Create_OrientationPortraitWithoutRatio_RendersTheModelsTallShape()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        // veo3.1 takes 16:9 and 9:16 and defaults to 16:9: portrait must pick 9:16.
        var id = await client.CreateAsync(new { model = "veo3.1", prompt = "a waterfall", orientation = "portrait", duration = 4 }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(120), ct);

        Assert.Equal("completed", task.GetProperty("status").GetString());
        Assert.Equal("9:16", task.GetProperty("aspect_ratio").GetString());
        var (width, height, _) = await ProbeAsync(app, task, ct);
        Assert.True(width < height, $"portrait video is {width}x{height}");
        Assert.Equal((720, 1280), (width, height));
    }

    [Fact]
    public async Task Create_OrientationPortraitOnGrok_PicksTheMirrorOfItsDefault()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["Engine:Enabled"] = "false" });
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        var portrait = await client.QueryAsync(await client.CreateAsync(new { model = "grok-video-3", prompt = "a cat", orientation = "portrait" }, ct), ct);
        var square = await client.QueryAsync(await client.CreateAsync(new { model = "grok-video-3", prompt = "a cat", orientation = "Square" }, ct), ct);
        var landscape = await client.QueryAsync(await client.CreateAsync(new { model = "grok-video-3", prompt = "a cat", orientation = "landscape", duration = 6 }, ct), ct);

        // grok-video-3 defaults to 3:2 (the grok app's shape): portrait is 2:3, not 9:16.
        Assert.Equal("2:3", portrait.GetProperty("aspect_ratio").GetString());
        Assert.Equal("1:1", square.GetProperty("aspect_ratio").GetString());
        Assert.Equal("3:2", landscape.GetProperty("aspect_ratio").GetString());
        Assert.Equal(6, landscape.GetProperty("duration").GetInt32());
        Assert.Equal(10, portrait.GetProperty("duration").GetInt32());
    }

    [Fact]
    public async Task Create_RelayDurationsAndSizes_AcceptedOnSoraAndGrok()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["Engine:Enabled"] = "false" });
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        var cases = new (object Body, string Size, string Ratio, int Duration)[]
        {
            (new { model = "sora-2", prompt = "x", duration = 10, size = "small" }, "720P", "16:9", 10),
            (new { model = "sora-2", prompt = "x", duration = 15, watermark = false, @private = true, style = "Anime" }, "720P", "16:9", 15),
            (new { model = "sora-2-pro", prompt = "x", duration = 25, size = "large", orientation = "portrait" }, "1080P", "9:16", 25),
            (new { model = "sora-2-pro", prompt = "x", seconds = "15", size = "1024x1792" }, "1024x1792", "9:16", 15),
            (new { model = "sora-2-pro", prompt = "x", size = "1792x1024", aspect_ratio = "16:9" }, "1792x1024", "16:9", 4),
            (new { model = "grok-video-3", prompt = "x", duration = 15 }, "720P", "3:2", 15),
            (new { model = "grok-video-3-pro", prompt = "x" }, "720P", "3:2", 10),
            (new { model = "grok-video-3-max", prompt = "x", orientation = "portrait" }, "720P", "2:3", 15),
        };
        foreach (var (body, size, ratio, duration) in cases)
        {
            var task = await client.QueryAsync(await client.CreateAsync(body, ct), ct);
            Assert.Equal((size, ratio, duration), (task.GetProperty("size").GetString()!, task.GetProperty("aspect_ratio").GetString()!, task.GetProperty("duration").GetInt32()));
        }
    }

    [Fact]
    public async Task OpenAi_SoraProExactLargeSize_RendersAndReadsBackThatSize()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        var created = await client.CreateVideoAsync(new { model = "sora-2-pro", prompt = "a kite", size = "1792x1024", seconds = "4" }, ct);
        Assert.Equal("1792x1024", created.GetProperty("size").GetString());
        var id = created.GetProperty("id").GetString()!;
        var video = await client.WaitForVideoAsync(id, ct);

        Assert.Equal("completed", video.GetProperty("status").GetString());
        Assert.Equal("1792x1024", video.GetProperty("size").GetString());
        var task = await client.QueryAsync(id, ct);
        Assert.Equal("1792x1024", task.GetProperty("size").GetString());
        Assert.Equal("16:9", task.GetProperty("aspect_ratio").GetString());
        var (width, height, _) = await ProbeAsync(app, task, ct);
        Assert.Equal((1792, 1024), (width, height));
    }

    [Fact]
    public async Task OpenAi_OrientationWithoutSize_PicksTheShapeInsteadOfThePortraitDefault()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["Engine:Enabled"] = "false" });
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        var landscape = await client.CreateVideoAsync(new { prompt = "a kite", orientation = "landscape", seconds = 10 }, ct);
        Assert.Equal("1280x720", landscape.GetProperty("size").GetString());
        Assert.Equal("10", landscape.GetProperty("seconds").GetString());

        using var form = new MultipartFormDataContent
        {
            { new StringContent("a kite"), "prompt" },
            { new StringContent("portrait"), "orientation" },
            { new StringContent("false"), "watermark" },
            { new StringContent("15"), "seconds" },
        };
        using var multipart = await client.PostAsync("/v1/videos", form, ct);
        var portrait = JsonDocument.Parse(await multipart.Content.ReadAsStringAsync(ct)).RootElement;
        Assert.Equal("720x1280", portrait.GetProperty("size").GetString());
        Assert.Equal("15", portrait.GetProperty("seconds").GetString());
    }

    [Fact]
    public async Task OpenAi_OrientationAgainstSize_Returns400NamingBoth()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["Engine:Enabled"] = "false" });
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        using var response = await client.PostAsJsonAsync("/v1/videos", new { prompt = "a kite", orientation = "landscape", size = "720x1280" }, ct);
        var error = await response.ErrorAsync(400, ct);

        Assert.Equal("orientation", error.GetProperty("param").GetString());
        Assert.Equal("conflicting_values", error.GetProperty("code").GetString());
        Assert.Equal("'orientation' \"landscape\" contradicts 'size' \"720x1280\", which is portrait: send matching values, or only one of them.", error.GetProperty("message").GetString());
    }

    /// <summary>Downloads the task's video through its link and reads width, height and duration with ffprobe.</summary>
    private static async Task<(int Width, int Height, double Seconds)> ProbeAsync(ReelayApp app, JsonElement task, CancellationToken ct)
    {
        var file = Path.Combine(app.DataDir, "probe-" + Guid.NewGuid().ToString("N") + ".mp4");
        using var anonymous = app.CreateClient();
        await File.WriteAllBytesAsync(file, await anonymous.GetByteArrayAsync(task.GetProperty("video_url").GetString(), ct), ct);
        var parts = (await TestMedia.FfprobeAsync(file, "stream=width,height,duration")).Split(',');
        return (int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture), double.Parse(parts[2], CultureInfo.InvariantCulture));
    }
}
