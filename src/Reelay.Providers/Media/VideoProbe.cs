namespace Reelay.Providers.Media;

/// <summary>What ffprobe says about a video file.</summary>
/// <param name="Width">Pixel width of the first video stream.</param>
/// <param name="Height">Pixel height of the first video stream.</param>
/// <param name="DurationSeconds">Length in seconds (container duration, else the stream's).</param>
/// <param name="VideoCodec">Codec name as ffprobe spells it (<c>h264</c>, <c>vp9</c>…).</param>
/// <param name="PixelFormat">Pixel format (<c>yuv420p</c>…), when reported.</param>
/// <param name="FormatName">Container format names (<c>mov,mp4,m4a,3gp,3g2,mj2</c>…).</param>
public sealed record VideoProbe(int Width, int Height, double DurationSeconds, string VideoCodec, string? PixelFormat, string FormatName);
