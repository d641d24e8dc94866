using System.Diagnostics;

namespace Reelay.Testing;

/// <summary>Real media made with ffmpeg.</summary>
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

    private static async Task<byte[]> RenderAsync(string fileName, params string[] arguments)
    {
        var directory = Directory.CreateTempSubdirectory("reelay-media-");
        try
        {
            var output = Path.Combine(directory.FullName, fileName);
            var start = new ProcessStartInfo("ffmpeg")
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            };
            foreach (var argument in (string[])["-hide_banner", "-loglevel", "error", "-y", .. arguments, output])
            {
                start.ArgumentList.Add(argument);
            }

            using var process = Process.Start(start) ?? throw new InvalidOperationException("ffmpeg did not start.");
            var errors = process.StandardError.ReadToEndAsync();
            _ = process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"ffmpeg failed ({process.ExitCode}): {await errors}");
            }

            return await File.ReadAllBytesAsync(output);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
