using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Reelay.Providers.Media;

/// <summary>
/// The ffmpeg/ffprobe calls Reelay makes: probing a video, taking its thumbnail, and running an
/// ffmpeg command line for renderers. Failures are <see cref="MediaException"/>s with ffmpeg's own words.
/// </summary>
public sealed partial class MediaToolkit(IOptions<MediaOptions> options, ILogger<MediaToolkit> logger)
{
    // Past this, a thumbnail shows the video as it plays rather than a fade-in from black.
    private const double ThumbnailOffsetSeconds = 1.0;

    private MediaTool Ffmpeg => new("ffmpeg", options.Value.FfmpegPath, "MediaOptions.FfmpegPath", options.Value.Niceness);

    private MediaTool Ffprobe => new("ffprobe", options.Value.FfprobePath, "MediaOptions.FfprobePath", options.Value.Niceness);

    /// <summary>Reads the shape, length and codec of a video. Throws <see cref="MediaException"/> when the file is not a playable video.</summary>
    public async Task<VideoProbe> ProbeAsync(string path, CancellationToken cancellationToken)
    {
        string[] arguments = ["-v", "error", "-print_format", "json", "-show_streams", "-show_format", "-i", path];
        var result = await MediaProcess.RunAsync(Ffprobe, arguments, null, null, cancellationToken);
        if (result.ExitCode != 0)
        {
            throw new MediaException($"'{Path.GetFileName(path)}' is not a readable video: {Describe(result)}");
        }
        return ParseProbe(path, result.StandardOutput);
    }

    /// <summary>
    /// Writes a JPEG of one frame, at the video's own pixel size: about one second in, or the middle of a shorter clip.
    /// </summary>
    public async Task ExtractThumbnailAsync(string videoPath, string jpegPath, CancellationToken cancellationToken)
    {
        var probe = await ProbeAsync(videoPath, cancellationToken);
        var offset = probe.DurationSeconds > 2 * ThumbnailOffsetSeconds ? ThumbnailOffsetSeconds : probe.DurationSeconds / 2;
        string[] arguments =
        [
            "-nostdin", "-v", "error", "-y",
            "-ss", offset.ToString("0.###", CultureInfo.InvariantCulture),
            "-i", videoPath,
            "-frames:v", "1", "-q:v", "3", "-update", "1", "-f", "image2",
            jpegPath,
        ];
        await RunFfmpegAsync(arguments, null, null, cancellationToken);
    }

    /// <summary>
    /// Runs ffmpeg with these arguments (passed as a list, never through a shell). Stdout lines go to
    /// <paramref name="onOutputLine"/> when given (for <c>-progress pipe:1</c>). A non-zero exit throws
    /// <see cref="MediaException"/> carrying the end of ffmpeg's stderr; cancellation kills ffmpeg.
    /// </summary>
    public async Task RunFfmpegAsync(IReadOnlyList<string> arguments, string? workingDirectory, Action<string>? onOutputLine, CancellationToken cancellationToken)
    {
        LogRunning(logger, arguments.Count);
        var result = await MediaProcess.RunAsync(Ffmpeg, arguments, workingDirectory, onOutputLine, cancellationToken);
        if (result.ExitCode != 0)
        {
            LogFailed(logger, result.ExitCode, result.StandardErrorTail);
            throw new MediaException($"ffmpeg failed: {Describe(result)}");
        }
    }

    private static string Describe(MediaProcessResult result) =>
        result.StandardErrorTail.Length > 0 ? result.StandardErrorTail : $"exit code {result.ExitCode}";

    private static VideoProbe ParseProbe(string path, string json)
    {
        var name = Path.GetFileName(path);
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        JsonElement? video = null;
        if (root.TryGetProperty("streams", out var streams))
        {
            foreach (var stream in streams.EnumerateArray())
            {
                if (GetString(stream, "codec_type") == "video")
                {
                    video = stream;
                    break;
                }
            }
        }
        if (video is not { } stream0)
        {
            throw new MediaException($"'{name}' is not a video: it has no video stream.");
        }

        var format = root.TryGetProperty("format", out var f) ? f : default;
        var formatName = format.ValueKind == JsonValueKind.Object ? GetString(format, "format_name") ?? "" : "";
        var duration = ParseSeconds(format.ValueKind == JsonValueKind.Object ? GetString(format, "duration") : null)
            ?? ParseSeconds(GetString(stream0, "duration"))
            ?? 0;
        // A still image probes as a one-frame "video" without a duration (png_pipe, image2…).
        if (duration <= 0)
        {
            throw new MediaException($"'{name}' is not a video: it has no duration ({formatName}).");
        }

        var width = stream0.TryGetProperty("width", out var w) ? w.GetInt32() : 0;
        var height = stream0.TryGetProperty("height", out var h) ? h.GetInt32() : 0;
        if (width <= 0 || height <= 0)
        {
            throw new MediaException($"'{name}' is not a video: its video stream has no picture size.");
        }
        return new VideoProbe(width, height, duration, GetString(stream0, "codec_name") ?? "unknown", GetString(stream0, "pix_fmt"), formatName);
    }

    private static string? GetString(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static double? ParseSeconds(string? value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) ? seconds : null;

    [LoggerMessage(Level = LogLevel.Debug, Message = "Running ffmpeg with {ArgumentCount} arguments")]
    private static partial void LogRunning(ILogger logger, int argumentCount);

    [LoggerMessage(Level = LogLevel.Warning, Message = "ffmpeg exited with code {ExitCode}: {StandardErrorTail}")]
    private static partial void LogFailed(ILogger logger, int exitCode, string standardErrorTail);
}
