using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Reelay.Providers.Http;

namespace Reelay.Providers.Kling;

/// <summary>
/// Kling AI's official API: <c>POST /v1/videos/text2video</c> or <c>/image2video</c>, poll
/// <c>GET /v1/videos/{family}/{task_id}</c>; every answer is a <c>{code, message, data}</c> envelope,
/// and the bearer token is a JWT the client signs itself from an AccessKey/SecretKey pair.
/// </summary>
internal sealed partial class KlingProvider(UpstreamClient upstream, TimeProvider time, ILogger<KlingProvider> logger) : IVideoProvider
{
    private static readonly UpstreamApi Api = new(new Uri("https://api-singapore.klingai.com"), UpstreamAuth.Bearer);

    // The official sample signs for 30 min; a token is reused until 5 min before it runs out.
    private static readonly TimeSpan TokenLifetime = TimeSpan.FromMinutes(30);
    private static readonly TimeSpan TokenRenewal = TimeSpan.FromMinutes(5);
    private readonly ConcurrentDictionary<string, (string Token, DateTimeOffset Renew)> _tokens = new(StringComparer.Ordinal);

    public string Name => ProviderNames.Kling;

    // text2video's aspect_ratio enum; mode std renders 720p and pro 1080p.
    private static readonly string[] Ratios = ["16:9", "9:16", "1:1"];
    private static readonly int[] Durations = [5, 10];

    // image + image_tail (first and last frame). Kling POSTs the bare task to callback_url on every
    // status change; it has no cancel endpoint. A model only a channel names is taken as a v2.x
    // model: 5 or 10 s (5 by default), 720P (std) or 1080P (pro), a first and a last frame.
    public ProviderCapabilities Capabilities { get; } = new(MaxImages: 2)
    {
        AcceptsCallbacks = true,
        DefaultModel = new(Ratios, ["720P", "1080P"], Durations, 5, 10, DefaultDuration: 5, MaxImages: 2),
    };

    /// <summary>
    /// Kling bills per clip by mode and length: 720P is sent as mode <c>std</c> and 1080P as
    /// <c>pro</c> (the resolutions those modes render), nothing else is mapped. Other ratios or
    /// sizes, or a length other than 5 or 10 s (v3: 3–15 s), pass the channel over.
    /// </summary>
    public RenderProblem? CheckRender(RenderSpec spec)
    {
        if (!Ratios.Contains(spec.AspectRatio, StringComparer.Ordinal))
        {
            return new(RenderField.AspectRatio, string.Join(", ", Ratios));
        }

        if (ToMode(spec.Size) is null)
        {
            return new(RenderField.Size, "720P (mode std), 1080P (mode pro)");
        }

        if (IsV3(spec.UpstreamModel))
        {
            return spec.DurationSeconds is < 3 or > 15 ? new(RenderField.Duration, "3–15 seconds") : null;
        }

        return Durations.Contains(spec.DurationSeconds) ? null : new(RenderField.Duration, "5, 10 seconds");
    }

    private static bool IsV3(string model) => model.StartsWith("kling-v3", StringComparison.OrdinalIgnoreCase);

    private static string? ToMode(string size) => size.ToUpperInvariant() switch
    {
        "720P" => "std",
        "1080P" => "pro",
        _ => null,
    };

    public async Task<SubmitResult> SubmitAsync(VideoJobRequest request, ChannelSettings channel, CancellationToken cancellationToken)
    {
        // Task ids live in the family that made them: the recorded id carries it ("image2video/8672…").
        var family = request.Images.Count > 0 ? "image2video" : "text2video";
        var signed = Signed(channel);
        using var message = Api.Request(HttpMethod.Post, signed, "/v1/videos/" + family,
            JsonContent.Create(ToCreateRequest(request), KlingJsonContext.Default.KlingCreateRequest));
        LogSubmitting(logger, channel.Name, request.TaskId, request.Model);

        var reply = await upstream.SendAsync(message, signed, Refine, cancellationToken);
        var task = ReadTask(reply.Body, signed);
        if (string.IsNullOrEmpty(task.TaskId))
        {
            throw UpstreamFailures.Malformed(channel, detail: "no task_id");
        }

        LogSubmitted(logger, channel.Name, request.TaskId, task.TaskId);
        return new SubmitResult(family + "/" + task.TaskId, reply.Body);
    }

    public async Task<PollResult> PollAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken)
    {
        var slash = job.UpstreamId.IndexOf('/', StringComparison.Ordinal);
        var (family, id) = slash > 0 ? (job.UpstreamId[..slash], job.UpstreamId[(slash + 1)..]) : ("text2video", job.UpstreamId);
        var signed = Signed(channel);
        using var message = Api.Request(HttpMethod.Get, signed, $"/v1/videos/{Uri.EscapeDataString(family)}/{Uri.EscapeDataString(id)}");
        var reply = await upstream.SendAsync(message, signed, Refine, cancellationToken);
        return FromTask(ReadTask(reply.Body, signed), reply.Body, signed);
    }

    public Task<ResultContent> OpenResultAsync(UpstreamJob job, string resultLocation, ChannelSettings channel, CancellationToken cancellationToken)
    {
        // Results sit on Kling's CDN for 30 days; the token only goes along to the API origin.
        var signed = Signed(channel);
        return upstream.OpenAsync(new Uri(resultLocation, UriKind.Absolute), Api.BaseUrl(channel), m => Api.Authorize(m, signed), signed, cancellationToken);
    }

    /// <summary>Kling POSTs the bare task on each status change, unsigned: only an end is worth a poll.</summary>
    public ValueTask<CallbackVerdict> ReadCallbackAsync(UpstreamCallback callback, ChannelSettings channel, CancellationToken cancellationToken) =>
        ValueTask.FromResult(UpstreamClient.TryReadJson(callback.Body, KlingJsonContext.Default.KlingTask)?.TaskStatus is "submitted" or "processing"
            ? CallbackVerdict.Ignore
            : CallbackVerdict.PollNow);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Submitting task {TaskId} to Kling channel {Channel} as {Model}")]
    private static partial void LogSubmitting(ILogger logger, string channel, string taskId, string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "Kling channel {Channel} accepted task {TaskId} as {UpstreamId}")]
    private static partial void LogSubmitted(ILogger logger, string channel, string taskId, string upstreamId);

    /// <summary>
    /// The channel as the API sees it: <c>AccessKey:SecretKey</c> becomes a signed JWT (HS256, iss =
    /// AccessKey, exp = now + 30 min, nbf = now − 5 s), cached until shortly before it expires; a key
    /// without a colon is sent as it is (relays in front of Kling take a plain bearer key). The JWT
    /// is what a message might echo, so it is what gets redacted.
    /// </summary>
    private ChannelSettings Signed(ChannelSettings channel)
    {
        var key = channel.ApiKey;
        var colon = key?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        if (key is null || colon <= 0 || colon == key.Length - 1)
        {
            return channel;
        }

        var now = time.GetUtcNow();
        if (!_tokens.TryGetValue(key, out var cached) || now >= cached.Renew)
        {
            cached = (SignJwt(key[..colon], key[(colon + 1)..], now), now + TokenLifetime - TokenRenewal);
            _tokens[key] = cached;
        }

        return channel with { ApiKey = cached.Token };
    }

    internal static string SignJwt(string accessKey, string secretKey, DateTimeOffset now)
    {
        var header = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new KlingJwtHeader("HS256", "JWT"), KlingJsonContext.Default.KlingJwtHeader));
        var claims = Base64Url(JsonSerializer.SerializeToUtf8Bytes(
            new KlingJwtClaims(accessKey, (now + TokenLifetime).ToUnixTimeSeconds(), (now - TimeSpan.FromSeconds(5)).ToUnixTimeSeconds()),
            KlingJsonContext.Default.KlingJwtClaims));
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secretKey), Encoding.ASCII.GetBytes(header + "." + claims));
        return header + "." + claims + "." + Base64Url(signature);
    }

    private static string Base64Url(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    private static KlingCreateRequest ToCreateRequest(VideoJobRequest request)
    {
        var images = request.Images;
        if (images.Count > 2)
        {
            throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.InvalidArgument,
                $"Kling takes a start and an end frame (2 images), not {images.Count}.");
        }

        // image2video has no aspect_ratio (the output follows the image); images go as raw base64, no data: prefix.
        return new KlingCreateRequest(
            ModelName: request.Model,
            Prompt: request.Prompt,
            NegativePrompt: string.IsNullOrWhiteSpace(request.NegativePrompt) ? null : request.NegativePrompt,
            Mode: ToMode(request.Size) ?? throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.InvalidArgument,
                $"Kling renders 720P (mode std) and 1080P (mode pro), not '{request.Size}'."),
            AspectRatio: images.Count == 0 ? request.AspectRatio : null,
            Duration: request.DurationSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Sound: request.Options.TryGetValue("sound", out var sound) ? (sound is "on" or "true" ? "on" : "off") : null,
            Image: images.Count > 0 ? Convert.ToBase64String(images[0].Content.Span) : null,
            ImageTail: images.Count > 1 ? Convert.ToBase64String(images[1].Content.Span) : null,
            CallbackUrl: request.CallbackUrl?.AbsoluteUri,
            // Unique per account and usable in GET: operators can find a Reelay task in Kling's console.
            ExternalTaskId: request.TaskId);
    }

    /// <summary>The envelope's task; a 200 whose <c>code</c> is not 0 is an error like any other.</summary>
    private static KlingTask ReadTask(string body, ChannelSettings channel)
    {
        var envelope = UpstreamClient.ReadJson(body, KlingJsonContext.Default.KlingEnvelope, channel)
            ?? throw UpstreamFailures.Malformed(channel, detail: "empty answer");
        if (envelope.Code is { } code and not 0)
        {
            var (stage, error) = ToFailure(code, envelope.Message);
            throw new UpstreamException(stage, error,
                $"The upstream of channel '{channel.Name}' answered code {code}: {UpstreamFailures.Redact(UpstreamFailures.Truncate(envelope.Message ?? ""), channel)}");
        }

        return envelope.Data ?? throw UpstreamFailures.Malformed(channel, detail: "no data");
    }

    /// <summary>A finished task's <c>updated_at</c> (Unix ms) is when it reached its final status.</summary>
    private static DateTimeOffset? FinishedAt(KlingTask task) => UnixTime.FromMilliseconds(task.UpdatedAt);

    private static PollResult FromTask(KlingTask task, string raw, ChannelSettings channel)
    {
        switch (task.TaskStatus)
        {
            case "submitted":
                return new PollResult(UpstreamState.Queued) { Raw = raw };
            case "processing":
                return new PollResult(UpstreamState.Running) { Raw = raw };
            // Kling's own spelling: "succeed".
            case "succeed" when task.TaskResult?.Videos?.FirstOrDefault(v => !string.IsNullOrEmpty(v.Url))?.Url is { } url:
                return new PollResult(UpstreamState.Succeeded) { Progress = 100, ResultLocation = url, FinishedAt = FinishedAt(task), Raw = raw };
            case "succeed":
                return new PollResult(UpstreamState.Failed) { Error = new UpstreamError(TaskErrors.UpstreamResultInvalid, "Kling reported success without a video."), Raw = raw };
            case "failed":
                var message = UpstreamFailures.Redact(UpstreamFailures.Truncate(string.IsNullOrEmpty(task.TaskStatusMsg) ? "Kling reported the task failed." : task.TaskStatusMsg), channel);
                return new PollResult(UpstreamState.Failed) { Error = new UpstreamError(IsRefusal(task.TaskStatusMsg) ? TaskErrors.ContentPolicy : TaskErrors.UpstreamError, message), FinishedAt = FinishedAt(task), Raw = raw };
            default:
                throw UpstreamFailures.Malformed(channel, detail: $"unknown task_status '{task.TaskStatus}'");
        }
    }

    // Kling's moderation failures read "Failure to pass the risk control system" or name content security.
    private static bool IsRefusal(string? message) =>
        UpstreamFailures.IsContentPolicy(message)
        || (message?.Contains("risk control", StringComparison.OrdinalIgnoreCase) ?? false)
        || (message?.Contains("content security", StringComparison.OrdinalIgnoreCase) ?? false);

    /// <summary>Kling's numeric codes (General Info: error codes) as a stage and the one catalogue's code.</summary>
    private static (UpstreamFailureStage Stage, string Code) ToFailure(int code, string? message) => code switch
    {
        >= 1000 and <= 1004 => (UpstreamFailureStage.Unauthorized, TaskErrors.UpstreamAuth),
        // Account problem, arrears, resource pack used up: this account cannot take it; another may.
        >= 1100 and <= 1102 => (UpstreamFailureStage.RateLimited, TaskErrors.QuotaExceeded),
        1103 => (UpstreamFailureStage.Unauthorized, TaskErrors.UpstreamAuth),
        1200 or 1201 => (UpstreamFailureStage.Rejected, TaskErrors.InvalidArgument),
        1202 or 1203 => (UpstreamFailureStage.Rejected, TaskErrors.NotFound),
        1300 or 1301 => (UpstreamFailureStage.Rejected, TaskErrors.ContentPolicy),
        >= 1302 and <= 1304 => (UpstreamFailureStage.RateLimited, TaskErrors.RateLimited),
        >= 5000 and <= 5002 => (UpstreamFailureStage.ServerError, TaskErrors.UpstreamError),
        _ => IsRefusal(message) ? (UpstreamFailureStage.Rejected, TaskErrors.ContentPolicy) : (UpstreamFailureStage.Rejected, TaskErrors.InvalidArgument),
    };

    private static UpstreamException Refine(UpstreamException failure, string raw)
    {
        var body = UpstreamFailures.ParseErrorBody(raw);
        if (!int.TryParse(body.Code, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var code))
        {
            return failure;
        }

        var (stage, error) = ToFailure(code, body.Message);
        return UpstreamFailures.Reclassify(failure, stage, error);
    }
}
