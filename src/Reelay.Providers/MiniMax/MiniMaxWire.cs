using System.Text.Json;
using System.Text.Json.Serialization;

namespace Reelay.Providers.MiniMax;

/// <summary>The body of <c>POST /v1/video_generation</c>.</summary>
internal sealed record MiniMaxCreateRequest(
    string Model,
    string Prompt,
    bool? PromptOptimizer,
    int Duration,
    string Resolution,
    string? FirstFrameImage,
    string? LastFrameImage,
    string? CallbackUrl);

/// <summary>The envelope every answer carries: HTTP 200 does not mean success, <c>status_code</c> 0 does.</summary>
internal sealed record MiniMaxBaseResp(int? StatusCode, string? StatusMsg);

/// <summary>Create answer, poll answer and callback body (the same shape).</summary>
internal sealed record MiniMaxTask(
    string? TaskId,
    string? Status,
    JsonElement? FileId,
    int? VideoWidth,
    int? VideoHeight,
    MiniMaxBaseResp? BaseResp);

/// <summary><c>GET /v1/files/retrieve</c>.</summary>
internal sealed record MiniMaxFileResponse(MiniMaxFile? File, MiniMaxBaseResp? BaseResp);

/// <summary>The file; <c>file_id</c> may come back as a number.</summary>
internal sealed record MiniMaxFile(JsonElement? FileId, long? Bytes, string? Filename, string? DownloadUrl, string? BackupDownloadUrl);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(MiniMaxCreateRequest))]
[JsonSerializable(typeof(MiniMaxTask))]
[JsonSerializable(typeof(MiniMaxFileResponse))]
internal sealed partial class MiniMaxJsonContext : JsonSerializerContext;
