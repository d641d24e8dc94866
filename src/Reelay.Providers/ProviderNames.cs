namespace Reelay.Providers;

/// <summary>The names configuration uses to pick a provider for a channel.</summary>
public static class ProviderNames
{
    /// <summary>xAI Grok Imagine (<c>POST /v1/videos/generations</c>).</summary>
    public const string Xai = "xai";

    /// <summary>
    /// Google Veo on the Gemini API (<c>:predictLongRunning</c>). Google no longer serves Veo there (the
    /// 3.1 previews ended 2026-10-22): for self-hosted Gemini-compatible servers only.
    /// </summary>
    public const string Veo = "veo";

    /// <summary>Google Veo on Vertex AI (service-account key; <c>:predictLongRunning</c> + <c>:fetchPredictOperation</c>).</summary>
    public const string VertexVeo = "vertex-veo";

    /// <summary>Google Gemini Omni on the Interactions API (<c>POST /interactions</c>; AI Studio key, or a service-account key for Vertex AI).</summary>
    public const string GeminiOmni = "gemini-omni";

    /// <summary>An upstream speaking OpenAI's Videos API (<c>POST /v1/videos</c>).</summary>
    public const string Sora = "sora";

    /// <summary>Another relay speaking the unified format (<c>POST /v1/video/create</c>).</summary>
    public const string Unified = "unified";

    /// <summary>ByteDance Seedance on Volcengine Ark / BytePlus ModelArk (<c>POST /api/v3/contents/generations/tasks</c>).</summary>
    public const string Seedance = "seedance";

    /// <summary>Kling AI's official API (<c>POST /v1/videos/text2video</c>, <c>/image2video</c>; a self-signed JWT).</summary>
    public const string Kling = "kling";

    /// <summary>Alibaba Cloud Model Studio (DashScope) Wan video synthesis (<c>X-DashScope-Async</c> tasks).</summary>
    public const string Wan = "wan";

    /// <summary>MiniMax Hailuo video (<c>POST /v1/video_generation</c>, <c>base_resp</c> envelopes).</summary>
    public const string MiniMax = "minimax";

    /// <summary>Runway's API (<c>POST /v1/image_to_video</c>, <c>/v1/text_to_video</c>; <c>X-Runway-Version</c>).</summary>
    public const string Runway = "runway";

    /// <summary>Luma's Dream Machine API (<c>POST /dream-machine/v1/generations/video</c>).</summary>
    public const string Luma = "luma";

    /// <summary>fal.ai's queue API (<c>https://queue.fal.run/{model_id}</c>; <c>Authorization: Key</c>).</summary>
    public const string Fal = "fal";

    /// <summary>Replicate's predictions API (<c>POST /v1/models/{owner}/{name}/predictions</c>).</summary>
    public const string Replicate = "replicate";

    /// <summary>A self-hosted ComfyUI server running an API-format workflow (<c>POST /prompt</c>).</summary>
    public const string ComfyUi = "comfyui";

    /// <summary>Reelay's own ffmpeg preview renderer.</summary>
    public const string Local = "local";
}
