using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Reelay.Providers.Media;

namespace Reelay.Providers.Local;

/// <summary>Registers the local preview renderer.</summary>
public static class LocalRendererExtensions
{
    /// <summary>
    /// Adds the local renderer as an <see cref="IVideoProvider"/> named <see cref="ProviderNames.Local"/>,
    /// with the <see cref="MediaToolkit"/> it runs ffmpeg through. The caller binds <see cref="LocalRendererOptions"/>
    /// (and optionally <see cref="MediaOptions"/>); a missing work directory fails options validation.
    /// </summary>
    public static IServiceCollection AddLocalRenderer(this IServiceCollection services)
    {
        services.AddOptions<MediaOptions>().ValidateOnStart();
        services.AddOptions<LocalRendererOptions>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<MediaToolkit>();
        services.TryAddSingleton<LocalRenderLoad>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LocalRendererOptions>, LocalRendererOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MediaOptions>, MediaOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IVideoProvider, LocalRenderer>());
        return services;
    }
}

/// <summary>Rejects settings the renderer cannot work with, naming the setting and the value.</summary>
internal sealed class LocalRendererOptionsValidator : IValidateOptions<LocalRendererOptions>
{
    public ValidateOptionsResult Validate(string? name, LocalRendererOptions options)
    {
        List<string> failures = [];
        if (string.IsNullOrWhiteSpace(options.WorkDirectory))
        {
            failures.Add("LocalRendererOptions.WorkDirectory is required: the directory where local render jobs are kept.");
        }
        if (options.FramesPerSecond is < 1 or > 60)
        {
            failures.Add($"LocalRendererOptions.FramesPerSecond must be 1–60, not {options.FramesPerSecond}.");
        }
        if (options.MaxConcurrentRenders < 1)
        {
            failures.Add($"LocalRendererOptions.MaxConcurrentRenders must be at least 1, not {options.MaxConcurrentRenders}.");
        }
        if (options.ExpectedRenderTime <= TimeSpan.Zero)
        {
            failures.Add($"LocalRendererOptions.ExpectedRenderTime must be positive, not {options.ExpectedRenderTime}.");
        }
        if (options.RenderTimeout <= TimeSpan.Zero)
        {
            failures.Add($"LocalRendererOptions.RenderTimeout must be positive, not {options.RenderTimeout}.");
        }
        if (options.JobRetention <= TimeSpan.Zero)
        {
            failures.Add($"LocalRendererOptions.JobRetention must be positive, not {options.JobRetention}.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>A CPU priority nice(1) cannot give without privileges stops startup.</summary>
internal sealed class MediaOptionsValidator : IValidateOptions<MediaOptions>
{
    public ValidateOptionsResult Validate(string? name, MediaOptions options) =>
        options.Niceness is < 0 or > 19
            ? ValidateOptionsResult.Fail($"MediaOptions.Niceness must be 0–19 (0: the same CPU priority as Reelay, 19: the lowest), not {options.Niceness}.")
            : ValidateOptionsResult.Success;
}
