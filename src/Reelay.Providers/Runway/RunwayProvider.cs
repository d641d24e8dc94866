using System.Net.Http.Json;
using Microsoft.Extensions.Logging;
using Reelay.Providers.Http;

namespace Reelay.Providers.Runway;

/// <summary>
/// Runway's API: <c>POST /v1/image_to_video</c> or <c>/v1/text_to_video</c>, poll
/// <c>GET /v1/tasks/{id}</c>, cancel with <c>DELETE /v1/tasks/{id}</c>; every call carries
/// <c>X-Runway-Version</c>.
/// </summary>
internal sealed partial class RunwayProvider(UpstreamClient upstream, ILogger<RunwayProvider> logger) : IVideoProvider
{
    private static readonly UpstreamApi Api = new(new Uri("https://api.dev.runwayml.com"), UpstreamAuth.Bearer);

    // The only API version the SDK has known; Runway refuses calls without it.
    private const string ApiVersion = "2024-11-06";

    public string Name => ProviderNames.Runway;

    // "ratio" is a pixel size with a colon, per model family (SDK create params).
    private static readonly Dictionary<(string Size, string Ratio), string> Gen4Ratios = new()
    {
        [("720P", "16:9")] = "1280:720", [("720P", "9:16")] = "720:1280", [("720P", "4:3")] = "1104:832",
        [("720P", "1:1")] = "960:960", [("720P", "3:4")] = "832:1104", [("720P", "21:9")] = "1584:672",
    };

    private static readonly Dictionary<(string Size, string Ratio), string> VeoRatios = new()
    {
        [("720P", "16:9")] = "1280:720", [("720P", "9:16")] = "720:1280",
        [("1080P", "16:9")] = "1920:1080", [("1080P", "9:16")] = "1080:1920",
    };

    // A first frame, and a last one on models that have it (veo3.1). No callback parameter exists:
    // polled. DELETE cancels a task that has not finished. A model only a channel names is taken
    // as gen4_turbo: 720P in its ratios, 5 or 10 s, one image.
    public ProviderCapabilities Capabilities { get; } = new(MaxImages: 2, SupportsCancel: true)
    {
        DefaultModel = new(["16:9", "9:16", "1:1", "4:3", "3:4", "21:9"], ["720P"], [5, 10], 5, 10, DefaultDuration: 5, MaxImages: 1),
    };

    /// <summary>
    /// Runway bills credits per second by model: a ratio is sent as the model's pixel size of that
    /// shape (720P 16:9 → <c>1280:720</c>), which costs the same. A shape or size the model has no
    /// pixel size for, or a length it lacks (gen4.5: 2–10 s; gen4_turbo: 5, 10; veo3.x: 4, 6, 8),
    /// passes the channel over.
    /// </summary>
    public RenderProblem? CheckRender(RenderSpec spec)
    {
        var ratios = RatiosFor(spec.UpstreamModel);
        var size = spec.Size.ToUpperInvariant();
        if (!ratios.Keys.Any(k => k.Size == size))
        {
            return new(RenderField.Size, string.Join(", ", ratios.Keys.Select(k => k.Size).Distinct()));
        }

        if (!ratios.ContainsKey((size, spec.AspectRatio)))
        {
            return new(RenderField.AspectRatio, string.Join(", ", ratios.Keys.Where(k => k.Size == size).Select(k => k.Ratio)));
        }

        var model = spec.UpstreamModel;
        if (model.StartsWith("veo", StringComparison.OrdinalIgnoreCase))
        {
            return spec.DurationSeconds is 4 or 6 or 8 ? null : new(RenderField.Duration, "4, 6, 8 seconds");
        }

        if (model.StartsWith("gen4.5", StringComparison.OrdinalIgnoreCase))
        {
            return spec.DurationSeconds is < 2 or > 10 ? new(RenderField.Duration, "2–10 seconds") : null;
        }

        return spec.DurationSeconds is 5 or 10 ? null : new(RenderField.Duration, "5, 10 seconds");
    }

    private static Dictionary<(string Size, string Ratio), string> RatiosFor(string model) =>
        model.StartsWith("veo", StringComparison.OrdinalIgnoreCase) ? VeoRatios : Gen4Ratios;

    public async Task<SubmitResult> SubmitAsync(VideoJobRequest request, ChannelSettings channel, CancellationToken cancellationToken)
    {
        var path = request.Images.Count > 0 ? "/v1/image_to_video" : "/v1/text_to_video";
        using var message = Request(HttpMethod.Post, channel, path, JsonContent.Create(ToCreateRequest(request), RunwayJsonContext.Default.RunwayCreateRequest));
        LogSubmitting(logger, channel.Name, request.TaskId, request.Model);

        var reply = await upstream.SendAsync(message, channel, cancellationToken);
        var created = UpstreamClient.ReadJson(reply.Body, RunwayJsonContext.Default.RunwayCreated, channel);
        if (string.IsNullOrEmpty(created?.Id))
        {
            throw UpstreamFailures.Malformed(channel, detail: "no task id");
        }

        LogSubmitted(logger, channel.Name, request.TaskId, created.Id);
        return new SubmitResult(created.Id, reply.Body);
    }

    public async Task<PollResult> PollAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken)
    {
        using var message = Request(HttpMethod.Get, channel, "/v1/tasks/" + Uri.EscapeDataString(job.UpstreamId));
        var reply = await upstream.SendAsync(message, channel, cancellationToken);
        var task = UpstreamClient.ReadJson(reply.Body, RunwayJsonContext.Default.RunwayTask, channel)
            ?? throw UpstreamFailures.Malformed(channel, detail: "empty task");
        return FromTask(task, reply.Body, channel);
    }

    public Task<ResultContent> OpenResultAsync(UpstreamJob job, string resultLocation, ChannelSettings channel, CancellationToken cancellationToken) =>
        // Output links expire within 24–48 h; they are on Runway's storage, so the key stays home.
        upstream.OpenAsync(new Uri(resultLocation, UriKind.Absolute), Api.BaseUrl(channel), m => Api.Authorize(m, channel), channel, cancellationToken);

    /// <summary>Cancels a pending, throttled or running task (a finished one would be deleted).</summary>
    public async Task CancelAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken)
    {
        using var message = Request(HttpMethod.Delete, channel, "/v1/tasks/" + Uri.EscapeDataString(job.UpstreamId));
        await upstream.SendAsync(message, channel, cancellationToken);
    }

    private static HttpRequestMessage Request(HttpMethod method, ChannelSettings channel, string path, HttpContent? content = null)
    {
        var message = Api.Request(method, channel, path, content);
        message.Headers.Add("X-Runway-Version", ApiVersion);
        return message;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Submitting task {TaskId} to Runway channel {Channel} as {Model}")]
    private static partial void LogSubmitting(ILogger logger, string channel, string taskId, string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "Runway channel {Channel} accepted task {TaskId} as {UpstreamId}")]
    private static partial void LogSubmitted(ILogger logger, string channel, string taskId, string upstreamId);

    private static RunwayCreateRequest ToCreateRequest(VideoJobRequest request)
    {
        var images = request.Images;
        if (images.Count > 2)
        {
            throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.InvalidArgument,
                $"Runway takes a first and a last frame (2 images), not {images.Count}.");
        }

        var ratio = RatiosFor(request.Model).GetValueOrDefault((request.Size.ToUpperInvariant(), request.AspectRatio))
            ?? $"{request.Width}:{request.Height}";
        var veo = request.Model.StartsWith("veo", StringComparison.OrdinalIgnoreCase);
        return new RunwayCreateRequest(
            Model: request.Model,
            PromptText: request.Prompt,
            // Data URIs up to 5 MB are accepted as image URIs.
            PromptImage: images.Count == 0 ? null : [.. images.Select((image, i) => new RunwayPromptImage(image.ToDataUri(), i == 0 ? "first" : "last"))],
            Ratio: ratio,
            Duration: request.DurationSeconds,
            Seed: request.Seed is >= 0 and <= uint.MaxValue ? request.Seed : null,
            NegativePrompt: veo && !string.IsNullOrWhiteSpace(request.NegativePrompt) ? request.NegativePrompt : null,
            Audio: veo && request.Options.TryGetValue("audio", out var audio) ? string.Equals(audio, "true", StringComparison.OrdinalIgnoreCase) : null);
    }

    private static PollResult FromTask(RunwayTask task, string raw, ChannelSettings channel)
    {
        switch (task.Status)
        {
            case "PENDING" or "THROTTLED":
                // Throttled: accepted, waiting for a free concurrency slot of the account.
                return new PollResult(UpstreamState.Queued) { Raw = raw };
            case "RUNNING":
                return new PollResult(UpstreamState.Running) { Progress = task.Progress is { } p ? (int)Math.Clamp(Math.Round(p * 100), 0, 99) : null, Raw = raw };
            case "SUCCEEDED" when task.Output?.FirstOrDefault(o => !string.IsNullOrEmpty(o)) is { } url:
                return new PollResult(UpstreamState.Succeeded) { Progress = 100, ResultLocation = url, Raw = raw };
            case "SUCCEEDED":
                return Failed(TaskErrors.UpstreamResultInvalid, "Runway reported success without an output.", raw);
            case "FAILED":
                var message = UpstreamFailures.Redact(UpstreamFailures.Truncate(task.Failure ?? task.FailureCode ?? "Runway reported the task failed."), channel);
                // SAFETY.INPUT.* / SAFETY.OUTPUT.* are moderation; INTERNAL.BAD_OUTPUT.* and the rest are the upstream's own failure.
                var code = task.FailureCode?.StartsWith("SAFETY", StringComparison.OrdinalIgnoreCase) == true || UpstreamFailures.IsContentPolicy(task.Failure)
                    ? TaskErrors.ContentPolicy
                    : TaskErrors.UpstreamError;
                return Failed(code, message, raw);
            case "CANCELLED":
                return Failed(TaskErrors.Cancelled, "Runway cancelled (or deleted) the task.", raw);
            default:
                throw UpstreamFailures.Malformed(channel, detail: $"unknown status '{task.Status}'");
        }
    }

    private static PollResult Failed(string code, string message, string raw) => new(UpstreamState.Failed) { Error = new UpstreamError(code, message), Raw = raw };
}
