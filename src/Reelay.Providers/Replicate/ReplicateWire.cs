using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Reelay.Providers.Replicate;

/// <summary>The body of <c>POST /v1/predictions</c> (with <c>version</c>) and <c>POST /v1/models/{owner}/{name}/predictions</c> (without).</summary>
internal sealed record ReplicateCreateRequest(
    string? Version,
    JsonObject Input,
    string? Webhook,
    IReadOnlyList<string>? WebhookEventsFilter);

/// <summary>The prediction object: create answer, GET, cancel answer and webhook body.</summary>
internal sealed record ReplicatePrediction(string? Id, string? Status, JsonElement? Output, JsonElement? Error, bool? DataRemoved, string? CompletedAt);

/// <summary><c>GET /v1/webhooks/default/secret</c>.</summary>
internal sealed record ReplicateWebhookSecret(string? Key);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ReplicateCreateRequest))]
[JsonSerializable(typeof(ReplicatePrediction))]
[JsonSerializable(typeof(ReplicateWebhookSecret))]
internal sealed partial class ReplicateJsonContext : JsonSerializerContext;
