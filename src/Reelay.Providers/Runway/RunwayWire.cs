using System.Text.Json.Serialization;

namespace Reelay.Providers.Runway;

/// <summary>The body of <c>POST /v1/image_to_video</c> and <c>/v1/text_to_video</c> (camelCase, as the SDK sends it).</summary>
internal sealed record RunwayCreateRequest(
    string Model,
    string PromptText,
    IReadOnlyList<RunwayPromptImage>? PromptImage,
    string Ratio,
    int Duration,
    long? Seed,
    string? NegativePrompt,
    bool? Audio);

/// <summary>One <c>promptImage</c> item: a URI and its <c>position</c> (<c>first</c>, <c>last</c>).</summary>
internal sealed record RunwayPromptImage(string Uri, string Position);

/// <summary>The create answer: <c>{"id": "&lt;uuid&gt;"}</c>.</summary>
internal sealed record RunwayCreated(string? Id);

/// <summary>The task object of <c>GET /v1/tasks/{id}</c>, discriminated by <c>status</c>.</summary>
internal sealed record RunwayTask(string? Id, string? Status, double? Progress, IReadOnlyList<string>? Output, string? Failure, string? FailureCode);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(RunwayCreateRequest))]
[JsonSerializable(typeof(RunwayCreated))]
[JsonSerializable(typeof(RunwayTask))]
internal sealed partial class RunwayJsonContext : JsonSerializerContext;
