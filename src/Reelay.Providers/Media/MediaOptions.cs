namespace Reelay.Providers.Media;

/// <summary>Where the ffmpeg tools live, and at what CPU priority they run.</summary>
public sealed class MediaOptions
{
    /// <summary>The ffmpeg executable: a name looked up on <c>PATH</c>, or a full path. Default <c>ffmpeg</c>.</summary>
    public string FfmpegPath { get; set; } = "ffmpeg";

    /// <summary>The ffprobe executable: a name looked up on <c>PATH</c>, or a full path. Default <c>ffprobe</c>.</summary>
    public string FfprobePath { get; set; } = "ffprobe";

    /// <summary>
    /// How much lower than Reelay's own the CPU priority of ffmpeg and ffprobe is, as <c>nice -n</c> takes it:
    /// 0 (the same) to 19 (the lowest). Default 10: renders, probes and thumbnails use the cores the API leaves
    /// idle, so a busy renderer does not slow requests down. Needs <c>nice</c> on <c>PATH</c> (coreutils).
    /// </summary>
    public int Niceness { get; set; } = 10;
}
