using System.Text.Json.Serialization;

namespace Reelay.Providers.GeminiOmni;

/// <summary>The body of <c>POST /interactions</c> for a video (providers/google-omni.md §2); snake_case on the wire.</summary>
internal sealed record OmniCreateRequest(
    string Model,
    bool Background,
    bool Store,
    IReadOnlyList<OmniPart> Input,
    OmniGenerationConfig? GenerationConfig,
    OmniResponseFormat ResponseFormat);

/// <summary>An input or output content part, told apart by <c>type</c>: <c>text{text}</c>, <c>image|video{data|uri, mime_type}</c>.</summary>
internal sealed record OmniPart(string Type, string? Text = null, string? MimeType = null, string? Data = null, string? Uri = null);

/// <summary><c>generation_config</c>: the video task, and a seed (in the schema; its effect on Omni is unverified).</summary>
internal sealed record OmniGenerationConfig(OmniVideoConfig? VideoConfig, long? Seed);

/// <summary><c>generation_config.video_config</c>.</summary>
internal sealed record OmniVideoConfig(string Task);

/// <summary><c>response_format</c> for a video: ratio, resolution, duration as <c>"6s"</c>, inline or uri delivery.</summary>
internal sealed record OmniResponseFormat(string Type, string AspectRatio, string Resolution, string Duration, string Delivery, string? GcsUri);

/// <summary>An interaction as create and get answer it (§4).</summary>
internal sealed record OmniInteraction(
    string? Id,
    string? Status,
    string? Model,
    IReadOnlyList<OmniStep>? Steps,
    IReadOnlyList<OmniPlatformError>? Errors,
    OmniStatus? Error);

/// <summary>One step: <c>thought</c>, <c>model_output</c> (with <c>content[]</c> and maybe an <c>error</c>), <c>user_input</c>.</summary>
internal sealed record OmniStep(string? Type, IReadOnlyList<OmniPart>? Content, OmniStatus? Error);

/// <summary>A <c>google.rpc.Status</c> (a step's error, or an error body without a status).</summary>
internal sealed record OmniStatus(int? Code, string? Message, string? Status);

/// <summary>A platform fault in <c>errors[]</c>: <c>{code: &lt;URI string&gt;, message}</c>.</summary>
internal sealed record OmniPlatformError(string? Code, string? Message);

/// <summary>Files API metadata (<c>GET /v1beta/files/{id}</c>); a generated file is downloadable once <c>ACTIVE</c>.</summary>
internal sealed record OmniFile(string? Name, string? State, string? MimeType, string? Uri);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(OmniCreateRequest))]
[JsonSerializable(typeof(OmniInteraction))]
internal sealed partial class OmniJsonContext : JsonSerializerContext;

/// <summary>Files API metadata uses camelCase (<c>mimeType</c>), unlike Interactions.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(OmniFile))]
internal sealed partial class OmniFilesJsonContext : JsonSerializerContext;
