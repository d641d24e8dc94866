namespace Reelay.Providers.Veo;

/// <summary>
/// What a Veo request's images are, on the Gemini API and on Vertex AI alike: by default (<c>frames</c>,
/// the mode every Veo 3.x model has) the first frame and, with a second image, the last frame; with
/// <c>image_mode: components</c> up to three reference images (3.1 only), which exclude the frames.
/// </summary>
/// <typeparam name="TImage">The wire's image type.</typeparam>
internal sealed record VeoImageRoles<TImage>(TImage? First, TImage? Last, IReadOnlyList<TImage>? References)
    where TImage : class
{
    /// <summary>Splits the request's images into their roles, refusing a count Veo does not take (before any call).</summary>
    public static VeoImageRoles<TImage> Of(VideoJobRequest request, Func<ReferenceImage, TImage> toImage)
    {
        var images = request.Images;
        if (images.Count == 0)
        {
            return new(null, null, null);
        }

        var components = request.Options.TryGetValue(VeoProvider.ImageModeOption, out var mode)
            && string.Equals(mode, "components", StringComparison.OrdinalIgnoreCase);
        if (components)
        {
            return images.Count <= 3
                ? new(null, null, [.. images.Select(toImage)])
                : throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.InvalidArgument,
                    $"Veo takes at most 3 reference images, not {images.Count}.");
        }

        return images.Count <= 2
            ? new(toImage(images[0]), images.Count == 2 ? toImage(images[1]) : null, null)
            : throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.InvalidArgument,
                $"Veo takes a first and a last frame (2 images), not {images.Count}; use image_mode 'components' for up to 3 references.");
    }
}
