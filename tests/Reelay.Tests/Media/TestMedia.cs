using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Reelay.Providers.Media;

namespace Reelay.Tests.Media;

/// <summary>Real ffmpeg-made inputs for media and renderer tests.</summary>
public static class TestMedia
{
    public static MediaToolkit Toolkit(MediaOptions? options = null) =>
        new(Options.Create(options ?? new MediaOptions()), NullLogger<MediaToolkit>.Instance);

    /// <summary>Writes one frame of a lavfi source (<c>testsrc=s=640x480</c>, <c>color=red:s=64x64</c>…) as an image; the extension picks the format.</summary>
    public static async Task<string> ImageAsync(string directory, string name, string lavfiSource)
    {
        var path = Path.Combine(directory, name);
        await Toolkit().RunFfmpegAsync(
            ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", lavfiSource, "-frames:v", "1", path],
            null, null, TestContext.Current.CancellationToken);
        return path;
    }

    /// <summary>Writes a short H.264 test pattern video.</summary>
    public static async Task<string> VideoAsync(string directory, string name, int width, int height, double seconds)
    {
        var path = Path.Combine(directory, name);
        await Toolkit().RunFfmpegAsync(
            ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", $"testsrc=s={width}x{height}:d={seconds}:r=24",
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", path],
            null, null, TestContext.Current.CancellationToken);
        return path;
    }

    /// <summary>Pixel size of any image or video, read with ffprobe directly (the toolkit's probe refuses stills).</summary>
    public static async Task<(int Width, int Height)> PictureSizeAsync(string path)
    {
        var result = await MediaProcess.RunAsync(
            new MediaTool("ffprobe", "ffprobe", "test"),
            ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0", "-i", path],
            null, null, TestContext.Current.CancellationToken);
        var parts = result.StandardOutput.Trim().Split(',');
        return (int.Parse(parts[0]), int.Parse(parts[1]));
    }
}
