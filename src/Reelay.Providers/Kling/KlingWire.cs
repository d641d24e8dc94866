using System.Text.Json.Serialization;

namespace Reelay.Providers.Kling;

/// <summary>The body of <c>POST /v1/videos/text2video</c> and <c>/image2video</c> (one record: image2video adds the frames, text2video the ratio).</summary>
internal sealed record KlingCreateRequest(
    string ModelName,
    string Prompt,
    string? NegativePrompt,
    string Mode,
    string? AspectRatio,
    string Duration,
    string? Sound,
    string? Image,
    string? ImageTail,
    string? CallbackUrl,
    string? ExternalTaskId);

/// <summary>Every answer's envelope: <c>{code, message, request_id, data}</c>; <c>code</c> 0 is success.</summary>
internal sealed record KlingEnvelope(int? Code, string? Message, string? RequestId, KlingTask? Data);

/// <summary>A task: the envelope's <c>data</c>, and the bare body of a callback.</summary>
internal sealed record KlingTask(
    string? TaskId,
    string? TaskStatus,
    string? TaskStatusMsg,
    KlingTaskInfo? TaskInfo,
    KlingTaskResult? TaskResult,
    long? UpdatedAt);

/// <summary><c>task_info</c>: the client's own id.</summary>
internal sealed record KlingTaskInfo(string? ExternalTaskId);

/// <summary><c>task_result</c>.</summary>
internal sealed record KlingTaskResult(IReadOnlyList<KlingVideo>? Videos);

/// <summary>One generated video; <c>duration</c> is a string of seconds.</summary>
internal sealed record KlingVideo(string? Id, string? Url, string? Duration);

/// <summary>The JWT header and claims Kling's docs prescribe.</summary>
internal sealed record KlingJwtHeader(string Alg, string Typ);

internal sealed record KlingJwtClaims(string Iss, long Exp, long Nbf);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(KlingCreateRequest))]
[JsonSerializable(typeof(KlingEnvelope))]
[JsonSerializable(typeof(KlingTask))]
[JsonSerializable(typeof(KlingJwtHeader))]
[JsonSerializable(typeof(KlingJwtClaims))]
internal sealed partial class KlingJsonContext : JsonSerializerContext;
