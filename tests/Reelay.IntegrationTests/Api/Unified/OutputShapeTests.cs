using Reelay.Testing;

namespace Reelay.IntegrationTests.Api.Unified;

/// <summary>Through the API and back out of storage: every aspect ratio × size makes a video of the promised shape.</summary>
public class OutputShapeTests
{
    public static TheoryData<string, string, int, int> Shapes => new()
    {
        { "3:2", "720P", 1080, 720 },
        { "2:3", "720P", 720, 1080 },
        { "1:1", "720P", 720, 720 },
        { "16:9", "720P", 1280, 720 },
        { "9:16", "720P", 720, 1280 },
        { "3:2", "1080P", 1620, 1080 },
        { "2:3", "1080P", 1080, 1620 },
        { "1:1", "1080P", 1080, 1080 },
        { "16:9", "1080P", 1920, 1080 },
        { "9:16", "1080P", 1080, 1920 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task Create_AspectRatioAndSize_StoresH264OfThatShape(string aspectRatio, string size, int width, int height)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        var id = await client.CreateAsync(new { model = "reelay-preview", prompt = "shape check", aspect_ratio = aspectRatio, size, duration = 1 }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(120), ct);
        Assert.Equal("completed", task.GetProperty("status").GetString());
        Assert.Equal(width, task.GetProperty("width").GetInt32());
        Assert.Equal(height, task.GetProperty("height").GetInt32());

        var file = Path.Combine(app.DataDir, "downloaded.mp4");
        using var anonymous = app.CreateClient();
        await File.WriteAllBytesAsync(file, await anonymous.GetByteArrayAsync(task.GetProperty("video_url").GetString(), ct), ct);
        var probe = await FfprobeAsync(file);
        Assert.Equal($"h264,yuv420p,{width},{height}", probe);
    }

    private static async Task<string> FfprobeAsync(string path)
    {
        // ffprobe prints the entries in its own order: codec_name,width,height,pix_fmt.
        var parts = (await TestMedia.FfprobeAsync(path, "stream=codec_name,pix_fmt,width,height")).Split(',');
        return $"{parts[0]},{parts[3]},{parts[1]},{parts[2]}";
    }
}
