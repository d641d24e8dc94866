using System.Diagnostics;

namespace Reelay.Testing;

/// <summary>Real media made once per test run with ffmpeg.</summary>
public static class TestMedia
{
    private static readonly Lazy<Task<byte[]>> SampleMp4 = new(CreateSampleMp4Async);

    /// <summary>A 1 s, 320×240, 24 fps H.264 MP4 (ffmpeg's testsrc).</summary>
    public static Task<byte[]> SampleMp4Async() => SampleMp4.Value;

    private static async Task<byte[]> CreateSampleMp4Async()
    {
        var directory = Directory.CreateTempSubdirectory("reelay-media-");
        var output = Path.Combine(directory.FullName, "sample.mp4");
        var start = new ProcessStartInfo("ffmpeg")
        {
            ArgumentList =
            {
                "-hide_banner", "-loglevel", "error", "-y",
                "-f", "lavfi", "-i", "testsrc=size=320x240:rate=24", "-t", "1",
                "-pix_fmt", "yuv420p", "-c:v", "libx264", output,
            },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
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
