using System.Text.Json.Serialization;

namespace Reelay.Providers.Veo;

/// <summary>The body of <c>:predictLongRunning</c>.</summary>
internal sealed record VeoPredictRequest(IReadOnlyList<VeoInstance> Instances, VeoParameters Parameters);

/// <summary>One generation instance.</summary>
internal sealed record VeoInstance(
    string Prompt,
    VeoImage? Image,
    VeoImage? LastFrame,
    IReadOnlyList<VeoReferenceImage>? ReferenceImages);

/// <summary>An inline image as the Gemini API's Veo endpoint accepts it.</summary>
internal sealed record VeoImage(string BytesBase64Encoded, string MimeType);

/// <summary>A Veo 3.1 reference image; <c>referenceType</c> is <c>ASSET</c> on the Gemini API.</summary>
internal sealed record VeoReferenceImage(VeoImage Image, string ReferenceType);

/// <summary>Generation parameters.</summary>
internal sealed record VeoParameters(
    string AspectRatio,
    string Resolution,
    int DurationSeconds,
    string? NegativePrompt,
    string PersonGeneration);

/// <summary>A <c>google.longrunning.Operation</c>.</summary>
internal sealed record VeoOperation(string? Name, bool? Done, VeoStatus? Error, VeoOperationResponse? Response);

/// <summary>A <c>google.rpc.Status</c> (operation error), or the HTTP error's <c>error</c> object.</summary>
internal sealed record VeoStatus(int? Code, string? Message, string? Status);

/// <summary>The operation's <c>response</c>.</summary>
internal sealed record VeoOperationResponse(VeoGenerateVideoResponse? GenerateVideoResponse);

/// <summary><c>response.generateVideoResponse</c>.</summary>
internal sealed record VeoGenerateVideoResponse(
    IReadOnlyList<VeoGeneratedSample>? GeneratedSamples,
    int? RaiMediaFilteredCount,
    IReadOnlyList<string>? RaiMediaFilteredReasons);

/// <summary>One generated sample.</summary>
internal sealed record VeoGeneratedSample(VeoVideo? Video);

/// <summary>The result file.</summary>
internal sealed record VeoVideo(string? Uri);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(VeoPredictRequest))]
[JsonSerializable(typeof(VeoOperation))]
internal sealed partial class VeoJsonContext : JsonSerializerContext;
