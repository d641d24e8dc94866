using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Reelay.Providers.Media;
using Xunit;

namespace Reelay.Testing;

/// <summary>Real media made with ffmpeg, and the media toolkit the server uses, for tests and bench/.</summary>
public static class TestMedia
{
    private static readonly Lazy<Task<byte[]>> SampleMp4 = new(() => RenderAsync("sample.mp4", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=24", "-t", "1", "-pix_fmt", "yuv420p", "-c:v", "libx264"));

    /// <summary>A 1 s, 320×240, 24 fps H.264 MP4 (ffmpeg's testsrc).</summary>
    public static Task<byte[]> SampleMp4Async() => SampleMp4.Value;

    /// <summary>
    /// One still image of the given size; the file extension picks the format (png, jpg, webp, gif) and
    /// <paramref name="encoderArgs"/> tune the encoder (e.g. <c>-lossless 1</c> for WebP).
    /// </summary>
    public static Task<byte[]> ImageAsync(int width, int height, string extension = "png", params string[] encoderArgs) =>
        RenderAsync("image." + extension, ["-f", "lavfi", "-i", $"testsrc=size={width}x{height}:rate=1", "-frames:v", "1", .. encoderArgs]);

    /// <summary>The server's media toolkit over the real ffmpeg and ffprobe.</summary>
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
        var parts = (await FfprobeAsync(path, "stream=width,height")).Split(',');
        return (int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>The first video stream's <paramref name="entries"/> (e.g. <c>stream=codec_name,width</c>) as ffprobe prints them, comma-separated.</summary>
    public static async Task<string> FfprobeAsync(string path, string entries)
    {
        var result = await ChildProcess.RunAsync(
            "ffprobe",
            ["-v", "error", "-select_streams", "v:0", "-show_entries", entries, "-of", "csv=p=0", "-i", path],
            TestContext.Current.CancellationToken);
        return result.ExitCode == 0
            ? result.StandardOutput.Trim()
            : throw new InvalidOperationException($"ffprobe failed ({result.ExitCode}) on {path}: {result.StandardError}");
    }

    private static async Task<byte[]> RenderAsync(string fileName, params string[] arguments)
    {
        var directory = Directory.CreateTempSubdirectory("reelay-media-");
        try
        {
            var output = Path.Combine(directory.FullName, fileName);
            // Not the test's token: the sample is rendered once and shared by every later caller.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var result = await ChildProcess.RunAsync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", .. arguments, output], timeout.Token);
            if (result.ExitCode != 0)
            {
                throw new InvalidOperationException($"ffmpeg failed ({result.ExitCode}): {result.StandardError}");
            }

            return await File.ReadAllBytesAsync(output, CancellationToken.None);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
