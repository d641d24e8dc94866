using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Reelay.Providers.Http;

namespace Reelay.Providers.UnifiedRelay;

/// <summary>
/// Another relay speaking the unified video format: <c>POST /v1/video/create</c>, poll
/// <c>GET /v1/video/query?id=</c>. There is no owner spec, so answers are read leniently.
/// </summary>
internal sealed partial class UnifiedRelayProvider(UpstreamClient upstream, ILogger<UnifiedRelayProvider> logger) : IVideoProvider
{
    // A relay has no public endpoint: every channel names its base URL.
    private static readonly UpstreamApi Api = new(DefaultBaseUrl: null, UpstreamAuth.Bearer);

    public string Name => ProviderNames.Unified;

    // Grok relays take up to 6 references (octopusx docs); relays document no cancel route. A relay
    // speaks the relay vocabulary Reelay accepts, so it passes no request over (the default
    // CheckRender). A model only a channel names gets the shapes every relay family documents
    // (providers/unified-video.md) and 1–15 s, 8 s by default (Veo's and xAI's default).
    public ProviderCapabilities Capabilities { get; } = new(MaxImages: 6)
    {
        DefaultModel = new(["16:9", "9:16", "1:1", "3:2", "2:3"], ["720P", "1080P"], [], 1, 15, DefaultDuration: 8, MaxImages: 6),
    };

    public async Task<SubmitResult> SubmitAsync(VideoJobRequest request, ChannelSettings channel, CancellationToken cancellationToken)
    {
        using var message = Api.Request(HttpMethod.Post, channel, "/v1/video/create",
            JsonContent.Create(ToCreateRequest(request), UnifiedJsonContext.Default.UnifiedCreateRequest));
        LogSubmitting(logger, channel.Name, request.TaskId, request.Model);

        var reply = await upstream.SendAsync(message, channel, cancellationToken);
        var created = UpstreamClient.ReadJson(reply.Body, UnifiedJsonContext.Default.UnifiedCreateResponse, channel);
        // Most relays answer "id"; some OpenAI-like ones (octopusx grok) answer "task_id".
        var id = created?.Id ?? created?.TaskId;
        if (string.IsNullOrEmpty(id))
        {
            throw UpstreamFailures.Malformed(channel, detail: "no task id");
        }

        LogSubmitted(logger, channel.Name, request.TaskId, id);
        return new SubmitResult(id, reply.Body);
    }

    public async Task<PollResult> PollAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken)
    {
        using var message = Api.Request(HttpMethod.Get, channel, "/v1/video/query?id=" + Uri.EscapeDataString(job.UpstreamId));
        message.Headers.Accept.ParseAdd("application/json");
        var reply = await upstream.SendAsync(message, channel, cancellationToken);
        var answer = UpstreamClient.ReadJson(reply.Body, UnifiedJsonContext.Default.UnifiedQueryResponse, channel)
            ?? throw UpstreamFailures.Malformed(channel, detail: "empty query answer");
        return FromQueryResponse(answer, reply.Body, channel);
    }

    public Task<ResultContent> OpenResultAsync(UpstreamJob job, string resultLocation, ChannelSettings channel, CancellationToken cancellationToken) =>
        // Results sit on the relay's CDN; the key only goes along when the URL is on the relay's own origin.
        upstream.OpenAsync(new Uri(resultLocation, UriKind.Absolute), Api.BaseUrl(channel), m => Api.Authorize(m, channel), channel, cancellationToken);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Submitting task {TaskId} to relay channel {Channel} as {Model}")]
    private static partial void LogSubmitting(ILogger logger, string channel, string taskId, string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "Relay channel {Channel} accepted task {TaskId} as {UpstreamId}")]
    private static partial void LogSubmitted(ILogger logger, string channel, string taskId, string upstreamId);

    /// <summary>Options that are request fields of their own on relays, or Reelay's own, never prompt flags.</summary>
    private static readonly string[] FieldOptions = [OrientationOption, "watermark", "private", "style", "enhance_prompt", "enable_upsample", "image_mode"];

    private const string OrientationOption = "orientation";

    private static UnifiedCreateRequest ToCreateRequest(VideoJobRequest request)
    {
        var sora = request.Model.StartsWith("sora", StringComparison.OrdinalIgnoreCase);
        return new(
            Model: request.Model,
            Prompt: ToPrompt(request),
            AspectRatio: request.AspectRatio,
            Size: sora ? ToSoraSize(request) : request.Size,
            // The relay fetches URLs itself; images the client sent inline go back as data URIs.
            Images: [.. request.Images.Select(i => i.SourceUrl ?? i.ToDataUri())],
            Duration: request.DurationSeconds,
            Orientation: ToOrientation(request, sora),
            Watermark: Flag(request, "watermark"),
            Private: Flag(request, "private"),
            Style: request.Options.GetValueOrDefault("style"),
            EnhancePrompt: Flag(request, "enhance_prompt"),
            EnableUpsample: Flag(request, "enable_upsample"));
    }

    /// <summary>
    /// Sora relays front the Sora app, whose sizes are the words <c>small</c> (720p) and <c>large</c>
    /// (1080p, pro): the same tiers Reelay's 720P and 1080P (or 1792x1024) name, so nothing billed changes.
    /// </summary>
    private static string ToSoraSize(VideoJobRequest request) => Math.Min(request.Width, request.Height) <= 720 ? "small" : "large";

    /// <summary>
    /// The Sora app picks its shape from <c>orientation</c>, not <c>aspect_ratio</c>: Sora and Veo
    /// relays get it from the ratio when the client did not say; other relays only when it did.
    /// </summary>
    private static string? ToOrientation(VideoJobRequest request, bool sora)
    {
        if (request.Options.TryGetValue(OrientationOption, out var given))
        {
            return given;
        }

        var colon = request.AspectRatio.IndexOf(':', StringComparison.Ordinal);
        if ((!sora && !request.Model.StartsWith("veo", StringComparison.OrdinalIgnoreCase)) || colon <= 0
            || !int.TryParse(request.AspectRatio.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var width)
            || !int.TryParse(request.AspectRatio.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var height)
            || width == height)
        {
            return null;
        }

        return width > height ? "landscape" : "portrait";
    }

    private static bool? Flag(VideoJobRequest request, string name) =>
        request.Options.TryGetValue(name, out var value) ? string.Equals(value, "true", StringComparison.OrdinalIgnoreCase) : null;

    private static string ToPrompt(VideoJobRequest request)
    {
        // Grok relays front the grok.com app, which reads "--mode=…" style flags from the prompt text;
        // options that are request fields of their own are not flags.
        var flags = request.Options.Where(o => !FieldOptions.Contains(o.Key, StringComparer.Ordinal)).ToList();
        if (!request.Model.StartsWith("grok", StringComparison.OrdinalIgnoreCase) || flags.Count == 0)
        {
            return request.Prompt;
        }

        var prompt = new StringBuilder(request.Prompt);
        foreach (var (name, value) in flags)
        {
            prompt.Append(CultureInfo.InvariantCulture, $" --{name}={value}");
        }

        return prompt.ToString();
    }

    private static PollResult FromQueryResponse(UnifiedQueryResponse answer, string raw, ChannelSettings channel)
    {
        var status = answer.Status?.Trim().ToLowerInvariant() ?? "";
        var videoUrl = answer.VideoUrl ?? DetailText(answer.Detail, "video_url");
        var progress = ToProgress(answer.Progress);
        var enhanced = string.IsNullOrEmpty(answer.EnhancedPrompt) ? null : answer.EnhancedPrompt;
        // On a final status, the time it changed is when the job finished.
        var finishedAt = UnixTime.FromSecondsOrMilliseconds(answer.StatusUpdateTime);

        switch (status)
        {
            case "completed" or "complete" or "success" or "succeeded":
            // Veo relays report sub-steps; a "…_completed" step is final only once it carries the video
            // (an upsample stage may follow "video_generation_completed").
            case "video_generation_completed" or "video_upsampling_completed" when !string.IsNullOrEmpty(videoUrl):
                if (string.IsNullOrEmpty(videoUrl))
                {
                    return new PollResult(UpstreamState.Failed)
                    {
                        Error = new UpstreamError(TaskErrors.UpstreamResultInvalid, "The relay reported completion without a video_url."),
                        EnhancedPrompt = enhanced,
                        FinishedAt = finishedAt,
                        Raw = raw,
                    };
                }

                return new PollResult(UpstreamState.Succeeded) { Progress = 100, ResultLocation = videoUrl, EnhancedPrompt = enhanced, FinishedAt = finishedAt, Raw = raw };
            case "cancelled" or "canceled":
                return new PollResult(UpstreamState.Failed)
                {
                    Error = new UpstreamError(TaskErrors.Cancelled, FromError(answer, channel)?.Message ?? "The relay cancelled the task."),
                    EnhancedPrompt = enhanced,
                    FinishedAt = finishedAt,
                    Raw = raw,
                };
            case "failed" or "failure" or "error":
            case var failed when failed.EndsWith("_failed", StringComparison.Ordinal):
                return new PollResult(UpstreamState.Failed)
                {
                    Error = FromError(answer, channel) ?? new UpstreamError(TaskErrors.UpstreamError, $"The relay reported status '{answer.Status}' without a reason."),
                    EnhancedPrompt = enhanced,
                    FinishedAt = finishedAt,
                    Raw = raw,
                };
            default:
                // pending, queued, processing, unknown, image_downloading, video_generating, video_upsampling…
                // and anything a relay invents later: keep polling; the task's lifetime bounds it.
                return new PollResult(UpstreamState.Running) { Progress = progress, EnhancedPrompt = enhanced, Raw = raw };
        }
    }

    private static int? ToProgress(JsonElement? progress)
    {
        double value;
        switch (progress)
        {
            case { ValueKind: JsonValueKind.Number } number:
                value = number.GetDouble();
                break;
            case { ValueKind: JsonValueKind.String } text when double.TryParse(text.GetString()?.Trim().TrimEnd('%'),
                NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed):
                value = parsed;
                break;
            default:
                return null;
        }

        return (int)Math.Clamp(Math.Round(value), 0, 100);
    }

    /// <summary>The failure reason: <c>error</c> as a string or <c>{code, message}</c>, else inside <c>detail</c>.</summary>
    private static UpstreamError? FromError(UnifiedQueryResponse answer, ChannelSettings channel)
    {
        var (code, message) = ReadError(answer.Error);
        if (message is null && answer.Detail is { ValueKind: JsonValueKind.Object } detail)
        {
            foreach (var name in DetailErrorFields)
            {
                if (detail.TryGetProperty(name, out var field))
                {
                    (code, message) = ReadError(field);
                    if (message is not null)
                    {
                        break;
                    }
                }
            }
        }
        else if (message is null && answer.Detail is { ValueKind: JsonValueKind.String } text)
        {
            message = text.GetString();
        }

        if (message is null && code is null)
        {
            return null;
        }

        message = UpstreamFailures.Redact(UpstreamFailures.Truncate(message ?? code!), channel);
        return new UpstreamError(UpstreamFailures.IsContentPolicy(code, message) ? TaskErrors.ContentPolicy : TaskErrors.UpstreamError, message);
    }

    private static readonly string[] DetailErrorFields = ["error", "fail_reason", "failure_reason", "error_message", "message", "reason"];

    private static (string? Code, string? Message) ReadError(JsonElement? error) => error switch
    {
        { ValueKind: JsonValueKind.String } text when !string.IsNullOrWhiteSpace(text.GetString()) => (null, text.GetString()),
        { ValueKind: JsonValueKind.Object } obj => (Text(obj, "code"), Text(obj, "message") ?? Text(obj, "msg")),
        _ => (null, null),
    };

    private static string? DetailText(JsonElement? detail, string name) =>
        detail is { ValueKind: JsonValueKind.Object } obj ? Text(obj, name) : null;

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) ? value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number => value.GetRawText(),
            _ => null,
        } : null;
}
