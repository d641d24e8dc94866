namespace Reelay.Providers.Local;

/// <summary>Settings of the local preview renderer (provider <c>local</c>).</summary>
public sealed class LocalRendererOptions
{
    /// <summary>Required. Directory holding one sub-directory per job: its inputs and the finished MP4.</summary>
    public string WorkDirectory { get; set; } = "";

    /// <summary>Caption font. Default WenQuanYi Zen Hei (covers CJK); DejaVu Sans is used when the file is missing.</summary>
    public string FontFile { get; set; } = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc";

    /// <summary>Frame rate of rendered videos. Default 24.</summary>
    public int FramesPerSecond { get; set; } = 24;

    /// <summary>How many ffmpeg renders may run at once; further jobs wait. Default half the processors, at least one.</summary>
    public int MaxConcurrentRenders { get; set; } = Math.Max(1, Environment.ProcessorCount / 2);

    /// <summary>How long a render is expected to take before any has been measured (admission estimates start from it). Default 5 seconds.</summary>
    public TimeSpan ExpectedRenderTime { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A render still running after this long is killed and the job fails. Default 5 minutes.</summary>
    public TimeSpan RenderTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Job directories untouched for this long are deleted. Default 24 hours.</summary>
    public TimeSpan JobRetention { get; set; } = TimeSpan.FromHours(24);
}
