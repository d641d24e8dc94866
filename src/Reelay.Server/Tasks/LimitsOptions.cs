using Microsoft.Extensions.Options;

namespace Reelay.Tasks;

/// <summary>Limits on client input and on what Reelay stores (section <c>Limits</c>; image limits sit beside them in <see cref="Images.ImageLimitsOptions"/>).</summary>
public sealed class LimitsOptions
{
    /// <summary>Largest create body accepted (JSON with data-URI images, or multipart).</summary>
    public long MaxCreateBodyBytes { get; set; } = 48 * 1024 * 1024;

    /// <summary>Longest prompt, in characters.</summary>
    public int MaxPromptChars { get; set; } = 8000;

    /// <summary>Longest negative prompt, in characters.</summary>
    public int MaxNegativePromptChars { get; set; } = 2000;

    /// <summary>Longest image or callback URL, in characters.</summary>
    public int MaxUrlChars { get; set; } = 4096;

    /// <summary>Largest finished video Reelay stores.</summary>
    public long MaxVideoBytes { get; set; } = 1024L * 1024 * 1024;

    /// <summary>Most unfinished tasks one test-mode key may have at once; further creates get 429. 0: no limit.</summary>
    public int MaxInFlightPerTestKey { get; set; } = 100;

    /// <summary>
    /// Refuse (429) a local render that could not finish within its model's lifetime behind the renders
    /// already queued, instead of queueing it to time out. Off only for an API-only instance measured in isolation.
    /// </summary>
    public bool LocalAdmission { get; set; } = true;
}

/// <summary>Every limit must be positive: a zero would refuse all input.</summary>
internal sealed class LimitsOptionsValidator : IValidateOptions<LimitsOptions>
{
    public ValidateOptionsResult Validate(string? name, LimitsOptions options)
    {
        var builder = new ValidateOptionsResultBuilder();
        Positive(builder, options.MaxCreateBodyBytes, nameof(options.MaxCreateBodyBytes));
        Positive(builder, options.MaxPromptChars, nameof(options.MaxPromptChars));
        Positive(builder, options.MaxNegativePromptChars, nameof(options.MaxNegativePromptChars));
        Positive(builder, options.MaxUrlChars, nameof(options.MaxUrlChars));
        Positive(builder, options.MaxVideoBytes, nameof(options.MaxVideoBytes));
        if (options.MaxInFlightPerTestKey < 0)
        {
            builder.AddError($"cannot be negative, got {options.MaxInFlightPerTestKey}", "Limits:" + nameof(options.MaxInFlightPerTestKey));
        }
        return builder.Build();
    }

    private static void Positive(ValidateOptionsResultBuilder builder, long value, string name)
    {
        if (value <= 0)
        {
            builder.AddError($"must be positive, got {value}", "Limits:" + name);
        }
    }
}
