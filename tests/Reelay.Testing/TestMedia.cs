using System.Diagnostics;

namespace Reelay.Testing;

/// <summary>Real media made once per test run with ffmpeg.</summary>
public static class TestMedia
{
    private static readonly Lazy<Task<byte[]>> SampleMp4 = new(() => RenderAsync("sample.mp4",
        ["-f", "lavfi", "-i", "testsrc=size=320x240:rate=24", "-t", "1", "-pix_fmt", "yuv420p", "-c:v", "libx264"]));

    /// <summary>A 1 s, 320×240, 24 fps H.264 MP4 (ffmpeg's testsrc).</summary>
    public static Task<byte[]> SampleMp4Async() => SampleMp4.Value;

    /// <summary>A still image of the given size; the extension (png, jpg, webp, gif) picks the format.</summary>
    public static Task<byte[]> ImageAsync(int width, int height, string extension = "png") =>
        RenderAsync("image." + extension, ["-f", "lavfi", "-i", $"testsrc=size={width}x{height}", "-frames:v", "1"]);

    private static async Task<byte[]> RenderAsync(string fileName, IReadOnlyList<string> arguments)
    {
        var directory = Directory.CreateTempSubdirectory("reelay-media-");
        var output = Path.Combine(directory.FullName, fileName);
        var start = new ProcessStartInfo("ffmpeg")
        {
            ArgumentList = { "-hide_banner", "-loglevel", "error", "-y" },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.ArgumentList.Add(output);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("ffmpeg did not start.");
        var errors = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"ffmpeg failed ({process.ExitCode}): {await errors}");
        }

        var bytes = await File.ReadAllBytesAsync(output);
        directory.Delete(recursive: true);
        return bytes;
    }
}
