using System.Security.Cryptography;
using Reelay.Testing;

namespace Reelay.Tests.Providers.Local;

public sealed class LocalRendererOutputTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    public static TheoryData<string, string, int, int> Shapes => new()
    {
        { "720P", "3:2", 1080, 720 },
        { "720P", "2:3", 720, 1080 },
        { "720P", "1:1", 720, 720 },
        { "720P", "16:9", 1280, 720 },
        { "720P", "9:16", 720, 1280 },
        { "1080P", "3:2", 1620, 1080 },
        { "1080P", "2:3", 1080, 1620 },
        { "1080P", "1:1", 1080, 1080 },
        { "1080P", "16:9", 1920, 1080 },
        { "1080P", "9:16", 1080, 1920 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task Render_SizeAndAspectRatio_ProducesFaststartH264OfThatShape(string size, string aspectRatio, int width, int height)
    {
        using var renderer = LocalRenderKit.Renderer(_scratch.Path);
        var request = LocalRenderKit.Request(width, height, seconds: 1) with { Size = size, AspectRatio = aspectRatio };

        var output = await LocalRenderKit.RenderAsync(renderer, request);

        var probe = await TestMedia.Toolkit().ProbeAsync(output, TestContext.Current.CancellationToken);
        Assert.Equal((width, height), (probe.Width, probe.Height));
        Assert.Equal("h264", probe.VideoCodec);
        Assert.Equal("yuv420p", probe.PixelFormat);
        Assert.InRange(probe.DurationSeconds, 1 - (1.0 / 24), 1 + (1.0 / 24));
        var bytes = await File.ReadAllBytesAsync(output, TestContext.Current.CancellationToken);
        var moov = bytes.AsSpan().IndexOf("moov"u8);
        var mdat = bytes.AsSpan().IndexOf("mdat"u8);
        Assert.True(moov >= 0 && mdat >= 0 && moov < mdat, $"moov at {moov}, mdat at {mdat}: not faststart");
    }

    [Fact]
    public async Task Render_DefaultLength_LastsTheRequestedDuration()
    {
        using var renderer = LocalRenderKit.Renderer(_scratch.Path);

        var output = await LocalRenderKit.RenderAsync(renderer, LocalRenderKit.Request(320, 180, seconds: 5));

        var probe = await TestMedia.Toolkit().ProbeAsync(output, TestContext.Current.CancellationToken);
        Assert.InRange(probe.DurationSeconds, 5 - (1.0 / 24), 5 + (1.0 / 24));
    }

    [Fact]
    public async Task Render_SameRequestTwice_ProducesIdenticalBytes()
    {
        using var first = new ScratchDirectory();
        using var second = new ScratchDirectory();
        using var rendererA = LocalRenderKit.Renderer(first.Path);
        using var rendererB = LocalRenderKit.Renderer(second.Path);

        var a = await LocalRenderKit.RenderAsync(rendererA, LocalRenderKit.Request(seconds: 2, seed: 42));
        var b = await LocalRenderKit.RenderAsync(rendererB, LocalRenderKit.Request(seconds: 2, seed: 42));

        Assert.Equal(await HashAsync(a), await HashAsync(b));
    }

    [Fact]
    public async Task Render_NoSeedSamePrompt_ProducesIdenticalBytes()
    {
        using var renderer = LocalRenderKit.Renderer(_scratch.Path);

        var a = await LocalRenderKit.RenderAsync(renderer, LocalRenderKit.Request(320, 180, seed: null));
        var b = await LocalRenderKit.RenderAsync(renderer, LocalRenderKit.Request(320, 180, seed: null));

        Assert.Equal(await HashAsync(a), await HashAsync(b));
    }

    [Fact]
    public async Task Render_DifferentSeed_ProducesDifferentBytes()
    {
        using var renderer = LocalRenderKit.Renderer(_scratch.Path);

        var a = await LocalRenderKit.RenderAsync(renderer, LocalRenderKit.Request(seconds: 1, seed: 1));
        var b = await LocalRenderKit.RenderAsync(renderer, LocalRenderKit.Request(seconds: 1, seed: 2));

        Assert.NotEqual(await HashAsync(a), await HashAsync(b));
    }

    [Fact]
    public async Task Render_CjkPrompt_Succeeds()
    {
        using var renderer = LocalRenderKit.Renderer(_scratch.Path);

        var output = await LocalRenderKit.RenderAsync(renderer, LocalRenderKit.Request(1280, 720, seconds: 1, prompt: "小猫在吃鱼"));

        var probe = await TestMedia.Toolkit().ProbeAsync(output, TestContext.Current.CancellationToken);
        Assert.Equal((1280, 720), (probe.Width, probe.Height));
    }

    [Fact]
    public async Task Render_PromptWithFilterSyntax_Succeeds()
    {
        using var renderer = LocalRenderKit.Renderer(_scratch.Path);
        const string prompt = "it's 100% a [test]: x=1, y='2'; %{pts} \\n and a very long line of words that must wrap across several lines of the frame";

        var output = await LocalRenderKit.RenderAsync(renderer, LocalRenderKit.Request(320, 180, prompt: prompt));

        Assert.True(File.Exists(output));
    }

    [Fact]
    public async Task Render_OnePng_MovesOverTheImageForTheWholeDuration()
    {
        using var renderer = LocalRenderKit.Renderer(_scratch.Path);
        var image = await LocalRenderKit.ImageAsync(_scratch.Path, "pattern.png", "testsrc=s=640x480", "image/png");

        var output = await LocalRenderKit.RenderAsync(renderer, LocalRenderKit.Request(1280, 720, seconds: 2, images: [image]));

        var probe = await TestMedia.Toolkit().ProbeAsync(output, TestContext.Current.CancellationToken);
        Assert.Equal((1280, 720), (probe.Width, probe.Height));
        Assert.InRange(probe.DurationSeconds, 2 - (1.0 / 24), 2 + (1.0 / 24));
        var first = await GrayFrameAsync(output, 0);
        var middle = await GrayFrameAsync(output, 1);
        Assert.NotEqual(first, middle);
    }

    [Fact]
    public async Task Render_ImageSequenceOfEveryFormat_CrossfadesToTheExactDuration()
    {
        using var renderer = LocalRenderKit.Renderer(_scratch.Path);
        var images = new[]
        {
            await LocalRenderKit.ImageAsync(_scratch.Path, "a.png", "testsrc=s=640x480", "image/png"),
            await LocalRenderKit.ImageAsync(_scratch.Path, "b.jpg", "color=red:s=480x640", "image/jpeg"),
            await LocalRenderKit.ImageAsync(_scratch.Path, "c.webp", "testsrc2=s=300x300", "image/webp"),
            await LocalRenderKit.ImageAsync(_scratch.Path, "d.gif", "smptebars=s=320x240", "image/gif"),
        };

        var output = await LocalRenderKit.RenderAsync(renderer, LocalRenderKit.Request(720, 1280, seconds: 2, images: images));

        var probe = await TestMedia.Toolkit().ProbeAsync(output, TestContext.Current.CancellationToken);
        Assert.Equal((720, 1280), (probe.Width, probe.Height));
        Assert.InRange(probe.DurationSeconds, 2 - (1.0 / 24), 2 + (1.0 / 24));
    }

    [Fact]
    public async Task Render_TwoImages_ProducesVideoOfTheRequestedShape()
    {
        using var renderer = LocalRenderKit.Renderer(_scratch.Path);
        var images = new[]
        {
            await LocalRenderKit.ImageAsync(_scratch.Path, "a.png", "color=red:s=640x480", "image/png"),
            await LocalRenderKit.ImageAsync(_scratch.Path, "b.jpg", "testsrc=s=640x480", "image/jpeg"),
        };

        var output = await LocalRenderKit.RenderAsync(renderer, LocalRenderKit.Request(1080, 720, seconds: 2, images: images));

        var probe = await TestMedia.Toolkit().ProbeAsync(output, TestContext.Current.CancellationToken);
        Assert.Equal((1080, 720), (probe.Width, probe.Height));
        Assert.InRange(probe.DurationSeconds, 2 - (1.0 / 24), 2 + (1.0 / 24));
    }

    private static async Task<string> HashAsync(string path) =>
        Convert.ToHexString(SHA256.HashData(await File.ReadAllBytesAsync(path, TestContext.Current.CancellationToken)));

    private async Task<byte[]> GrayFrameAsync(string video, double seconds)
    {
        var raw = _scratch.File($"frame-{seconds}.gray");
        await TestMedia.Toolkit().RunFfmpegAsync(
            ["-nostdin", "-v", "error", "-y", "-ss", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture), "-i", video,
                "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", raw],
            null, null, TestContext.Current.CancellationToken);
        return await File.ReadAllBytesAsync(raw, TestContext.Current.CancellationToken);
    }
}
