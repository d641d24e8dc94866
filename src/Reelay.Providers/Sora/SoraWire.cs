using System.Text.Json.Serialization;

namespace Reelay.Providers.Sora;

/// <summary>The <c>Video</c> object (<c>VideoResource</c>); only the fields Reelay reads.</summary>
internal sealed record SoraVideo(string? Id, string? Status, int? Progress, SoraVideoError? Error, long? CompletedAt);

/// <summary>The Video object's <c>error</c>.</summary>
internal sealed record SoraVideoError(string? Code, string? Message);

/// <summary>The body of <c>POST /v1/videos/{id}/remix</c>.</summary>
internal sealed record SoraRemixRequest(string Prompt);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(SoraVideo))]
[JsonSerializable(typeof(SoraRemixRequest))]
internal sealed partial class SoraJsonContext : JsonSerializerContext;
