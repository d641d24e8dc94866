using System.Text.Json.Serialization;

namespace Reelay.Providers.Seedance;

/// <summary>The body of <c>POST /contents/generations/tasks</c> (Ark's content generation task).</summary>
internal sealed record SeedanceCreateRequest(
    string Model,
    IReadOnlyList<SeedanceContent> Content,
    string? CallbackUrl,
    string Ratio,
    string Resolution,
    int Duration,
    long? Seed,
    bool? Watermark,
    bool? GenerateAudio,
    bool? CameraFixed);

/// <summary>One <c>content[]</c> item: <c>text</c> or <c>image_url</c> with its role.</summary>
internal sealed record SeedanceContent(string Type, string? Text = null, SeedanceImageUrl? ImageUrl = null, string? Role = null);

/// <summary>An image as an https URL or a <c>data:image/png;base64,…</c> URI.</summary>
internal sealed record SeedanceImageUrl(string Url);

/// <summary>The create answer: <c>{"id": "cgt-…"}</c>.</summary>
internal sealed record SeedanceCreateResponse(string? Id);

/// <summary>The task object: <c>GET /contents/generations/tasks/{id}</c>, list items and callback bodies.</summary>
internal sealed record SeedanceTask(
    string? Id,
    string? Model,
    string? Status,
    SeedanceError? Error,
    SeedanceTaskContent? Content,
    string? RevisedPrompt,
    long? UpdatedAt);

/// <summary>The task's <c>content</c>: the presigned MP4 link (valid 24 h).</summary>
internal sealed record SeedanceTaskContent(string? VideoUrl, string? LastFrameUrl);

/// <summary>A failed task's <c>error</c>, and the <c>error</c> member of HTTP error bodies.</summary>
internal sealed record SeedanceError(string? Code, string? Message);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(SeedanceCreateRequest))]
[JsonSerializable(typeof(SeedanceCreateResponse))]
[JsonSerializable(typeof(SeedanceTask))]
internal sealed partial class SeedanceJsonContext : JsonSerializerContext;
