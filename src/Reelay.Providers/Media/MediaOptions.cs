namespace Reelay.Providers.Media;

/// <summary>Where the ffmpeg tools live.</summary>
public sealed class MediaOptions
{
    /// <summary>The ffmpeg executable: a name looked up on <c>PATH</c>, or a full path. Default <c>ffmpeg</c>.</summary>
    public string FfmpegPath { get; set; } = "ffmpeg";

    /// <summary>The ffprobe executable: a name looked up on <c>PATH</c>, or a full path. Default <c>ffprobe</c>.</summary>
    public string FfprobePath { get; set; } = "ffprobe";
}
