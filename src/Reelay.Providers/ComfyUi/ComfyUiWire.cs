using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Reelay.Providers.ComfyUi;

/// <summary>The body of <c>POST /prompt</c>: the API-format graph with the request's values filled in.</summary>
internal sealed record ComfyPromptRequest(JsonObject Prompt, string ClientId, string PromptId);

/// <summary><c>POST /prompt</c>'s answer: 200 with the id, or 400 with <c>error</c> and <c>node_errors</c>.</summary>
internal sealed record ComfyPromptResponse(string? PromptId, double? Number, JsonElement? NodeErrors);

/// <summary><c>POST /upload/image</c>'s answer: the name to use (the server renames on collisions).</summary>
internal sealed record ComfyUploaded(string? Name, string? Subfolder, string? Type);

/// <summary><c>GET /queue</c>: items are <c>[number, prompt_id, prompt, extra_data, outputs_to_execute]</c>.</summary>
internal sealed record ComfyQueue(IReadOnlyList<JsonElement>? QueueRunning, IReadOnlyList<JsonElement>? QueuePending);

/// <summary>A history entry (<c>GET /history/{prompt_id}</c> answers <c>{prompt_id: entry}</c>, or <c>{}</c> until it ends).</summary>
internal sealed record ComfyHistoryEntry(Dictionary<string, JsonElement>? Outputs, ComfyStatus? Status);

/// <summary>The entry's <c>status</c>; <c>messages</c> are <c>[event, data]</c> pairs.</summary>
internal sealed record ComfyStatus(string? StatusStr, bool? Completed, IReadOnlyList<JsonElement>? Messages);

/// <summary>The body of <c>POST /queue</c> (delete pending items) and of <c>POST /interrupt</c>.</summary>
internal sealed record ComfyQueueDelete(IReadOnlyList<string> Delete);

internal sealed record ComfyInterrupt(string PromptId);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ComfyPromptRequest))]
[JsonSerializable(typeof(ComfyPromptResponse))]
[JsonSerializable(typeof(ComfyUploaded))]
[JsonSerializable(typeof(ComfyQueue))]
[JsonSerializable(typeof(Dictionary<string, ComfyHistoryEntry>))]
[JsonSerializable(typeof(ComfyQueueDelete))]
[JsonSerializable(typeof(ComfyInterrupt))]
internal sealed partial class ComfyJsonContext : JsonSerializerContext;
