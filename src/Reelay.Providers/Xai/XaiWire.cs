using System.Text.Json.Serialization;

namespace Reelay.Providers.Xai;

/// <summary><c>GenerateVideoRequest</c>: the body of <c>POST /v1/videos/generations</c>.</summary>
internal sealed record XaiGenerateRequest(
    string Model,
    string Prompt,
    int Duration,
    string AspectRatio,
    string Resolution,
    XaiImageUrl? Image,
    IReadOnlyList<XaiImageUrl>? ReferenceImages);

/// <summary><c>ImageUrl</c>: an https URL or a <c>data:</c> URI.</summary>
internal sealed record XaiImageUrl(string Url);

/// <summary><c>StartDeferredResponse</c>.</summary>
internal sealed record XaiStartResponse(string? RequestId);

/// <summary><c>VideoResponse</c>: the body of <c>GET /v1/videos/{request_id}</c>.</summary>
internal sealed record XaiVideoResponse(string? Status, string? Model, int? Progress, XaiGeneratedVideo? Video, XaiVideoError? Error);

/// <summary><c>GeneratedVideo</c>.</summary>
internal sealed record XaiGeneratedVideo(string? Url, int? Duration, bool? RespectModeration);

/// <summary><c>VideoError</c>.</summary>
internal sealed record XaiVideoError(string? Code, string? Message);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(XaiGenerateRequest))]
[JsonSerializable(typeof(XaiStartResponse))]
[JsonSerializable(typeof(XaiVideoResponse))]
internal sealed partial class XaiJsonContext : JsonSerializerContext;
