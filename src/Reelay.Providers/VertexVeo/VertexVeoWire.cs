using System.Text.Json.Serialization;

namespace Reelay.Providers.VertexVeo;

/// <summary>The body of Vertex AI's <c>:predictLongRunning</c> for Veo (providers/google-omni.md §9, google-veo.md).</summary>
internal sealed record VertexPredictRequest(IReadOnlyList<VertexVeoInstance> Instances, VertexVeoParameters Parameters);

/// <summary>One generation instance.</summary>
internal sealed record VertexVeoInstance(
    string Prompt,
    VertexImage? Image,
    VertexImage? LastFrame,
    IReadOnlyList<VertexReferenceImage>? ReferenceImages);

/// <summary>An inline image: <c>{bytesBase64Encoded, mimeType}</c> (Vertex also takes <c>gcsUri</c>).</summary>
internal sealed record VertexImage(string BytesBase64Encoded, string MimeType);

/// <summary>A Veo 3.1 reference image; <c>referenceType</c> <c>asset</c> (Vertex also has <c>style</c>).</summary>
internal sealed record VertexReferenceImage(VertexImage Image, string ReferenceType);

/// <summary>Generation parameters; <c>storageUri</c> makes results Cloud Storage objects instead of inline bytes.</summary>
internal sealed record VertexVeoParameters(
    string AspectRatio,
    string Resolution,
    int DurationSeconds,
    int SampleCount,
    bool GenerateAudio,
    long? Seed,
    string? NegativePrompt,
    string? PersonGeneration,
    string? StorageUri);

/// <summary>The body of <c>:fetchPredictOperation</c>.</summary>
internal sealed record VertexFetchOperationRequest(string OperationName);

/// <summary>A <c>google.longrunning.Operation</c> from Vertex.</summary>
internal sealed record VertexOperation(string? Name, bool? Done, VertexStatus? Error, VertexVeoResponse? Response);

/// <summary>A <c>google.rpc.Status</c>.</summary>
internal sealed record VertexStatus(int? Code, string? Message, string? Status);

/// <summary>The finished operation's <c>response</c>: <c>videos[]</c> and the safety filter's count and reasons.</summary>
internal sealed record VertexVeoResponse(
    IReadOnlyList<VertexVideo>? Videos,
    int? RaiMediaFilteredCount,
    IReadOnlyList<string>? RaiMediaFilteredReasons);

/// <summary>One video: a Cloud Storage URI, or the bytes inline.</summary>
internal sealed record VertexVideo(string? GcsUri, string? BytesBase64Encoded, string? MimeType);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(VertexPredictRequest))]
[JsonSerializable(typeof(VertexFetchOperationRequest))]
[JsonSerializable(typeof(VertexOperation))]
internal sealed partial class VertexVeoJsonContext : JsonSerializerContext;
