using Microsoft.Extensions.Options;

namespace Reelay.Images;

/// <summary>What the SSRF guard lets through; read from <c>REELAY_ALLOW_PRIVATE_NETWORKS</c>.</summary>
public sealed class NetworkOptions
{
    /// <summary>
    /// Comma-separated CIDRs (or the word <c>loopback</c>) that image and callback fetches may reach even
    /// though they are private; everything loopback, private, link-local or metadata is refused otherwise.
    /// </summary>
    [Microsoft.Extensions.Configuration.ConfigurationKeyName("ALLOW_PRIVATE_NETWORKS")]
    public string? AllowPrivateNetworks { get; set; }
}

/// <summary>A setting that does not parse stops startup with the word that is wrong.</summary>
internal sealed class NetworkOptionsValidator : IValidateOptions<NetworkOptions>
{
    public ValidateOptionsResult Validate(string? name, NetworkOptions options) =>
        NetworkPolicy.TryParseAllowed(options.AllowPrivateNetworks, out _, out var problem)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(problem!);
}

/// <summary>Limits on reference images (section <c>Limits</c>, beside the request limits).</summary>
public sealed class ImageLimitsOptions
{
    /// <summary>Largest reference image, decoded.</summary>
    public int MaxImageBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Largest image side in pixels.</summary>
    public int MaxImageSide { get; set; } = 8192;

    /// <summary>How long one reference image download may take.</summary>
    public TimeSpan ImageDownloadTimeout { get; set; } = TimeSpan.FromSeconds(20);
}

/// <summary>Limits must be positive: a zero would refuse every image.</summary>
internal sealed class ImageLimitsOptionsValidator : IValidateOptions<ImageLimitsOptions>
{
    public ValidateOptionsResult Validate(string? name, ImageLimitsOptions options)
    {
        var builder = new ValidateOptionsResultBuilder();
        if (options.MaxImageBytes <= 0)
        {
            builder.AddError("must be positive", "Limits:MaxImageBytes");
        }

        if (options.MaxImageSide <= 0)
        {
            builder.AddError("must be positive", "Limits:MaxImageSide");
        }

        if (options.ImageDownloadTimeout <= TimeSpan.Zero)
        {
            builder.AddError("must be positive", "Limits:ImageDownloadTimeout");
        }

        return builder.Build();
    }
}
