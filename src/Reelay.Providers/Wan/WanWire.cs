using System.Text.Json.Serialization;

namespace Reelay.Providers.Wan;

/// <summary>The body of <c>POST /services/aigc/video-generation/video-synthesis</c> (and the kf2v path).</summary>
internal sealed record WanCreateRequest(string Model, WanInput Input, WanParameters Parameters);

/// <summary><c>input</c>: the prompt and the images, by the field each mode reads.</summary>
internal sealed record WanInput(string Prompt, string? NegativePrompt, string? ImgUrl, string? FirstFrameUrl, string? LastFrameUrl);

/// <summary><c>parameters</c>: <c>size</c> ("1280*720") for text to video, <c>resolution</c> ("720P") with images.</summary>
internal sealed record WanParameters(string? Size, string? Resolution, int Duration, bool? PromptExtend, long? Seed, bool? Watermark);

/// <summary>Create and get answers: <c>{request_id, output, usage}</c>.</summary>
internal sealed record WanResponse(string? RequestId, WanOutput? Output);

/// <summary><c>output</c>: the task, its status, and on success the link (valid 24 h) and the rewritten prompt.</summary>
internal sealed record WanOutput(string? TaskId, string? TaskStatus, string? VideoUrl, string? ActualPrompt, string? Code, string? Message);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(WanCreateRequest))]
[JsonSerializable(typeof(WanResponse))]
internal sealed partial class WanJsonContext : JsonSerializerContext;
