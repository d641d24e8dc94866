using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.Logging;
using Reelay.Providers.Http;

namespace Reelay.Providers.Xai;

/// <summary>xAI Grok Imagine video: <c>POST /v1/videos/generations</c>, poll <c>GET /v1/videos/{request_id}</c>.</summary>
internal sealed partial class XaiProvider(UpstreamClient upstream, ILogger<XaiProvider> logger) : IVideoProvider
{
    private static readonly UpstreamApi Api = new(new Uri("https://api.x.ai"), UpstreamAuth.Bearer);

    public string Name => ProviderNames.Xai;

    // The GenerateVideoRequest enums (providers/xai-grok-imagine.md).
    private static readonly string[] AspectRatios = ["16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3"];
    private static readonly string[] Resolutions = ["480P", "720P", "1080P"];
    private const int MinDuration = 1;
    private const int MaxDuration = 15;

    // Reference images: up to 7 per third-party docs (xAI's OpenAPI gives no limit). Polling every
    // 5 s is what xAI's TS SDK and Vercel's adapter do. No cancel endpoint exists. A model only a
    // channel names gets the API's own enums, its default ratio (16:9) and duration (8 s) first.
    public ProviderCapabilities Capabilities { get; } = new(MaxImages: 7)
    {
        DefaultModel = new(AspectRatios, ["720P", "480P"], [], MinDuration, MaxDuration, DefaultDuration: 8, MaxImages: 7),
    };

    /// <summary>
    /// xAI bills per second at a price per resolution, so nothing is mapped: the ratio, resolution and
    /// duration go out as asked, and a value outside the API's enums passes the channel over.
    /// </summary>
    public RenderProblem? CheckRender(RenderSpec spec)
    {
        if (!AspectRatios.Contains(spec.AspectRatio, StringComparer.Ordinal))
        {
            return new(RenderField.AspectRatio, string.Join(", ", AspectRatios));
        }

        if (!Resolutions.Contains(spec.Size, StringComparer.OrdinalIgnoreCase))
        {
            return new(RenderField.Size, string.Join(", ", Resolutions));
        }

        return spec.DurationSeconds is < MinDuration or > MaxDuration
            ? new(RenderField.Duration, $"{MinDuration}–{MaxDuration} seconds")
            : null;
    }

    public async Task<SubmitResult> SubmitAsync(VideoJobRequest request, ChannelSettings channel, CancellationToken cancellationToken)
    {
        var body = ToGenerateRequest(request);
        using var message = Api.Request(HttpMethod.Post, channel, "/v1/videos/generations",
            JsonContent.Create(body, XaiJsonContext.Default.XaiGenerateRequest));
        LogSubmitting(logger, channel.Name, request.TaskId, request.Model);

        var reply = await upstream.SendAsync(message, channel, cancellationToken);
        var started = UpstreamClient.ReadJson(reply.Body, XaiJsonContext.Default.XaiStartResponse, channel);
        if (string.IsNullOrEmpty(started?.RequestId))
        {
            throw UpstreamFailures.Malformed(channel, detail: "no request_id");
        }

        LogSubmitted(logger, channel.Name, request.TaskId, started.RequestId);
        return new SubmitResult(started.RequestId, reply.Body);
    }

    public async Task<PollResult> PollAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken)
    {
        using var message = Api.Request(HttpMethod.Get, channel, $"/v1/videos/{Uri.EscapeDataString(job.UpstreamId)}");
        var reply = await upstream.SendAsync(message, channel, cancellationToken);

        // Pending jobs answer 202, with or without a body (xAI TS SDK: an empty 202 means pending).
        if (reply.Status == HttpStatusCode.Accepted && string.IsNullOrWhiteSpace(reply.Body))
        {
            return new PollResult(UpstreamState.Running) { Raw = reply.Body };
        }

        var video = UpstreamClient.ReadJson(reply.Body, XaiJsonContext.Default.XaiVideoResponse, channel)
            ?? throw UpstreamFailures.Malformed(channel, detail: "empty video response");
        return FromVideoResponse(video, reply.Body, channel);
    }

    public Task<ResultContent> OpenResultAsync(UpstreamJob job, string resultLocation, ChannelSettings channel, CancellationToken cancellationToken)
    {
        // The URL is a temporary public link on xAI's storage host; the key goes along only if it
        // points back at the API origin.
        return upstream.OpenAsync(new Uri(resultLocation, UriKind.Absolute), Api.BaseUrl(channel), m => Api.Authorize(m, channel), channel, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Submitting task {TaskId} to xAI channel {Channel} as {Model}")]
    private static partial void LogSubmitting(ILogger logger, string channel, string taskId, string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "xAI channel {Channel} accepted task {TaskId} as {RequestId}")]
    private static partial void LogSubmitted(ILogger logger, string channel, string taskId, string requestId);

    private static XaiGenerateRequest ToGenerateRequest(VideoJobRequest request)
    {
        // One image is a first frame (image→video); several are references (reference→video).
        // xAI selects the mode from which field is present, so the two are never sent together.
        var images = request.Images;
        return new XaiGenerateRequest(
            Model: request.Model,
            Prompt: request.Prompt,
            Duration: request.DurationSeconds,
            AspectRatio: request.AspectRatio,
            Resolution: ToResolution(request.Size),
            Image: images.Count == 1 ? new XaiImageUrl(images[0].ToDataUri()) : null,
            ReferenceImages: images.Count > 1 ? [.. images.Select(i => new XaiImageUrl(i.ToDataUri()))] : null);
    }

    private static string ToResolution(string size) => size.ToUpperInvariant() switch
    {
        "480P" => "480p",
        "720P" => "720p",
        "1080P" => "1080p",
        _ => throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.InvalidArgument,
            $"xAI video supports sizes 480P, 720P and 1080P, not '{size}'."),
    };

    private static PollResult FromVideoResponse(XaiVideoResponse video, string raw, ChannelSettings channel)
    {
        switch (video.Status)
        {
            case "pending":
                return new PollResult(UpstreamState.Running) { Progress = video.Progress, Raw = raw };
            case "done" when video.Video is { Url.Length: > 0, RespectModeration: not false } result:
                return new PollResult(UpstreamState.Succeeded) { Progress = 100, ResultLocation = result.Url, Raw = raw };
            case "done":
                // xAI finishes moderated videos as "done" with respect_moderation false and no URL.
                return new PollResult(UpstreamState.Failed)
                {
                    Error = new UpstreamError(TaskErrors.ContentPolicy, "xAI blocked the generated video by moderation."),
                    Raw = raw,
                };
            case "failed":
                return new PollResult(UpstreamState.Failed) { Error = FromVideoError(video.Error, channel), Raw = raw };
            case "expired":
                return new PollResult(UpstreamState.Failed)
                {
                    Error = new UpstreamError(TaskErrors.Expired, "xAI expired the request before it finished."),
                    Raw = raw,
                };
            default:
                throw UpstreamFailures.Malformed(channel, detail: $"unknown status '{video.Status}'");
        }
    }

    private static UpstreamError FromVideoError(XaiVideoError? error, ChannelSettings channel)
    {
        var message = UpstreamFailures.Redact(UpstreamFailures.Truncate(error?.Message ?? "xAI reported the generation failed."), channel);
        if (UpstreamFailures.IsContentPolicy(error?.Message))
        {
            return new UpstreamError(TaskErrors.ContentPolicy, message);
        }

        // Auth, unknown models and rate limits are HTTP errors at xAI; a permission_denied that arrives in a
        // finished job is the generation being refused for what it asked for, so it is a policy refusal.
        var code = error?.Code switch
        {
            "invalid_argument" or "failed_precondition" => TaskErrors.InvalidArgument,
            "permission_denied" => TaskErrors.ContentPolicy,
            "service_unavailable" => TaskErrors.UpstreamError,
            _ => TaskErrors.UpstreamError,
        };
        return new UpstreamError(code, message);
    }
}
