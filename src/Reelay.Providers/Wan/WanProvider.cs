using System.Net.Http.Json;
using Microsoft.Extensions.Logging;
using Reelay.Providers.Http;

namespace Reelay.Providers.Wan;

/// <summary>
/// Alibaba Cloud Model Studio (DashScope) Wan video synthesis: an async task created with
/// <c>X-DashScope-Async: enable</c>, polled at <c>GET /api/v1/tasks/{id}</c>, cancelled while pending
/// with <c>POST /api/v1/tasks/{id}/cancel</c>; the result link lasts 24 h.
/// </summary>
internal sealed partial class WanProvider(UpstreamClient upstream, ILogger<WanProvider> logger) : IVideoProvider
{
    private static readonly UpstreamApi Api = new(new Uri("https://dashscope.aliyuncs.com/api/v1"), UpstreamAuth.Bearer);
    private const string VersionPath = "/api/v1";

    public string Name => ProviderNames.Wan;

    // Text to video sizes by tier and shape (the t2v reference's size lists); with images the
    // output keeps the first image's shape and only the tier is named.
    private static readonly Dictionary<(string Size, string Ratio), string> T2vSizes = new()
    {
        [("480P", "16:9")] = "832*480", [("480P", "9:16")] = "480*832", [("480P", "1:1")] = "624*624",
        [("720P", "16:9")] = "1280*720", [("720P", "9:16")] = "720*1280", [("720P", "1:1")] = "960*960",
        [("720P", "4:3")] = "1088*832", [("720P", "3:4")] = "832*1088",
        [("1080P", "16:9")] = "1920*1080", [("1080P", "9:16")] = "1080*1920", [("1080P", "1:1")] = "1440*1440",
        [("1080P", "4:3")] = "1632*1248", [("1080P", "3:4")] = "1248*1632",
    };

    // One first frame (i2v) or a first and a last (kf2v). DashScope documents no callbacks for video
    // synthesis; its SDK polls from 1 s growing to 5 s, the docs suggest ~15 s. A model only a
    // channel names is taken as wan2.6 text to video: 16:9, 9:16, 1:1, 720P or 1080P, 5/10/15 s.
    public ProviderCapabilities Capabilities { get; } = new(MaxImages: 2, SupportsCancel: true)
    {
        PollInterval = TimeSpan.FromSeconds(10),
        DefaultModel = new(["16:9", "9:16", "1:1", "4:3", "3:4"], ["720P", "1080P", "480P"], [5, 10, 15], 5, 15, DefaultDuration: 5, MaxImages: 1),
    };

    /// <summary>
    /// Wan bills per second by resolution tier; a shape goes out as that tier's size for it
    /// (720P 16:9 → <c>1280*720</c>, 1:1 → <c>960*960</c>), the same tier and price. A shape or tier
    /// with no such size, or a length the model lacks (2.1/2.2: 5 s; 2.5: 5, 10; 2.6: 5, 10, 15;
    /// 2.7: 2–15), passes the channel over.
    /// </summary>
    public RenderProblem? CheckRender(RenderSpec spec)
    {
        var size = spec.Size.ToUpperInvariant();
        if (size is not ("480P" or "720P" or "1080P"))
        {
            return new(RenderField.Size, "480P, 720P, 1080P");
        }

        if (!T2vSizes.ContainsKey((size, spec.AspectRatio)))
        {
            return new(RenderField.AspectRatio, string.Join(", ", T2vSizes.Keys.Where(k => k.Size == size).Select(k => k.Ratio)));
        }

        var model = spec.UpstreamModel;
        if (model.Contains("2.7", StringComparison.Ordinal))
        {
            return spec.DurationSeconds is < 2 or > 15 ? new(RenderField.Duration, "2–15 seconds") : null;
        }

        int[] durations = model.Contains("2.6", StringComparison.Ordinal) ? [5, 10, 15]
            : model.Contains("2.5", StringComparison.Ordinal) ? [5, 10]
            : [5];
        return durations.Contains(spec.DurationSeconds) ? null : new(RenderField.Duration, $"{string.Join(", ", durations)} seconds");
    }

    public async Task<SubmitResult> SubmitAsync(VideoJobRequest request, ChannelSettings channel, CancellationToken cancellationToken)
    {
        // The SDK switches to the image2video path for first+last-frame (kf2v) models.
        var service = request.Model.Contains("kf2v", StringComparison.OrdinalIgnoreCase) ? "image2video" : "video-generation";
        using var message = Api.Request(HttpMethod.Post, channel, Path(channel, $"/services/aigc/{service}/video-synthesis"),
            JsonContent.Create(ToCreateRequest(request), WanJsonContext.Default.WanCreateRequest));
        // HTTP has no synchronous mode: without this header the call is refused.
        message.Headers.Add("X-DashScope-Async", "enable");
        LogSubmitting(logger, channel.Name, request.TaskId, request.Model);

        var reply = await upstream.SendAsync(message, channel, Refine, cancellationToken);
        var created = UpstreamClient.ReadJson(reply.Body, WanJsonContext.Default.WanResponse, channel);
        if (string.IsNullOrEmpty(created?.Output?.TaskId))
        {
            throw UpstreamFailures.Malformed(channel, detail: "no output.task_id");
        }

        LogSubmitted(logger, channel.Name, request.TaskId, created.Output.TaskId);
        return new SubmitResult(created.Output.TaskId, reply.Body);
    }

    public async Task<PollResult> PollAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken)
    {
        using var message = Api.Request(HttpMethod.Get, channel, Path(channel, "/tasks/" + Uri.EscapeDataString(job.UpstreamId)));
        var reply = await upstream.SendAsync(message, channel, Refine, cancellationToken);
        var answer = UpstreamClient.ReadJson(reply.Body, WanJsonContext.Default.WanResponse, channel);
        return FromOutput(answer?.Output ?? throw UpstreamFailures.Malformed(channel, detail: "no output"), reply.Body, channel);
    }

    public Task<ResultContent> OpenResultAsync(UpstreamJob job, string resultLocation, ChannelSettings channel, CancellationToken cancellationToken) =>
        // A signed OSS link (?Expires=…); the key stays home.
        upstream.OpenAsync(new Uri(resultLocation, UriKind.Absolute), Api.BaseUrl(channel), m => Api.Authorize(m, channel), channel, cancellationToken);

    /// <summary>Cancels a task still <c>PENDING</c>; DashScope refuses once it runs (an error, classified as usual).</summary>
    public async Task CancelAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken)
    {
        using var message = Api.Request(HttpMethod.Post, channel, Path(channel, $"/tasks/{Uri.EscapeDataString(job.UpstreamId)}/cancel"));
        await upstream.SendAsync(message, channel, Refine, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Submitting task {TaskId} to Wan channel {Channel} as {Model}")]
    private static partial void LogSubmitting(ILogger logger, string channel, string taskId, string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "Wan channel {Channel} accepted task {TaskId} as {UpstreamId}")]
    private static partial void LogSubmitted(ILogger logger, string channel, string taskId, string upstreamId);

    /// <summary>Region and workspace hosts all end in <c>/api/v1</c>; a bare host gets it added.</summary>
    private static string Path(ChannelSettings channel, string rest) =>
        (Api.BaseUrl(channel).AbsolutePath.TrimEnd('/').EndsWith(VersionPath, StringComparison.OrdinalIgnoreCase) ? "" : VersionPath) + rest;

    private static WanCreateRequest ToCreateRequest(VideoJobRequest request)
    {
        var images = request.Images;
        var keyframes = request.Model.Contains("kf2v", StringComparison.OrdinalIgnoreCase);
        if (images.Count > (keyframes ? 2 : 1))
        {
            throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.InvalidArgument,
                keyframes ? $"Wan kf2v takes a first and a last frame, not {images.Count} images." : $"Wan takes one first-frame image, not {images.Count}; use a kf2v model for first and last frames.");
        }

        var input = new WanInput(
            request.Prompt,
            string.IsNullOrWhiteSpace(request.NegativePrompt) ? null : request.NegativePrompt,
            ImgUrl: !keyframes && images.Count > 0 ? images[0].ToDataUri() : null,
            FirstFrameUrl: keyframes && images.Count > 0 ? images[0].ToDataUri() : null,
            LastFrameUrl: keyframes && images.Count > 1 ? images[1].ToDataUri() : null);
        var size = request.Size.ToUpperInvariant();
        var parameters = new WanParameters(
            // Text to video names pixels; with images, output keeps the image's shape and only the tier is named.
            Size: images.Count == 0 ? T2vSizes.GetValueOrDefault((size, request.AspectRatio)) ?? $"{request.Width}*{request.Height}" : null,
            Resolution: images.Count > 0 ? size : null,
            Duration: request.DurationSeconds,
            // The relays' enhance_prompt is DashScope's prompt_extend (default true: the prompt is rewritten).
            PromptExtend: Flag(request, "enhance_prompt"),
            Seed: request.Seed is >= 0 and <= int.MaxValue ? request.Seed : null,
            Watermark: Flag(request, "watermark"));
        return new WanCreateRequest(request.Model, input, parameters);
    }

    private static bool? Flag(VideoJobRequest request, string name) =>
        request.Options.TryGetValue(name, out var value) ? string.Equals(value, "true", StringComparison.OrdinalIgnoreCase) : null;

    private static PollResult FromOutput(WanOutput output, string raw, ChannelSettings channel)
    {
        var enhanced = string.IsNullOrEmpty(output.ActualPrompt) ? null : output.ActualPrompt;
        switch (output.TaskStatus?.ToUpperInvariant())
        {
            case "PENDING":
                return new PollResult(UpstreamState.Queued) { Raw = raw };
            case "RUNNING" or "SUSPENDED":
                return new PollResult(UpstreamState.Running) { Raw = raw };
            case "SUCCEEDED" when !string.IsNullOrEmpty(output.VideoUrl):
                return new PollResult(UpstreamState.Succeeded) { Progress = 100, ResultLocation = output.VideoUrl, EnhancedPrompt = enhanced, Raw = raw };
            case "SUCCEEDED":
                return Failed(TaskErrors.UpstreamResultInvalid, "Wan reported success without output.video_url.", raw);
            case "FAILED":
                var message = UpstreamFailures.Redact(UpstreamFailures.Truncate(output.Message ?? output.Code ?? "Wan reported the task failed."), channel);
                return Failed(ToErrorCode(output.Code, output.Message) ?? TaskErrors.UpstreamError, message, raw);
            case "CANCELED":
                return Failed(TaskErrors.Cancelled, "Wan cancelled the task.", raw);
            case "UNKNOWN":
                // The id is unknown or older than 24 h: asking again will not change that.
                throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.UpstreamLost,
                    $"The upstream of channel '{channel.Name}' no longer knows the task (status UNKNOWN: ids last 24 h).");
            default:
                throw UpstreamFailures.Malformed(channel, detail: $"unknown task_status '{output.TaskStatus}'");
        }
    }

    private static PollResult Failed(string code, string message, string raw) => new(UpstreamState.Failed) { Error = new UpstreamError(code, message), Raw = raw };

    /// <summary>DashScope's error codes in the one catalogue; null when the HTTP status says enough.</summary>
    private static string? ToErrorCode(string? code, string? message) => code switch
    {
        // DataInspectionFailed and its variants (…InputData / …OutputData).
        not null when code.StartsWith("DataInspection", StringComparison.OrdinalIgnoreCase) || code.Contains("Inspection", StringComparison.OrdinalIgnoreCase) => TaskErrors.ContentPolicy,
        "InvalidApiKey" => TaskErrors.UpstreamAuth,
        "Arrearage" => TaskErrors.QuotaExceeded,
        not null when code.StartsWith("Throttling", StringComparison.OrdinalIgnoreCase) => TaskErrors.RateLimited,
        not null when code.StartsWith("InvalidParameter", StringComparison.OrdinalIgnoreCase) => TaskErrors.InvalidArgument,
        "ModelNotFound" => TaskErrors.NotFound,
        _ => UpstreamFailures.IsContentPolicy(message) ? TaskErrors.ContentPolicy : null,
    };

    private static UpstreamException Refine(UpstreamException failure, string raw)
    {
        var body = UpstreamFailures.ParseErrorBody(raw);
        return ToErrorCode(body.Code, body.Message) switch
        {
            TaskErrors.ContentPolicy => UpstreamFailures.Reclassify(failure, UpstreamFailureStage.Rejected, TaskErrors.ContentPolicy),
            TaskErrors.QuotaExceeded => UpstreamFailures.Reclassify(failure, UpstreamFailureStage.RateLimited, TaskErrors.QuotaExceeded),
            // "Throttling.RateQuota" is a rate limit, not an account out of quota.
            TaskErrors.RateLimited => UpstreamFailures.Reclassify(failure, UpstreamFailureStage.RateLimited, TaskErrors.RateLimited),
            _ => failure,
        };
    }
}
