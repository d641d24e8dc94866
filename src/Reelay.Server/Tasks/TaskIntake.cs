using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Reelay.Accounts;
using Reelay.Billing;
using Reelay.Catalog;
using Reelay.Channels;
using Reelay.Images;
using Reelay.Keys;
using Reelay.Providers;

namespace Reelay.Tasks;

/// <summary>
/// The one home of create, for both surfaces: a draft is checked against the model's catalog entry,
/// the caller's limits and the limits, defaults are filled in and prompt flags split off, the price is
/// worked out; then the task is stored (<c>pending</c>) with its hold and the dispatcher nudged. Any
/// problem is a <see cref="TaskProblem"/> naming the field and what to send instead, and nothing is
/// stored (nor held) until all is well.
/// </summary>
public sealed class TaskIntake(
    ModelCatalog catalog,
    ChannelRouter router,
    ITaskStore store,
    IAccountStore accounts,
    PriceList prices,
    TaskSignals signals,
    TaskAdmission admission,
    RequestImages requestImages,
    NetworkPolicy network,
    IOptions<LimitsOptions> limits,
    IOptions<ImageLimitsOptions> imageLimits,
    TimeProvider time)
{
    /// <summary>The option that records the orientation a request named.</summary>
    public const string OrientationOption = "orientation";

    private const string StyleOption = "style";

    /// <summary>The Sora app's styles, as the relays document them (providers/unified-video.md).</summary>
    private static readonly string[] Styles = ["thanksgiving", "comic", "news", "selfie", "nostalgic", "anime"];

    /// <summary>
    /// Validates, holds the price, stores and signals. With an idempotency key the account already used
    /// for the same request, the earlier task comes back and nothing new is stored or held.
    /// </summary>
    public async Task<TaskIntakeResult> CreateAsync(TaskDraft draft, Caller caller, CancellationToken cancellationToken)
    {
        var problem = Validate(draft, caller, out var task, out var model, out var rendersLocally, out var quote, out var redirected)
            ?? await admission.AdmitAsync(model, rendersLocally, cancellationToken);
        if (problem is not null)
        {
            return new TaskIntakeResult(null, problem);
        }

        var rules = RulesFor(task, caller);

        // Inline images go to the blob store first: the row keeps their keys, never their bytes.
        var images = await requestImages.StoreAsync(task.Images, cancellationToken);
        if (!ReferenceEquals(images, task.Images))
        {
            // Only a request with inline images pays for a copy of the task.
            task = task with { Images = images };
        }

        // Checkpoint: once this returns the task is durable with its hold, and the client's answer says so.
        CreateResult result;
        try
        {
            result = await store.CreateAsync(task, rules, cancellationToken);
        }
        catch
        {
            await requestImages.DeleteAsync(images, CancellationToken.None);
            throw;
        }

        if (result.Outcome != CreateOutcome.Created)
        {
            // Refused, or an idempotent replay: the earlier task keeps its own images.
            await requestImages.DeleteAsync(images, CancellationToken.None);
        }

        if (result.Outcome == CreateOutcome.Created)
        {
            signals.TaskCreated();
        }

        return result.Outcome is CreateOutcome.Created or CreateOutcome.Replayed
            ? new TaskIntakeResult(result.Task, null) { Replayed = result.Outcome == CreateOutcome.Replayed, RedirectedFrom = redirected }
            : new TaskIntakeResult(null, Refusal(result, task, caller, rules, quote));
    }

    /// <summary>
    /// A dry run: the draft checked exactly as a create checks it, and what it would hold, against the
    /// account's credits now. Nothing is stored or held.
    /// </summary>
    public async Task<TaskQuoteResult> QuoteAsync(TaskDraft draft, Caller caller, CancellationToken cancellationToken)
    {
        if (Validate(draft, caller, out var task, out _, out _, out var quote, out _) is { } problem)
        {
            return new TaskQuoteResult(null, null, problem);
        }

        var account = await accounts.GetAsync(caller.AccountId, cancellationToken);
        return new TaskQuoteResult(quote ?? new Quote(task.Model, PriceUnit.Video, 0, task.Duration, 0), account, null) { Task = task };
    }

    /// <summary>The limits the store checks in the insert's transaction: the key's own, else for a test key the shipped default, and the account's.</summary>
    private CreateRules RulesFor(VideoTask task, Caller caller)
    {
        var testDefault = limits.Value.MaxInFlightPerTestKey;
        var keyInFlight = caller.KeyLimits.MaxInFlight ?? (caller.Mode == KeyMode.Test && testDefault > 0 ? testDefault : null);
        return new CreateRules(task.IdempotencyKey is null ? null : RequestHash(task, caller), task.CreatedAt)
        {
            KeyMaxInFlight = keyInFlight,
            KeyInFlightIsTestDefault = caller.KeyLimits.MaxInFlight is null && keyInFlight is not null,
            AccountMaxInFlight = caller.AccountLimits.MaxInFlight,
            KeyMaxSpendPerDay = caller.KeyLimits.MaxSpendPerDay,
            AccountMaxSpendPerDay = caller.AccountLimits.MaxSpendPerDay,
        };
    }

    /// <summary>What the client hears when the store refused the create.</summary>
    private TaskProblem Refusal(CreateResult result, VideoTask task, Caller caller, CreateRules rules, Quote? quote)
    {
        var price = Credits.Format(task.Held);
        var untilTomorrow = TimeSpan.FromMilliseconds((task.CreatedAt / 86_400_000 + 1) * 86_400_000 - task.CreatedAt);
        var inFlightWait = admission.InFlightRetryAfter(caller.Mode);
        return result.Outcome switch
        {
            CreateOutcome.InsufficientCredits => new TaskProblem(TaskProblemKind.PaymentRequired, null, "insufficient_credits",
                $"This request costs {price} credits ({quote?.Explain()} on {task.Model} at {task.Size}), but the account has {Credits.Format(result.Balance - result.HeldBefore)} credits available " +
                $"(balance {Credits.Format(result.Balance)}, {Credits.Format(result.HeldBefore)} held for unfinished tasks). Top up the account, or ask for a shorter or smaller video."),
            CreateOutcome.IdempotencyConflict => new TaskProblem(TaskProblemKind.Conflict, "Idempotency-Key", "idempotency_key_reused",
                $"Idempotency-Key '{Shorten(task.IdempotencyKey ?? "")}' was already used within the last {CreateRules.IdempotencyWindow.TotalHours:0} hours for another request of this account (task {result.EarlierTaskId}): " +
                "a different body, another key or the other surface. Reuse a key only to retry the very same request; send a new key for a new one."),
            CreateOutcome.KeyInFlightLimit when rules.KeyInFlightIsTestDefault => new TaskProblem(TaskProblemKind.Busy, null, "too_many_tasks",
                $"This test key already has {result.InFlight} unfinished tasks, the most a test key may have at once (Limits:MaxInFlightPerTestKey); wait for some to finish.", inFlightWait),
            CreateOutcome.KeyInFlightLimit => new TaskProblem(TaskProblemKind.Busy, null, "too_many_tasks",
                $"This key already has {result.InFlight} unfinished tasks, its limit (max_in_flight {rules.KeyMaxInFlight}); wait for some to finish.", inFlightWait),
            CreateOutcome.AccountInFlightLimit => new TaskProblem(TaskProblemKind.Busy, null, "too_many_tasks",
                $"This account already has {result.InFlight} unfinished tasks, its limit (max_in_flight {rules.AccountMaxInFlight}); wait for some to finish.", inFlightWait),
            CreateOutcome.KeyDailySpendLimit => new TaskProblem(TaskProblemKind.Busy, null, "daily_spend_limit",
                $"This key has spent {Credits.Format(result.SpentToday)} of its {Credits.Format(rules.KeyMaxSpendPerDay ?? 0)} credits for today (max_spend_per_day), and this request would hold {price} more. The day ends at 00:00 UTC.", untilTomorrow),
            _ => new TaskProblem(TaskProblemKind.Busy, null, "daily_spend_limit",
                $"This account has spent {Credits.Format(result.SpentToday)} of its {Credits.Format(rules.AccountMaxSpendPerDay ?? 0)} credits for today (max_spend_per_day), and this request would hold {price} more. The day ends at 00:00 UTC.", untilTomorrow),
        };
    }

    /// <summary>
    /// The request as normalized, hashed: what "the same request" means for an idempotency key. The
    /// images are the references the client sent (inline ones before they are stored apart), the
    /// options sorted; the key and its mode are part of it, so another key of the account reusing an
    /// idempotency key conflicts rather than receiving a task it could not read.
    /// </summary>
    private static byte[] RequestHash(VideoTask task, Caller caller)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string? value)
        {
            var bytes = Encoding.UTF8.GetBytes(value ?? "\0");
            Span<byte> length = stackalloc byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(length, value is null ? -1 : bytes.Length);
            hash.AppendData(length);
            hash.AppendData(bytes);
        }

        Add(caller.KeyId);
        Add(task.Surface.ToString());
        Add(task.Model);
        Add(task.Prompt);
        Add(task.NegativePrompt);
        Add(task.AspectRatio);
        Add(task.Size);
        Add(task.Duration.ToString(CultureInfo.InvariantCulture));
        Add(task.Seed?.ToString(CultureInfo.InvariantCulture));
        Add(task.CallbackUrl);
        Add(task.WebhookEvents is { } events ? string.Join(',', events) : null);
        Add(task.RemixedFrom);
        foreach (var image in task.Images)
        {
            Add(image);
        }

        Add("options");
        foreach (var (name, value) in task.Options.OrderBy(pair => pair.Key, StringComparer.Ordinal))
        {
            Add(name);
            Add(value);
        }

        return hash.GetHashAndReset();
    }

    /// <summary>The draft as a task ready to store with its hold, or the first problem with it.</summary>
    private TaskProblem? Validate(TaskDraft draft, Caller caller, out VideoTask task, out ModelEntry model, out bool rendersLocally, out Quote? quote, out ModelEntry? redirectedFrom)
    {
        task = null!;
        model = null!;
        rendersLocally = false;
        quote = null;
        redirectedFrom = null;
        var names = draft.Names;
        var max = limits.Value;

        if (string.IsNullOrWhiteSpace(draft.Model))
        {
            return TaskProblem.Invalid($"'{names.Model}' is required: name the model to use, e.g. \"reelay-preview\" (GET /v1/models lists them).", names.Model, "missing_field");
        }

        var found = catalog.Find(draft.Model.Trim());
        if (found is null)
        {
            return TaskProblem.Invalid(
                $"Model '{Shorten(draft.Model)}' does not exist. Available models: {string.Join(", ", catalog.Entries.Where(e => e.RetiredAt(time.GetUtcNow()) is null && router.Candidates(e, caller.Mode).Count > 0 && caller.AllowsModel(e.Name)).Select(e => e.Name))}.",
                names.Model, TaskErrors.ModelNotFound);
        }

        // A retired model is refused naming its replacement, or, where the operator chose so, runs as the replacement.
        if (found.RetiredAt(time.GetUtcNow()) is { } retired)
        {
            if (!retired.Redirect || catalog.Find(retired.ReplacedBy) is not { } replacement)
            {
                return TaskProblem.Invalid(
                    $"Model '{found.Name}' was retired on {retired.Date}: use '{retired.ReplacedBy}' instead.",
                    names.Model, TaskErrors.ModelRetired);
            }

            redirectedFrom = found;
            found = replacement;
        }

        model = found;
        if (!caller.AllowsModel(model.Name, draft.Model.Trim()))
        {
            var (whose, allowed) = caller.KeyLimits.AllowsModel(model.Name, draft.Model.Trim())
                ? ("its account's", caller.AccountLimits.AllowedModels!)
                : ("the key's", caller.KeyLimits.AllowedModels!);
            return new TaskProblem(TaskProblemKind.Forbidden, names.Model, "model_not_allowed",
                $"This key may not use {model.Name}: {whose} allowed models are {string.Join(", ", allowed)}.");
        }

        // A key or account may name a callback for every task that names none.
        draft.CallbackUrl ??= caller.DefaultCallbackUrl;

        if (draft.Prompt is null)
        {
            return TaskProblem.Invalid($"'{names.Prompt}' is required: describe the video to make.", names.Prompt, "missing_field");
        }

        var (prompt, flags) = PromptFlags.Split(draft.Prompt);
        if (string.IsNullOrWhiteSpace(prompt))
        {
            return TaskProblem.Invalid($"'{names.Prompt}' is empty: describe the video to make (flags like --mode=custom alone are not a prompt).", names.Prompt, "empty_prompt");
        }

        if (prompt.Length > max.MaxPromptChars)
        {
            return TaskProblem.Invalid($"'{names.Prompt}' is {prompt.Length} characters long; the limit is {max.MaxPromptChars}.", names.Prompt, "prompt_too_long");
        }

        if (draft.NegativePrompt is { Length: var negativeLength } && negativeLength > max.MaxNegativePromptChars)
        {
            return TaskProblem.Invalid($"'negative_prompt' is {negativeLength} characters long; the limit is {max.MaxNegativePromptChars}.", "negative_prompt", "prompt_too_long");
        }

        if (ResolveShape(draft, model, out var aspectRatio, out var size, out var sizeClass, out var orientation) is { } shapeProblem)
        {
            return shapeProblem;
        }

        // Some sizes allow only some durations (Veo renders 1080P and 4K at 8 s only).
        var sizeDurations = model.DurationsFor(sizeClass);
        var duration = draft.Duration ?? (sizeDurations is { Count: > 0 } && !sizeDurations.Contains(model.DefaultDuration) ? sizeDurations[0] : model.DefaultDuration);
        if (!model.AllowsDuration(duration))
        {
            return TaskProblem.Invalid(
                $"'{names.Duration}' {duration} is not supported by {model.Name}; use {model.DescribeDurations()} seconds.",
                names.Duration, "unsupported_value");
        }

        if (sizeDurations is not null && !sizeDurations.Contains(duration))
        {
            return TaskProblem.Invalid(
                $"'{names.Duration}' {duration} is not supported by {model.Name} at {sizeClass}; use {string.Join(", ", sizeDurations)} seconds, or a smaller size.",
                names.Duration, "unsupported_value");
        }

        if (draft.Images.Count > model.MaxImages)
        {
            return TaskProblem.Invalid(
                model.MaxImages == 0
                    ? $"{model.Name} makes videos from text only; send '{names.Images}' as [] or leave it out."
                    : $"'{names.Images}' has {draft.Images.Count} items; {model.Name} takes at most {model.MaxImages}.",
                names.Images, "too_many_images");
        }

        for (var i = 0; i < draft.Images.Count; i++)
        {
            if (CheckImageReference(draft.Images[i], max, imageLimits.Value.MaxImageBytes) is { } problem)
            {
                return TaskProblem.Invalid($"'{names.Images}[{i}]' {problem}.", $"{names.Images}[{i}]", "invalid_image_reference");
            }
        }

        if (draft.CallbackUrl is { } callback && !IsHttpUrl(callback, max.MaxUrlChars))
        {
            return TaskProblem.Invalid($"'callback_url' must be an absolute http(s) URL of at most {max.MaxUrlChars} characters.", "callback_url", "invalid_callback_url");
        }

        if (draft.CallbackUrl is { } target && network.CheckCallbackUrl(target) is { } refused)
        {
            return TaskProblem.Invalid($"'callback_url' {refused}.", "callback_url", "invalid_callback_url");
        }

        if (draft.IdempotencyKey is { Length: > 200 })
        {
            return TaskProblem.Invalid("The Idempotency-Key header is longer than 200 characters.", "Idempotency-Key", "invalid_idempotency_key");
        }

        var style = draft.Options.TryGetValue(StyleOption, out var givenStyle) ? givenStyle.Trim().ToLowerInvariant() : null;
        if (style is not null && !Styles.Contains(style))
        {
            return TaskProblem.Invalid($"'{StyleOption}' {Quote(givenStyle!)} is not one of {string.Join(", ", Styles)}.", StyleOption, "unsupported_value");
        }

        foreach (var (name, value) in draft.Options.Concat(model.Options))
        {
            flags.TryAdd(name, value);
        }

        // Stored as checked: the client's word may differ in case or spacing.
        if (orientation is not null)
        {
            flags[OrientationOption] = orientation;
        }

        if (style is not null)
        {
            flags[StyleOption] = style;
        }

        // Only channels whose upstream renders this shape, size and length take part; with none
        // left the client hears what the configured ones render, rather than getting something else.
        var (width, height) = Shapes.For(size, aspectRatio);
        var route = router.Route(model, caller.Mode, new RenderSpec(model.Name, aspectRatio, size, width, height, duration) { Options = flags });
        if (route.Candidates.Count == 0 && route.Refused.Count == 0)
        {
            return TaskProblem.Unavailable(ChannelRouter.MissingSetting(model), names.Model, TaskErrors.ModelNotConfigured);
        }

        if (route.Candidates.Count == 0)
        {
            var first = route.Refused[0].Problem.Field;
            var (field, value) = first switch
            {
                RenderField.AspectRatio => (names.AspectRatio, Quote(aspectRatio)),
                RenderField.Size => (names.Size, Quote(draft.Size ?? size)),
                RenderField.Option => (route.Refused[0].Problem.Option!, Quote(flags[route.Refused[0].Problem.Option!])),
                _ => (names.Duration, duration.ToString(CultureInfo.InvariantCulture)),
            };
            return TaskProblem.Invalid(
                $"'{field}' {value} is not rendered by any upstream configured for {model.Name}: " +
                ChannelRouter.DescribeRefusals(route.Refused, names.Of) + ".",
                field, "unsupported_value");
        }

        rendersLocally = route.Candidates.All(c => c.Provider.Name == ProviderNames.Local);

        // Test keys are never charged; a model with no price is free.
        quote = caller.Mode == KeyMode.Test ? null : prices.For(model.Name)?.QuoteFor(model.Name, size, duration, flags);

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        task = new VideoTask
        {
            Id = TaskIds.New(model.IdPrefix),
            OwnerKeyId = caller.KeyId,
            AccountId = caller.AccountId,
            Held = quote?.Amount ?? 0,
            PriceUnit = quote is { Amount: > 0 } ? quote.Unit : null,
            UnitPrice = quote is { Amount: > 0 } ? quote.UnitPrice : 0,
            Mode = caller.Mode,
            Model = model.Name,
            RequestedModel = draft.Model.Trim(),
            Prompt = prompt,
            NegativePrompt = string.IsNullOrWhiteSpace(draft.NegativePrompt) ? null : draft.NegativePrompt,
            AspectRatio = aspectRatio,
            Size = size,
            Duration = duration,
            Seed = draft.Seed,
            Images = [.. draft.Images],
            Options = flags,
            CallbackUrl = draft.CallbackUrl,
            WebhookEvents = draft.WebhookEvents,
            IdempotencyKey = draft.IdempotencyKey,
            Surface = draft.Surface,
            RemixedFrom = draft.RemixedFrom,
            Stage = TaskStage.Pending,
            CreatedAt = now,
            UpdatedAt = now,
            NextAt = now,
            DeadlineAt = now + (long)model.MaxLifetime.TotalMilliseconds,
            CancelAt = draft.CancelAfter is { } cancelAfter ? now + (long)cancelAfter.TotalMilliseconds : null,
            // Only a request that is being recorded starts a trace worth joining; untraced, nothing is stored.
            TraceParent = System.Diagnostics.Activity.Current is { Recorded: true, IdFormat: System.Diagnostics.ActivityIdFormat.W3C } traced ? traced.Id : null,
        };
        return null;
    }

    /// <summary>
    /// The shape and size a draft asks of a model. The ratio comes from <c>aspect_ratio</c>, else from
    /// a size in pixels, else from <c>orientation</c>, else the model's default; whichever are given
    /// must agree. A size in pixels is its class and shape (1280x720 → 720P, 16:9) unless the model
    /// lists it as an exact size (1792x1024), which is kept as it is and counts as its nearest ratio.
    /// </summary>
    private static TaskProblem? ResolveShape(TaskDraft draft, ModelEntry model, out string aspectRatio, out string size, out string sizeClass, out string? orientation)
    {
        var names = draft.Names;
        aspectRatio = size = sizeClass = "";
        orientation = null;
        if (!string.IsNullOrWhiteSpace(draft.Orientation))
        {
            orientation = draft.Orientation.Trim().ToLowerInvariant();
            if (!Shapes.Orientations.Contains(orientation))
            {
                return TaskProblem.Invalid(
                    $"'{OrientationOption}' {Quote(draft.Orientation)} is not one of {string.Join(", ", Shapes.Orientations)}.",
                    OrientationOption, "unsupported_value");
            }
        }

        var requestedSize = string.IsNullOrWhiteSpace(draft.Size) ? null : draft.Size.Trim();
        string? sizeRatio = null;
        if (requestedSize is not null && Shapes.TryParsePixels(requestedSize, out var pixelClass, out var pixelRatio))
        {
            var exact = Shapes.CanonicalPixels(requestedSize);
            if (model.PixelSizes.Contains(exact, StringComparer.Ordinal))
            {
                var (width, height) = Shapes.For(exact, model.DefaultAspectRatio);
                (size, sizeRatio) = (exact, Shapes.Nearest(model.AspectRatios, width, height).Ratio);
            }
            else
            {
                (size, sizeRatio) = (pixelClass, pixelRatio);
            }
        }
        else
        {
            size = NormalizeSize(requestedSize) ?? model.DefaultSize;
        }

        sizeClass = Shapes.ClassOf(size);
        var givenRatio = string.IsNullOrWhiteSpace(draft.AspectRatio) ? null : draft.AspectRatio.Trim();

        // A size in pixels (720x1280, as some relays send) carries the shape when no ratio is given,
        // and must agree with one that is.
        if (givenRatio is not null && sizeRatio is not null && sizeRatio != givenRatio)
        {
            return TaskProblem.Invalid(
                $"'{names.Size}' {Quote(draft.Size!)} is {sizeRatio} but '{names.AspectRatio}' is {Quote(draft.AspectRatio!)}: send matching values, or only one of them.",
                names.Size, "conflicting_values");
        }

        if (orientation is not null && (givenRatio ?? sizeRatio) is { } shape && Shapes.Orientation(shape) != orientation)
        {
            var (field, value) = givenRatio is not null ? (names.AspectRatio, draft.AspectRatio!) : (names.Size, draft.Size!);
            return TaskProblem.Invalid(
                $"'{OrientationOption}' \"{orientation}\" contradicts '{field}' {Quote(value)}, which is {Shapes.Orientation(shape)}: send matching values, or only one of them.",
                OrientationOption, "conflicting_values");
        }

        var oriented = orientation is null ? null : model.RatioFor(orientation);
        if (orientation is not null && givenRatio is null && sizeRatio is null && oriented is null)
        {
            var available = Shapes.Orientations.Where(o => model.RatioFor(o) is not null);
            return TaskProblem.Invalid(
                $"{model.Name} has no {orientation} shape: its aspect ratios are {string.Join(", ", model.AspectRatios)}. Send '{OrientationOption}' {string.Join(" or ", available)}, or one of those ratios as '{names.AspectRatio}'.",
                OrientationOption, "unsupported_value");
        }

        aspectRatio = givenRatio ?? sizeRatio ?? oriented ?? model.DefaultAspectRatio;
        if (givenRatio is null && sizeRatio is not null && (!model.AspectRatios.Contains(sizeRatio, StringComparer.Ordinal) || !model.Sizes.Contains(sizeClass, StringComparer.Ordinal)))
        {
            // The shape came from the size: the size is what to change.
            var pixels = model.Sizes.SelectMany(s => model.AspectRatios.Select(r => Shapes.For(s, r))).Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Width}x{p.Height}"));
            return TaskProblem.Invalid(
                $"'{names.Size}' {Quote(draft.Size!)} is not supported by {model.Name}; use one of {string.Join(", ", model.Sizes.Concat(model.PixelSizes).Concat(pixels).Distinct())}.",
                names.Size, "unsupported_value");
        }

        if (!model.AspectRatios.Contains(aspectRatio, StringComparer.Ordinal))
        {
            return TaskProblem.Invalid(
                $"'{names.AspectRatio}' {Quote(aspectRatio)} is not supported by {model.Name}; use one of {string.Join(", ", model.AspectRatios)}.",
                names.AspectRatio, "unsupported_value");
        }

        if (!model.Sizes.Contains(sizeClass, StringComparer.Ordinal))
        {
            return TaskProblem.Invalid(
                $"'{names.Size}' {Quote(draft.Size ?? size)} is not supported by {model.Name}; use one of {string.Join(", ", model.Sizes.Concat(model.PixelSizes))}.",
                names.Size, "unsupported_value");
        }

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

    private static string? CheckImageReference(string reference, LimitsOptions max, int maxImageBytes)
    {
        if (reference.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            return DataUri.Check(reference, maxImageBytes);
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

/// <summary>What <see cref="TaskIntake.CreateAsync"/> made of a draft: the stored task, or the problem that kept it out.</summary>
public sealed record TaskIntakeResult(VideoTask? Task, TaskProblem? Problem)
{
    /// <summary>The task was stored earlier under the same idempotency key and request.</summary>
    public bool Replayed { get; init; }

    /// <summary>The retired model the request named, when it was run as its replacement (<see cref="VideoTask.Model"/>).</summary>
    public ModelEntry? RedirectedFrom { get; init; }

    /// <summary>The response header that says a task runs on a replacement: <c>veo3; replaced-by=veo3.1; retired=2026-06-30</c>.</summary>
    public const string RedirectHeader = "Reelay-Model-Redirect";

    /// <summary>That header's value, or null when nothing was redirected.</summary>
    public string? RedirectHeaderValue => RedirectedFrom is { Retirement: { } r } from && Task is { } task
        ? $"{from.Name}; replaced-by={task.Model}; retired={r.Date}"
        : null;
}

/// <summary>What a dry run found: the price and the account's credits, or the problem a create would meet first.</summary>
/// <param name="Quote">What it would hold; an amount of 0 when free.</param>
/// <param name="Account">The caller's account now (its balance and holds).</param>
public sealed record TaskQuoteResult(Quote? Quote, Account? Account, TaskProblem? Problem)
{
    /// <summary>The request as it would be stored.</summary>
    public VideoTask? Task { get; init; }
}

/// <summary>Why a draft was not accepted, in the domain's words; the API turns it into its error envelope.</summary>
/// <param name="Kind">Whether the client must change the request or may retry it as it is.</param>
/// <param name="Field">The field at fault, as the surface named it.</param>
/// <param name="Code">A stable snake_case word.</param>
/// <param name="Message">What to send instead.</param>
/// <param name="RetryAfter">When retrying as is may work (<see cref="TaskProblemKind.Busy"/>).</param>
public sealed record TaskProblem(TaskProblemKind Kind, string? Field, string Code, string Message, TimeSpan? RetryAfter = null)
{
    public static TaskProblem Invalid(string message, string? field, string code) => new(TaskProblemKind.Invalid, field, code, message);

    public static TaskProblem Unavailable(string message, string? field, string code) => new(TaskProblemKind.Unavailable, field, code, message);
}

public enum TaskProblemKind
{
    /// <summary>The request itself is wrong (400).</summary>
    Invalid,

    /// <summary>The caller may not ask for this (403).</summary>
    Forbidden,

    /// <summary>The account's credits do not cover it (402).</summary>
    PaymentRequired,

    /// <summary>It contradicts an earlier request (409).</summary>
    Conflict,

    /// <summary>Nothing is set up to serve it (503).</summary>
    Unavailable,

    /// <summary>It would be accepted, but not now (429 with Retry-After).</summary>
    Busy,
}
