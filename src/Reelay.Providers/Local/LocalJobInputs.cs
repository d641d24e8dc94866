using System.Text.Json.Serialization;

namespace Reelay.Providers.Local;

/// <summary>
/// A job's request as written to its directory (image bytes live beside it as files), so a restarted
/// server can render it again. <paramref name="Seed"/> is already resolved: the same file renders the same video.
/// </summary>
internal sealed record LocalJobInputs(
    string TaskId,
    string Model,
    string Prompt,
    string AspectRatio,
    string Size,
    int Width,
    int Height,
    int DurationSeconds,
    long Seed,
    IReadOnlyList<LocalJobImage> Images);

/// <summary>A reference image stored as <paramref name="FileName"/> in the job directory.</summary>
internal sealed record LocalJobImage(string FileName, string MediaType, int Width, int Height);

[JsonSerializable(typeof(LocalJobInputs))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
internal sealed partial class LocalJobJsonContext : JsonSerializerContext;
