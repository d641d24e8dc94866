using System.Text.Json;
using System.Text.Json.Serialization;

namespace Reelay.Providers.UnifiedRelay;

/// <summary>The body of <c>POST /v1/video/create</c>; the optional fields (Veo's, the Sora app's) go out only when set.</summary>
internal sealed record UnifiedCreateRequest(
    string Model,
    string Prompt,
    string AspectRatio,
    string Size,
    IReadOnlyList<string> Images,
    int Duration,
    string? Orientation = null,
    bool? Watermark = null,
    bool? Private = null,
    string? Style = null,
    bool? EnhancePrompt = null,
    bool? EnableUpsample = null);

/// <summary>The create answer: <c>{id, status, status_update_time}</c>, or an OpenAI-like object with <c>task_id</c>.</summary>
internal sealed record UnifiedCreateResponse(string? Id, string? TaskId, string? Status);

/// <summary>
/// The query answer. <c>progress</c> is a number or a numeric string, <c>error</c> a string or
/// <c>{code, message}</c>, <c>detail</c> an upstream record that may hold the reason or the URL;
/// <c>status_update_time</c> Unix milliseconds or seconds, depending on the relay.
/// </summary>
internal sealed record UnifiedQueryResponse(
    string? Id,
    string? Status,
    JsonElement? Progress,
    string? VideoUrl,
    string? EnhancedPrompt,
    JsonElement? Error,
    JsonElement? Detail,
    JsonElement? StatusUpdateTime);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(UnifiedCreateRequest))]
[JsonSerializable(typeof(UnifiedCreateResponse))]
[JsonSerializable(typeof(UnifiedQueryResponse))]
internal sealed partial class UnifiedJsonContext : JsonSerializerContext;
