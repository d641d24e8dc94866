using Reelay.Providers.Media;
using Reelay.Testing;

namespace Reelay.Tests.Providers.Media;

public sealed class MediaToolkitTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task Probe_H264Video_ReportsShapeCodecAndDuration()
    {
        var video = await TestMedia.VideoAsync(_scratch.Path, "clip.mp4", 320, 240, 2);

        var probe = await TestMedia.Toolkit().ProbeAsync(video, TestContext.Current.CancellationToken);

        Assert.Equal(320, probe.Width);
        Assert.Equal(240, probe.Height);
        Assert.Equal("h264", probe.VideoCodec);
        Assert.Equal("yuv420p", probe.PixelFormat);
        Assert.Contains("mp4", probe.FormatName);
        Assert.InRange(probe.DurationSeconds, 1.95, 2.05);
    }

    [Fact]
    public async Task Probe_TextFile_ThrowsMediaException()
    {
        var path = _scratch.File("notes.txt");
        await File.WriteAllTextAsync(path, "not a video at all", TestContext.Current.CancellationToken);

        var ex = await Assert.ThrowsAsync<MediaException>(() => TestMedia.Toolkit().ProbeAsync(path, TestContext.Current.CancellationToken));

        Assert.Contains("notes.txt", ex.Message);
    }

    [Fact]
    public async Task Probe_StillImage_ThrowsMediaExceptionSayingNotAVideo()
    {
        var image = await TestMedia.ImageAsync(_scratch.Path, "still.png", "color=red:s=64x64");

        var ex = await Assert.ThrowsAsync<MediaException>(() => TestMedia.Toolkit().ProbeAsync(image, TestContext.Current.CancellationToken));

        Assert.Contains("not a video", ex.Message);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(0)]
    public async Task RunFfmpeg_Niceness_ToolRunsThatMuchBelowReelaysPriority(int niceness)
    {
        // nice(1) with no arguments prints the priority it runs at: here it stands in for ffmpeg.
        var own = (await ChildProcess.RunAsync("nice", [], TestContext.Current.CancellationToken)).StandardOutput.Trim();
        var toolkit = TestMedia.Toolkit(new MediaOptions { FfmpegPath = "nice", Niceness = niceness });
        var lines = new List<string>();

        await toolkit.RunFfmpegAsync([], null, lines.Add, TestContext.Current.CancellationToken);

        Assert.Equal(Math.Min(19, int.Parse(own, System.Globalization.CultureInfo.InvariantCulture) + niceness).ToString(System.Globalization.CultureInfo.InvariantCulture), Assert.Single(lines));
    }

    [Fact]
    public async Task Probe_MissingFfprobeOnPath_ThrowsMediaExceptionNamingIt()
    {
        var toolkit = TestMedia.Toolkit(new MediaOptions { FfprobePath = "ffprobe-that-does-not-exist" });

        var ex = await Assert.ThrowsAsync<MediaException>(() => toolkit.ProbeAsync(_scratch.File("any.mp4"), TestContext.Current.CancellationToken));

        Assert.Contains("ffprobe not found at 'ffprobe-that-does-not-exist'", ex.Message);
    }

    [Fact]
    public async Task Probe_MissingFfprobe_ThrowsMediaExceptionNamingPathAndSetting()
    {
        var toolkit = TestMedia.Toolkit(new MediaOptions { FfprobePath = "/nonexistent/ffprobe" });

        var ex = await Assert.ThrowsAsync<MediaException>(() => toolkit.ProbeAsync(_scratch.File("any.mp4"), TestContext.Current.CancellationToken));

        Assert.Contains("ffprobe not found at '/nonexistent/ffprobe'", ex.Message);
        Assert.Contains("apt-get install -y ffmpeg", ex.Message);
        Assert.Contains("MediaOptions.FfprobePath", ex.Message);
    }

    [Fact]
    public async Task Thumbnail_OfVideo_IsJpegOfVideoSize()
    {
        var video = await TestMedia.VideoAsync(_scratch.Path, "clip.mp4", 320, 240, 3);
        var jpeg = _scratch.File("thumb.jpg");

        await TestMedia.Toolkit().ExtractThumbnailAsync(video, jpeg, TestContext.Current.CancellationToken);

        var bytes = await File.ReadAllBytesAsync(jpeg, TestContext.Current.CancellationToken);
        Assert.Equal([0xFF, 0xD8], bytes[..2]);
        Assert.Equal((320, 240), await TestMedia.PictureSizeAsync(jpeg));
    }

    [Fact]
    public async Task Thumbnail_OfShortClip_TakesAFrameFromTheMiddle()
    {
        var video = await TestMedia.VideoAsync(_scratch.Path, "short.mp4", 160, 120, 0.5);
        var jpeg = _scratch.File("thumb.jpg");

        await TestMedia.Toolkit().ExtractThumbnailAsync(video, jpeg, TestContext.Current.CancellationToken);

        Assert.True(new FileInfo(jpeg).Length > 0);
    }

    [Fact]
    public async Task RunFfmpeg_InvalidArguments_ThrowsWithFfmpegsMessage()
    {
        var ex = await Assert.ThrowsAsync<MediaException>(() => TestMedia.Toolkit().RunFfmpegAsync(
            ["-nostdin", "-v", "error", "-i", _scratch.File("missing.mp4"), "-f", "null", "-"],
            null, null, TestContext.Current.CancellationToken));

        Assert.Contains("missing.mp4", ex.Message);
    }

    [Fact]
    public async Task RunFfmpeg_Cancelled_KillsTheProcess()
    {
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        // An endless source: only cancellation can end this run.
        string[] endless = ["-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc=s=64x64", "-progress", "pipe:1", "-f", "null", "-"];

        var run = TestMedia.Toolkit().RunFfmpegAsync(endless, null, _ => cancellation.Cancel(), cancellation.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
    }
}
