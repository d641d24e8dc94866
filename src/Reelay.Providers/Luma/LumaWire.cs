using System.Text.Json.Serialization;

namespace Reelay.Providers.Luma;

/// <summary>The body of <c>POST /generations/video</c> (Dream Machine API).</summary>
internal sealed record LumaCreateRequest(
    string Model,
    string Prompt,
    string AspectRatio,
    string Resolution,
    string Duration,
    bool? Loop,
    LumaKeyframes? Keyframes,
    string? CallbackUrl);

/// <summary><c>keyframes</c>: <c>frame0</c> the start image, <c>frame1</c> the end image.</summary>
internal sealed record LumaKeyframes(
    [property: JsonPropertyName("frame0")] LumaKeyframe? Frame0,
    [property: JsonPropertyName("frame1")] LumaKeyframe? Frame1);

/// <summary>An image keyframe: a public URL.</summary>
internal sealed record LumaKeyframe(string Type, string Url);

/// <summary>The Generation object: create answer, GET and callback body.</summary>
internal sealed record LumaGeneration(string? Id, string? State, string? FailureReason, LumaAssets? Assets);

/// <summary><c>assets</c>: <c>video</c> is the result.</summary>
internal sealed record LumaAssets(string? Video, string? Image);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(LumaCreateRequest))]
[JsonSerializable(typeof(LumaGeneration))]
internal sealed partial class LumaJsonContext : JsonSerializerContext;
