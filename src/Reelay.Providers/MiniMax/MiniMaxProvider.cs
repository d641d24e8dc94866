using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Reelay.Providers.Http;

namespace Reelay.Providers.MiniMax;

/// <summary>
/// MiniMax Hailuo video: create <c>POST /v1/video_generation</c>, poll
/// <c>GET /v1/query/video_generation?task_id=</c>, then resolve the <c>file_id</c> to a short-lived
/// download link with <c>GET /v1/files/retrieve</c>. Every answer carries <c>base_resp</c>: a 200
/// whose <c>status_code</c> is not 0 is an error.
/// </summary>
internal sealed partial class MiniMaxProvider(UpstreamClient upstream, ILogger<MiniMaxProvider> logger) : IVideoProvider
{
    private static readonly UpstreamApi Api = new(new Uri("https://api.minimax.io"), UpstreamAuth.Bearer);

    public string Name => ProviderNames.MiniMax;

    // A first frame, and on Hailuo-02 a last frame. MiniMax POSTs status changes to callback_url
    // after a challenge handshake; there is no cancel. A model only a channel names is taken as
    // Hailuo 2.3: 16:9, 720P (sent as 768P) or 1080P, 6 or 10 s (1080P: 6), one image.
    public ProviderCapabilities Capabilities { get; } = new(MaxImages: 2)
    {
        AcceptsCallbacks = true,
        PollInterval = TimeSpan.FromSeconds(10),
        DefaultModel = new(["16:9"], ["720P", "1080P"], [6, 10], 6, 10, DefaultDuration: 6, MaxImages: 1)
        {
            DurationsBySize = new Dictionary<string, IReadOnlyList<int>> { ["1080P"] = [6] },
        },
    };

    /// <summary>
    /// MiniMax prices a clip by resolution tier and length, and its tiers are 512P, 720P (01 series),
    /// 768P and 1080P: a 720P request goes to Hailuo as 768P and 480P as 512P, the tiers that serve
    /// those classes. The API takes no ratio (16:9 from text; an image's own shape), so any other
    /// ratio, or a length the model lacks at that tier, passes the channel over.
    /// </summary>
    public RenderProblem? CheckRender(RenderSpec spec)
    {
        if (spec.AspectRatio != "16:9")
        {
            return new(RenderField.AspectRatio, "16:9 (with an image, the image's shape)");
        }

        var model = spec.UpstreamModel;
        var size = spec.Size.ToUpperInvariant();
        if (IsSeries01(model))
        {
            return size != "720P" ? new(RenderField.Size, "720P")
                : spec.DurationSeconds != 6 ? new(RenderField.Duration, "6 seconds") : null;
        }

        var hailuo02 = model.Contains("Hailuo-02", StringComparison.OrdinalIgnoreCase);
        if (size is not ("720P" or "1080P") && !(hailuo02 && size == "480P"))
        {
            return new(RenderField.Size, hailuo02 ? "480P (as 512P), 720P (as 768P), 1080P" : "720P (as 768P), 1080P");
        }

        int[] durations = size == "1080P" ? [6] : [6, 10];
        return durations.Contains(spec.DurationSeconds) ? null : new(RenderField.Duration, $"{string.Join(", ", durations)} seconds at {size}");
    }

    private static bool IsSeries01(string model) => model.EndsWith("-01", StringComparison.OrdinalIgnoreCase)
        || model.Contains("-01-", StringComparison.OrdinalIgnoreCase);

    public async Task<SubmitResult> SubmitAsync(VideoJobRequest request, ChannelSettings channel, CancellationToken cancellationToken)
    {
        using var message = Api.Request(HttpMethod.Post, channel, "/v1/video_generation",
            JsonContent.Create(ToCreateRequest(request), MiniMaxJsonContext.Default.MiniMaxCreateRequest));
        LogSubmitting(logger, channel.Name, request.TaskId, request.Model);

        var reply = await upstream.SendAsync(message, channel, Refine, cancellationToken);
        var created = UpstreamClient.ReadJson(reply.Body, MiniMaxJsonContext.Default.MiniMaxTask, channel);
        Check(created?.BaseResp, channel);
        if (string.IsNullOrEmpty(created?.TaskId))
        {
            throw UpstreamFailures.Malformed(channel, detail: "no task_id");
        }

        LogSubmitted(logger, channel.Name, request.TaskId, created.TaskId);
        return new SubmitResult(created.TaskId, reply.Body);
    }

    public async Task<PollResult> PollAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken)
    {
        using var message = Api.Request(HttpMethod.Get, channel, "/v1/query/video_generation?task_id=" + Uri.EscapeDataString(job.UpstreamId));
        var reply = await upstream.SendAsync(message, channel, Refine, cancellationToken);
        var task = UpstreamClient.ReadJson(reply.Body, MiniMaxJsonContext.Default.MiniMaxTask, channel)
            ?? throw UpstreamFailures.Malformed(channel, detail: "empty answer");
        // A failed task may carry its reason in base_resp; without a status the call itself failed.
        if (string.IsNullOrEmpty(task.Status))
        {
            Check(task.BaseResp, channel);
        }

        return FromTask(task, reply.Body, channel);
    }

    /// <summary>
    /// The result location is the <c>file_id</c>: each download asks for a fresh link (they last
    /// an hour or so), so a retry after a slow start never meets an expired one.
    /// </summary>
    public async Task<ResultContent> OpenResultAsync(UpstreamJob job, string resultLocation, ChannelSettings channel, CancellationToken cancellationToken)
    {
        using var message = Api.Request(HttpMethod.Get, channel, "/v1/files/retrieve?file_id=" + Uri.EscapeDataString(resultLocation));
        var reply = await upstream.SendAsync(message, channel, Refine, cancellationToken);
        var file = UpstreamClient.ReadJson(reply.Body, MiniMaxJsonContext.Default.MiniMaxFileResponse, channel);
        Check(file?.BaseResp, channel);
        var url = file?.File?.DownloadUrl ?? file?.File?.BackupDownloadUrl;
        if (string.IsNullOrEmpty(url))
        {
            throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.UpstreamResultInvalid,
                $"The upstream of channel '{channel.Name}' has no download_url for file {resultLocation}.");
        }

        return await upstream.OpenAsync(new Uri(url, UriKind.Absolute), Api.BaseUrl(channel), m => Api.Authorize(m, channel), channel, cancellationToken);
    }

    /// <summary>
    /// MiniMax POSTs status changes (after the challenge handshake, which the callback route answers
    /// for every token alike), unsigned: only an end is worth a poll. Statuses come in either case.
    /// </summary>
    public ValueTask<CallbackVerdict> ReadCallbackAsync(UpstreamCallback callback, ChannelSettings channel, CancellationToken cancellationToken) =>
        ValueTask.FromResult(UpstreamClient.TryReadJson(callback.Body, MiniMaxJsonContext.Default.MiniMaxTask)?.Status?.ToUpperInvariant() is "PREPARING" or "QUEUEING" or "PROCESSING"
            ? CallbackVerdict.Ignore
            : CallbackVerdict.PollNow);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Submitting task {TaskId} to MiniMax channel {Channel} as {Model}")]
    private static partial void LogSubmitting(ILogger logger, string channel, string taskId, string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "MiniMax channel {Channel} accepted task {TaskId} as {UpstreamId}")]
    private static partial void LogSubmitted(ILogger logger, string channel, string taskId, string upstreamId);

    private static MiniMaxCreateRequest ToCreateRequest(VideoJobRequest request)
    {
        var images = request.Images;
        if (images.Count > 2)
        {
            throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.InvalidArgument,
                $"MiniMax takes a first and a last frame (2 images), not {images.Count}.");
        }

        return new MiniMaxCreateRequest(
            Model: request.Model,
            Prompt: request.Prompt,
            // The relays' enhance_prompt is MiniMax's prompt_optimizer (default true).
            PromptOptimizer: request.Options.TryGetValue("enhance_prompt", out var optimize) ? string.Equals(optimize, "true", StringComparison.OrdinalIgnoreCase) : null,
            Duration: request.DurationSeconds,
            Resolution: ToResolution(request.Model, request.Size),
            FirstFrameImage: images.Count > 0 ? images[0].ToDataUri() : null,
            LastFrameImage: images.Count > 1 ? images[1].ToDataUri() : null,
            CallbackUrl: request.CallbackUrl?.AbsoluteUri);
    }

    private static string ToResolution(string model, string size) => size.ToUpperInvariant() switch
    {
        "720P" when IsSeries01(model) => "720P",
        "720P" => "768P",
        "480P" => "512P",
        "1080P" => "1080P",
        _ => throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.InvalidArgument,
            $"MiniMax renders 720P (as 768P) and 1080P, not '{size}'."),
    };

    private static PollResult FromTask(MiniMaxTask task, string raw, ChannelSettings channel)
    {
        // The OpenAPI says "Fail", the official CLI "Failed", callbacks use lower case: compare loosely.
        switch (task.Status?.ToUpperInvariant())
        {
            case "PREPARING" or "QUEUEING":
                return new PollResult(UpstreamState.Queued) { Raw = raw };
            case "SUCCESS" when FileIdText(task.FileId) is { } fileId:
                return new PollResult(UpstreamState.Succeeded) { Progress = 100, ResultLocation = fileId, Raw = raw };
            case "SUCCESS":
                return new PollResult(UpstreamState.Failed) { Error = new UpstreamError(TaskErrors.UpstreamResultInvalid, "MiniMax reported success without a file_id."), Raw = raw };
            case "FAIL" or "FAILED":
                var reason = task.BaseResp?.StatusMsg is { Length: > 0 } msg && msg != "success" ? msg : "MiniMax reported the generation failed.";
                var code = task.BaseResp?.StatusCode is { } status and not 0 ? ToFailure(status, reason).Code : TaskErrors.UpstreamError;
                if (code != TaskErrors.ContentPolicy && reason.Contains("sensitive", StringComparison.OrdinalIgnoreCase))
                {
                    code = TaskErrors.ContentPolicy;
                }

                return new PollResult(UpstreamState.Failed) { Error = new UpstreamError(code, UpstreamFailures.Redact(UpstreamFailures.Truncate(reason), channel)), Raw = raw };
            default:
                // Processing, Unknown and anything newer: keep polling; the task's lifetime bounds it.
                return new PollResult(UpstreamState.Running) { Raw = raw };
        }
    }

    private static string? FileIdText(JsonElement? fileId) => fileId switch
    {
        { ValueKind: JsonValueKind.String } text when !string.IsNullOrEmpty(text.GetString()) => text.GetString(),
        { ValueKind: JsonValueKind.Number } number => number.GetRawText(),
        _ => null,
    };

    /// <summary>Throws for a non-zero <c>base_resp.status_code</c>, classified by MiniMax's error-code table.</summary>
    private static void Check(MiniMaxBaseResp? status, ChannelSettings channel)
    {
        if (status?.StatusCode is { } code and not 0)
        {
            var (stage, error) = ToFailure(code, status.StatusMsg);
            throw new UpstreamException(stage, error,
                $"The upstream of channel '{channel.Name}' answered status_code {code}: {UpstreamFailures.Redact(UpstreamFailures.Truncate(status.StatusMsg ?? ""), channel)}");
        }
    }

    private static (UpstreamFailureStage Stage, string Code) ToFailure(int code, string? message) => code switch
    {
        1000 or 1024 => (UpstreamFailureStage.ServerError, TaskErrors.UpstreamError),
        1001 => (UpstreamFailureStage.ServerError, TaskErrors.UpstreamTimeout),
        1002 => (UpstreamFailureStage.RateLimited, TaskErrors.RateLimited),
        1004 or 2049 => (UpstreamFailureStage.Unauthorized, TaskErrors.UpstreamAuth),
        // Insufficient balance: this account cannot take the job; another may.
        1008 => (UpstreamFailureStage.RateLimited, TaskErrors.QuotaExceeded),
        1026 or 1027 or 1039 => (UpstreamFailureStage.Rejected, TaskErrors.ContentPolicy),
        _ => UpstreamFailures.IsContentPolicy(message)
            ? (UpstreamFailureStage.Rejected, TaskErrors.ContentPolicy)
            : (UpstreamFailureStage.Rejected, TaskErrors.InvalidArgument),
    };

    /// <summary>An HTTP error (the gateway layer's 401/429/5xx, or a 4xx) that carries a <c>base_resp</c> is classified by it.</summary>
    private static UpstreamException Refine(UpstreamException failure, string raw)
    {
        try
        {
            if (JsonSerializer.Deserialize(raw, MiniMaxJsonContext.Default.MiniMaxTask)?.BaseResp is { StatusCode: { } code and not 0 } status)
            {
                var (stage, error) = ToFailure(code, status.StatusMsg);
                return UpstreamFailures.Reclassify(failure, stage, error);
            }
        }
        catch (JsonException)
        {
            // Not MiniMax's envelope (a proxy's page): the HTTP status says enough.
        }

        return failure;
    }
}
