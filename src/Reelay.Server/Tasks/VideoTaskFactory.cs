using System.Text.Json;
using Microsoft.Extensions.Options;
using Reelay.Api.Errors;
using Reelay.Catalog;
using Reelay.Channels;
using Reelay.Hosting;
using Reelay.Images;
using Reelay.Keys;

namespace Reelay.Tasks;

/// <summary>
/// Turns a draft into a pending task: every value checked against the model's catalog entry and the
/// limits, defaults filled in, prompt flags split off. Any problem is an <see cref="ApiError"/> that
/// names the field and what to send instead; nothing is stored until all is well.
/// </summary>
public sealed class VideoTaskFactory(ModelCatalog catalog, ChannelRouter router, NetworkPolicy network, IOptions<LimitsOptions> limits, TimeProvider time)
{
    public ApiError? TryCreate(TaskDraft draft, Caller caller, out VideoTask task)
    {
        task = null!;
        var names = draft.Names;
        var max = limits.Value;

        if (string.IsNullOrWhiteSpace(draft.Model))
        {
            return ApiError.BadRequest($"'{names.Model}' is required: name the model to use, e.g. \"reelay-preview\" (GET /v1/models lists them).", names.Model, "missing_field");
        }

        var model = catalog.Find(draft.Model.Trim());
        if (model is null)
        {
            return ApiError.BadRequest(
                $"Model '{Shorten(draft.Model)}' does not exist. Available models: {string.Join(", ", catalog.Entries.Where(e => router.Candidates(e, caller.Mode).Count > 0).Select(e => e.Name))}.",
                names.Model, "model_not_found");
        }

        if (draft.Prompt is null)
        {
            return ApiError.BadRequest($"'{names.Prompt}' is required: describe the video to make.", names.Prompt, "missing_field");
        }

        var (prompt, flags) = PromptFlags.Split(draft.Prompt);
        if (string.IsNullOrWhiteSpace(prompt))
        {
            return ApiError.BadRequest($"'{names.Prompt}' is empty: describe the video to make (flags like --mode=custom alone are not a prompt).", names.Prompt, "empty_prompt");
        }

        if (prompt.Length > max.MaxPromptChars)
        {
            return ApiError.BadRequest($"'{names.Prompt}' is {prompt.Length} characters long; the limit is {max.MaxPromptChars}.", names.Prompt, "prompt_too_long");
        }

        if (draft.NegativePrompt is { Length: var negativeLength } && negativeLength > max.MaxNegativePromptChars)
        {
            return ApiError.BadRequest($"'negative_prompt' is {negativeLength} characters long; the limit is {max.MaxNegativePromptChars}.", "negative_prompt", "prompt_too_long");
        }

        // A size in pixels (720x1280, as some relays send) carries the shape when no ratio is given,
        // and must agree with one that is.
        if (!string.IsNullOrWhiteSpace(draft.AspectRatio) && draft.Size is not null
            && Shapes.TryParsePixels(draft.Size.Trim(), out _, out var sizeShape) && sizeShape != draft.AspectRatio.Trim())
        {
            return ApiError.BadRequest(
                $"'{names.Size}' {Quote(draft.Size)} is {sizeShape} but '{names.AspectRatio}' is {Quote(draft.AspectRatio)}: send matching values, or only one of them.",
                names.Size, "conflicting_values");
        }

        var aspectRatio = !string.IsNullOrWhiteSpace(draft.AspectRatio) ? draft.AspectRatio.Trim()
            : draft.Size is not null && Shapes.TryParsePixels(draft.Size.Trim(), out _, out var pixelRatio) ? pixelRatio
            : model.DefaultAspectRatio;
        if (!model.AspectRatios.Contains(aspectRatio, StringComparer.Ordinal))
        {
            return ApiError.BadRequest(
                $"'{names.AspectRatio}' {Quote(aspectRatio)} is not supported by {model.Name}; use one of {string.Join(", ", model.AspectRatios)}.",
                names.AspectRatio, "unsupported_value");
        }

        var size = NormalizeSize(draft.Size) ?? model.DefaultSize;
        if (!model.Sizes.Contains(size, StringComparer.Ordinal))
        {
            return ApiError.BadRequest(
                $"'{names.Size}' {Quote(draft.Size ?? size)} is not supported by {model.Name}; use one of {string.Join(", ", model.Sizes)}.",
                names.Size, "unsupported_value");
        }

        // Some sizes allow only some durations (Veo renders 1080P and 4K at 8 s only).
        var sizeDurations = model.DurationsFor(size);
        var duration = draft.Duration ?? (sizeDurations is { Count: > 0 } && !sizeDurations.Contains(model.DefaultDuration) ? sizeDurations[0] : model.DefaultDuration);
        if (!model.AllowsDuration(duration))
        {
            return ApiError.BadRequest(
                $"'{names.Duration}' {duration} is not supported by {model.Name}; use {model.DescribeDurations()} seconds.",
                names.Duration, "unsupported_value");
        }

        if (sizeDurations is not null && !sizeDurations.Contains(duration))
        {
            return ApiError.BadRequest(
                $"'{names.Duration}' {duration} is not supported by {model.Name} at {size}; use {string.Join(", ", sizeDurations)} seconds, or a smaller size.",
                names.Duration, "unsupported_value");
        }

        if (draft.Images.Count > model.MaxImages)
        {
            return ApiError.BadRequest(
                model.MaxImages == 0
                    ? $"{model.Name} makes videos from text only; send '{names.Images}' as [] or leave it out."
                    : $"'{names.Images}' has {draft.Images.Count} items; {model.Name} takes at most {model.MaxImages}.",
                names.Images, "too_many_images");
        }

        for (var i = 0; i < draft.Images.Count; i++)
        {
            if (CheckImageReference(draft.Images[i], max) is { } problem)
            {
                return ApiError.BadRequest($"'{names.Images}[{i}]' {problem}.", $"{names.Images}[{i}]", "invalid_image_reference");
            }
        }

        if (draft.CallbackUrl is { } callback && !IsHttpUrl(callback, max.MaxUrlChars))
        {
            return ApiError.BadRequest($"'callback_url' must be an absolute http(s) URL of at most {max.MaxUrlChars} characters.", "callback_url", "invalid_callback_url");
        }

        if (draft.CallbackUrl is { } target && network.CheckCallbackUrl(target) is { } refused)
        {
            return ApiError.BadRequest($"'callback_url' {refused}.", "callback_url", "invalid_callback_url");
        }

        if (draft.IdempotencyKey is { Length: > 200 })
        {
            return ApiError.BadRequest("The Idempotency-Key header is longer than 200 characters.", "Idempotency-Key", "invalid_idempotency_key");
        }

        if (router.Candidates(model, caller.Mode).Count == 0)
        {
            return new ApiError(503, ChannelRouter.MissingSetting(model), "model_not_configured", names.Model);
        }

        foreach (var (name, value) in draft.Options.Concat(model.Options))
        {
            flags.TryAdd(name, value);
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        task = new VideoTask
        {
            Id = TaskIds.New(model.IdPrefix),
            OwnerKeyId = caller.KeyId,
            Mode = caller.Mode == KeyMode.Test ? "test" : "live",
            Model = model.Name,
            RequestedModel = draft.Model.Trim(),
            Prompt = prompt,
            NegativePrompt = string.IsNullOrWhiteSpace(draft.NegativePrompt) ? null : draft.NegativePrompt,
            AspectRatio = aspectRatio,
            Size = size,
            Duration = duration,
            Seed = draft.Seed,
            ImagesJson = JsonSerializer.Serialize(draft.Images, TaskJsonContext.Default.ListString),
            OptionsJson = JsonSerializer.Serialize(flags, TaskJsonContext.Default.DictionaryStringString),
            CallbackUrl = draft.CallbackUrl,
            IdempotencyKey = draft.IdempotencyKey,
            RemixedFrom = draft.RemixedFrom,
            Stage = Stage.Pending,
            CreatedAt = now,
            UpdatedAt = now,
            NextAt = now,
            DeadlineAt = now + (long)model.MaxLifetime.TotalMilliseconds,
        };
        return null;
    }

    /// <summary><c>720p</c> → <c>720P</c>; the Sora relay words <c>small</c>/<c>large</c> → 720P/1080P; <c>1280x720</c> → its short side's class.</summary>
    public static string? NormalizeSize(string? size)
    {
        if (string.IsNullOrWhiteSpace(size))
        {
            return null;
        }

        var trimmed = size.Trim();
        if (trimmed.Equals("small", StringComparison.OrdinalIgnoreCase))
        {
            return "720P";
        }

        if (trimmed.Equals("large", StringComparison.OrdinalIgnoreCase))
        {
            return "1080P";
        }

        return Shapes.TryParsePixels(trimmed, out var sizeClass, out _) ? sizeClass : trimmed.ToUpperInvariant();
    }

    private static string? CheckImageReference(string reference, LimitsOptions max)
    {
        if (reference.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            return DataUri.Check(reference, max.MaxImageBytes);
        }

        return IsHttpUrl(reference, max.MaxUrlChars)
            ? null
            : $"must be an absolute http(s) URL of at most {max.MaxUrlChars} characters or a data:image/...;base64, URI";
    }

    private static bool IsHttpUrl(string value, int maxChars) =>
        value.Length <= maxChars
        && Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && !string.IsNullOrEmpty(uri.Host);

    private static string Quote(string value) => "\"" + Shorten(value) + "\"";

    private static string Shorten(string value) => value.Length <= 60 ? value : value[..60] + "…";
}
