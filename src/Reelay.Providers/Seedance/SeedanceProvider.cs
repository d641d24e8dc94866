using System.Net.Http.Json;
using Microsoft.Extensions.Logging;
using Reelay.Providers.Http;

namespace Reelay.Providers.Seedance;

/// <summary>
/// ByteDance Seedance on Volcengine Ark or BytePlus ModelArk (one wire format, two hosts):
/// <c>POST /api/v3/contents/generations/tasks</c>, poll <c>GET …/tasks/{id}</c>, cancel a queued
/// task with <c>DELETE …/tasks/{id}</c>; the result is a presigned TOS link valid for 24 h.
/// </summary>
internal sealed partial class SeedanceProvider(UpstreamClient upstream, ILogger<SeedanceProvider> logger) : IVideoProvider
{
    // The SDK's default base is ".../api/v3"; operators paste either form (BytePlus: ark.ap-southeast.bytepluses.com).
    private static readonly UpstreamApi Api = new(new Uri("https://ark.cn-beijing.volces.com/api/v3"), UpstreamAuth.Bearer);
    private const string VersionPath = "/api/v3";

    /// <summary>Request option choosing how several images are used: <c>frames</c> (default: first, then last frame) or <c>reference</c> (1–4 reference images).</summary>
    public const string ImageModeOption = "image_mode";

    public string Name => ProviderNames.Seedance;

    // The create body's ratio enum without "adaptive" (Reelay always names a shape) and its resolutions.
    private static readonly string[] Ratios = ["16:9", "4:3", "1:1", "3:4", "9:16", "21:9"];
    private static readonly string[] Resolutions = ["480P", "720P", "1080P"];

    // Reference mode takes 1–4 images on 1.0 lite and up to 9 on 2.0 (the catalog entry says which). Ark
    // POSTs the task to callback_url on every status change; DELETE cancels a task still queued.
    // A model only a channel names is taken as 1.0 pro: the official pixel table's ratios, 3–12 s
    // (5 s is the API's default), a first and a last frame.
    public ProviderCapabilities Capabilities { get; } = new(MaxImages: 9, SupportsCancel: true)
    {
        AcceptsCallbacks = true,
        DefaultModel = new(Ratios, ["720P", "480P", "1080P"], [], 3, 12, DefaultDuration: 5, MaxImages: 2),
    };

    /// <summary>
    /// Ark bills tokens = width × height × frames, so every value goes out as asked: a ratio or
    /// resolution outside the API's enums, or a length outside the model's range (1.0: 3–12 s,
    /// 1.5 pro: 4–12 s, 2.0: 4–15 s), passes the channel over.
    /// </summary>
    public RenderProblem? CheckRender(RenderSpec spec)
    {
        if (!Ratios.Contains(spec.AspectRatio, StringComparer.Ordinal))
        {
            return new(RenderField.AspectRatio, string.Join(", ", Ratios));
        }

        if (!Resolutions.Contains(spec.Size, StringComparer.OrdinalIgnoreCase))
        {
            return new(RenderField.Size, string.Join(", ", Resolutions));
        }

        var (min, max) = DurationRange(spec.UpstreamModel);
        return spec.DurationSeconds < min || spec.DurationSeconds > max ? new(RenderField.Duration, $"{min}–{max} seconds") : null;
    }

    private static (int Min, int Max) DurationRange(string model) =>
        model.Contains("2-0", StringComparison.Ordinal) ? (4, 15)
        : model.Contains("1-5", StringComparison.Ordinal) ? (4, 12)
        : (3, 12);

    public async Task<SubmitResult> SubmitAsync(VideoJobRequest request, ChannelSettings channel, CancellationToken cancellationToken)
    {
        using var message = Api.Request(HttpMethod.Post, channel, TasksPath(channel),
            JsonContent.Create(ToCreateRequest(request), SeedanceJsonContext.Default.SeedanceCreateRequest));
        LogSubmitting(logger, channel.Name, request.TaskId, request.Model);

        var reply = await upstream.SendAsync(message, channel, Refine, cancellationToken);
        var created = UpstreamClient.ReadJson(reply.Body, SeedanceJsonContext.Default.SeedanceCreateResponse, channel);
        if (string.IsNullOrEmpty(created?.Id))
        {
            throw UpstreamFailures.Malformed(channel, detail: "no task id");
        }

        LogSubmitted(logger, channel.Name, request.TaskId, created.Id);
        return new SubmitResult(created.Id, reply.Body);
    }

    public async Task<PollResult> PollAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken)
    {
        using var message = Api.Request(HttpMethod.Get, channel, TaskPath(channel, job.UpstreamId));
        var reply = await upstream.SendAsync(message, channel, Refine, cancellationToken);
        var task = UpstreamClient.ReadJson(reply.Body, SeedanceJsonContext.Default.SeedanceTask, channel)
            ?? throw UpstreamFailures.Malformed(channel, detail: "empty task");
        return FromTask(task, reply.Body, channel);
    }

    public Task<ResultContent> OpenResultAsync(UpstreamJob job, string resultLocation, ChannelSettings channel, CancellationToken cancellationToken) =>
        // A presigned TOS link: the key stays home unless the link points back at the API origin.
        upstream.OpenAsync(new Uri(resultLocation, UriKind.Absolute), Api.BaseUrl(channel), m => Api.Authorize(m, channel), channel, cancellationToken);

    /// <summary>Cancels a queued task. Ark refuses to cancel a running one (an error, classified as usual).</summary>
    public async Task CancelAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken)
    {
        using var message = Api.Request(HttpMethod.Delete, channel, TaskPath(channel, job.UpstreamId));
        await upstream.SendAsync(message, channel, Refine, cancellationToken);
    }

    /// <summary>
    /// Ark POSTs the task object on every status change and signs nothing, so the body is a hint:
    /// only a state that may be an end is worth a poll.
    /// </summary>
    public ValueTask<CallbackVerdict> ReadCallbackAsync(UpstreamCallback callback, ChannelSettings channel, CancellationToken cancellationToken) =>
        ValueTask.FromResult(UpstreamClient.TryReadJson(callback.Body, SeedanceJsonContext.Default.SeedanceTask)?.Status is "queued" or "running"
            ? CallbackVerdict.Ignore
            : CallbackVerdict.PollNow);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Submitting task {TaskId} to Seedance channel {Channel} as {Model}")]
    private static partial void LogSubmitting(ILogger logger, string channel, string taskId, string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "Seedance channel {Channel} accepted task {TaskId} as {UpstreamId}")]
    private static partial void LogSubmitted(ILogger logger, string channel, string taskId, string upstreamId);

    private static string TasksPath(ChannelSettings channel) =>
        // A base that already ends in /api/v3 (the SDK's form) takes the rest; a bare host gets the version too.
        (Api.BaseUrl(channel).AbsolutePath.TrimEnd('/').EndsWith(VersionPath, StringComparison.OrdinalIgnoreCase) ? "" : VersionPath)
        + "/contents/generations/tasks";

    private static string TaskPath(ChannelSettings channel, string id) => TasksPath(channel) + "/" + Uri.EscapeDataString(id);

    private static SeedanceCreateRequest ToCreateRequest(VideoJobRequest request)
    {
        var content = new List<SeedanceContent> { new("text", Text: request.Prompt) };
        var reference = request.Options.TryGetValue(ImageModeOption, out var mode) && string.Equals(mode, "reference", StringComparison.OrdinalIgnoreCase);
        var images = request.Images;
        if (!reference && images.Count > 2)
        {
            throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.InvalidArgument,
                $"Seedance takes a first and a last frame (2 images), not {images.Count}; use image_mode 'reference' for reference images.");
        }

        // The three modes cannot be mixed: one image is the first frame, two are first and last,
        // reference mode marks every image a reference. Base64 goes as a lower-case data URI.
        for (var i = 0; i < images.Count; i++)
        {
            var role = reference ? "reference_image" : i == 0 ? "first_frame" : "last_frame";
            content.Add(new("image_url", ImageUrl: new SeedanceImageUrl(images[i].ToDataUri()), Role: role));
        }

        return new SeedanceCreateRequest(
            Model: request.Model,
            Content: content,
            CallbackUrl: request.CallbackUrl?.AbsoluteUri,
            Ratio: request.AspectRatio,
            Resolution: request.Size.ToLowerInvariant(),
            Duration: request.DurationSeconds,
            // Ark's range is [-1, 2^32-1]; anything else would be refused, so it is left to chance.
            Seed: request.Seed is >= 0 and <= uint.MaxValue ? request.Seed : null,
            Watermark: Flag(request, "watermark"),
            GenerateAudio: Flag(request, "generate_audio"),
            CameraFixed: Flag(request, "camera_fixed"));
    }

    private static bool? Flag(VideoJobRequest request, string name) =>
        request.Options.TryGetValue(name, out var value) ? string.Equals(value, "true", StringComparison.OrdinalIgnoreCase) : null;

    private static PollResult FromTask(SeedanceTask task, string raw, ChannelSettings channel)
    {
        var enhanced = string.IsNullOrEmpty(task.RevisedPrompt) ? null : task.RevisedPrompt;
        switch (task.Status)
        {
            case "queued":
                return new PollResult(UpstreamState.Queued) { Raw = raw };
            case "running":
                return new PollResult(UpstreamState.Running) { Raw = raw };
            case "succeeded" when !string.IsNullOrEmpty(task.Content?.VideoUrl):
                return new PollResult(UpstreamState.Succeeded) { Progress = 100, ResultLocation = task.Content.VideoUrl, EnhancedPrompt = enhanced, FinishedAt = FinishedAt(task), Raw = raw };
            case "succeeded":
                return Failed(new UpstreamError(TaskErrors.UpstreamResultInvalid, "Seedance reported success without content.video_url."), raw, task);
            case "failed":
                return Failed(FromTaskError(task.Error, channel), raw, task);
            case "cancelled":
                return Failed(new UpstreamError(TaskErrors.Cancelled, "Seedance cancelled the task while it was queued."), raw, task);
            case "expired":
                return Failed(new UpstreamError(TaskErrors.Timeout, "Seedance expired the task: it did not finish within execution_expires_after."), raw, task);
            default:
                throw UpstreamFailures.Malformed(channel, detail: $"unknown status '{task.Status}'");
        }
    }

    private static PollResult Failed(UpstreamError error, string raw, SeedanceTask task) =>
        new(UpstreamState.Failed) { Error = error, FinishedAt = FinishedAt(task), Raw = raw };

    /// <summary>A finished task's <c>updated_at</c> (Unix seconds) is when it reached its final status.</summary>
    private static DateTimeOffset? FinishedAt(SeedanceTask task) => UnixTime.FromSeconds(task.UpdatedAt);

    private static UpstreamError FromTaskError(SeedanceError? error, ChannelSettings channel)
    {
        var message = UpstreamFailures.Redact(UpstreamFailures.Truncate(error?.Message ?? error?.Code ?? "Seedance reported the task failed."), channel);
        return new UpstreamError(ToErrorCode(error?.Code, error?.Message) ?? TaskErrors.UpstreamError, message);
    }

    /// <summary>Ark's error codes (official error-code list) in the one catalogue; null when the HTTP status says enough.</summary>
    private static string? ToErrorCode(string? code, string? message)
    {
        if (code is null)
        {
            return UpstreamFailures.IsContentPolicy(message) ? TaskErrors.ContentPolicy : null;
        }

        // InputTextSensitiveContentDetected, InputImageSensitiveContentDetected(.PrivacyInformation), OutputVideoSensitiveContentDetected…
        if (code.Contains("SensitiveContent", StringComparison.OrdinalIgnoreCase) || UpstreamFailures.IsContentPolicy(code, message))
        {
            return TaskErrors.ContentPolicy;
        }

        return code switch
        {
            "AccountOverdueError" => TaskErrors.QuotaExceeded,
            "AuthenticationError" or "AccessDenied" or "OperationDenied.ServiceNotOpen" => TaskErrors.UpstreamAuth,
            "InvalidEndpointOrModel.NotFound" or "ModelNotOpen" => TaskErrors.NotFound,
            _ when code.StartsWith("MissingParameter", StringComparison.Ordinal) || code.StartsWith("InvalidParameter", StringComparison.Ordinal) => TaskErrors.InvalidArgument,
            _ when code.Contains("RateLimitExceeded", StringComparison.Ordinal) => TaskErrors.RateLimited,
            _ => null,
        };
    }

    /// <summary>An HTTP error under Ark's own code: the stage follows the code, so failover reads it right.</summary>
    private static UpstreamException Refine(UpstreamException failure, string raw)
    {
        var body = UpstreamFailures.ParseErrorBody(raw);
        return ToErrorCode(body.Code, body.Message) switch
        {
            TaskErrors.ContentPolicy => UpstreamFailures.Reclassify(failure, UpstreamFailureStage.Rejected, TaskErrors.ContentPolicy),
            // An overdue account did not take the job; another account may.
            TaskErrors.QuotaExceeded => UpstreamFailures.Reclassify(failure, UpstreamFailureStage.RateLimited, TaskErrors.QuotaExceeded),
            _ => failure,
        };
    }
}
