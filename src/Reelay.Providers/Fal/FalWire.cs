using System.Text.Json.Serialization;

namespace Reelay.Providers.Fal;

/// <summary>The submit answer of <c>POST https://queue.fal.run/{model_id}</c>.</summary>
internal sealed record FalQueued(string? RequestId, string? Status, string? ResponseUrl, string? StatusUrl, string? CancelUrl);

/// <summary><c>GET …/requests/{id}/status</c>: <c>IN_QUEUE</c> (202), <c>IN_PROGRESS</c> (202), <c>COMPLETED</c> (200).</summary>
internal sealed record FalStatus(string? Status, int? QueuePosition, string? Error, string? ErrorType);

/// <summary>A video model's output: <c>{"video": {"url", "content_type", …}, "seed"}</c> (the shape most video models share).</summary>
internal sealed record FalOutput(FalFile? Video, IReadOnlyList<FalFile>? Videos);

/// <summary>A file in fal's output.</summary>
internal sealed record FalFile(string? Url, string? ContentType);

/// <summary>The answer of <c>PUT …/requests/{id}/cancel</c>.</summary>
internal sealed record FalCancelled(string? Status);

/// <summary>fal's webhook signing keys (<c>/.well-known/jwks.json</c>).</summary>
internal sealed record FalJwks(IReadOnlyList<FalJwk>? Keys);

/// <summary>One key: <c>kty: OKP</c>, <c>crv: Ed25519</c>, <c>x</c> the base64url public key.</summary>
internal sealed record FalJwk(string? Kty, string? Crv, string? X);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(FalQueued))]
[JsonSerializable(typeof(FalStatus))]
[JsonSerializable(typeof(FalOutput))]
[JsonSerializable(typeof(FalCancelled))]
[JsonSerializable(typeof(FalJwks))]
internal sealed partial class FalJsonContext : JsonSerializerContext;
