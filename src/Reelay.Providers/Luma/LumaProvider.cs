using System.Net.Http.Json;
using Microsoft.Extensions.Logging;
using Reelay.Providers.Http;

namespace Reelay.Providers.Luma;

/// <summary>
/// Luma's Dream Machine API: <c>POST /dream-machine/v1/generations/video</c>, poll
/// <c>GET …/generations/{id}</c>, delete with <c>DELETE …/generations/{id}</c>.
/// </summary>
internal sealed partial class LumaProvider(UpstreamClient upstream, ILogger<LumaProvider> logger) : IVideoProvider
{
    private static readonly UpstreamApi Api = new(new Uri("https://api.lumalabs.ai/dream-machine/v1"), UpstreamAuth.Bearer);
    private const string VersionPath = "/dream-machine/v1";

    public string Name => ProviderNames.Luma;

    private static readonly string[] Ratios = ["16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "9:21"];

    // frame0 and frame1 keyframes. Luma POSTs the generation to callback_url when it is dreaming,
    // completed or failed; DELETE removes a generation (stopping it, if it still runs). A model
    // only a channel names is taken as ray-2: Luma's ratios, 720P or 1080P, 5 or 9 s.
    public ProviderCapabilities Capabilities { get; } = new(MaxImages: 2, SupportsCancel: true)
    {
        AcceptsCallbacks = true,
        DefaultModel = new(Ratios, ["720P", "1080P"], [5, 9], 5, 9, DefaultDuration: 5, MaxImages: 2),
    };

    /// <summary>
    /// Luma bills by resolution and length: nothing is mapped. A ratio outside its enum, a size
    /// other than 720P, 1080P or 4K, or a length other than 5 or 9 s passes the channel over.
    /// </summary>
    public RenderProblem? CheckRender(RenderSpec spec)
    {
        if (!Ratios.Contains(spec.AspectRatio, StringComparer.Ordinal))
        {
            return new(RenderField.AspectRatio, string.Join(", ", Ratios));
        }

        if (spec.Size.ToUpperInvariant() is not ("720P" or "1080P" or "4K"))
        {
            return new(RenderField.Size, "720P, 1080P, 4K");
        }

        return spec.DurationSeconds is 5 or 9 ? null : new(RenderField.Duration, "5, 9 seconds");
    }

    public async Task<SubmitResult> SubmitAsync(VideoJobRequest request, ChannelSettings channel, CancellationToken cancellationToken)
    {
        using var message = Api.Request(HttpMethod.Post, channel, Path(channel, "/generations/video"),
            JsonContent.Create(ToCreateRequest(request), LumaJsonContext.Default.LumaCreateRequest));
        LogSubmitting(logger, channel.Name, request.TaskId, request.Model);

        var reply = await upstream.SendAsync(message, channel, cancellationToken);
        var generation = UpstreamClient.ReadJson(reply.Body, LumaJsonContext.Default.LumaGeneration, channel);
        if (string.IsNullOrEmpty(generation?.Id))
        {
            throw UpstreamFailures.Malformed(channel, detail: "no generation id");
        }

        LogSubmitted(logger, channel.Name, request.TaskId, generation.Id);
        return new SubmitResult(generation.Id, reply.Body);
    }

    public async Task<PollResult> PollAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken)
    {
        using var message = Api.Request(HttpMethod.Get, channel, Path(channel, "/generations/" + Uri.EscapeDataString(job.UpstreamId)));
        var reply = await upstream.SendAsync(message, channel, cancellationToken);
        var generation = UpstreamClient.ReadJson(reply.Body, LumaJsonContext.Default.LumaGeneration, channel)
            ?? throw UpstreamFailures.Malformed(channel, detail: "empty generation");
        return FromGeneration(generation, reply.Body, channel);
    }

    public Task<ResultContent> OpenResultAsync(UpstreamJob job, string resultLocation, ChannelSettings channel, CancellationToken cancellationToken) =>
        upstream.OpenAsync(new Uri(resultLocation, UriKind.Absolute), Api.BaseUrl(channel), m => Api.Authorize(m, channel), channel, cancellationToken);

    /// <summary>Deletes the generation: Luma documents no other way to stop one.</summary>
    public async Task CancelAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken)
    {
        using var message = Api.Request(HttpMethod.Delete, channel, Path(channel, "/generations/" + Uri.EscapeDataString(job.UpstreamId)));
        await upstream.SendAsync(message, channel, cancellationToken);
    }

    /// <summary>Luma POSTs the generation when it is dreaming, completed or failed, unsigned: only an end is worth a poll.</summary>
    public ValueTask<CallbackVerdict> ReadCallbackAsync(UpstreamCallback callback, ChannelSettings channel, CancellationToken cancellationToken) =>
        ValueTask.FromResult(UpstreamClient.TryReadJson(callback.Body, LumaJsonContext.Default.LumaGeneration)?.State is "queued" or "dreaming"
            ? CallbackVerdict.Ignore
            : CallbackVerdict.PollNow);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Submitting task {TaskId} to Luma channel {Channel} as {Model}")]
    private static partial void LogSubmitting(ILogger logger, string channel, string taskId, string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "Luma channel {Channel} accepted task {TaskId} as {UpstreamId}")]
    private static partial void LogSubmitted(ILogger logger, string channel, string taskId, string upstreamId);

    private static string Path(ChannelSettings channel, string rest) =>
        (Api.BaseUrl(channel).AbsolutePath.TrimEnd('/').EndsWith(VersionPath, StringComparison.OrdinalIgnoreCase) ? "" : VersionPath) + rest;

    private static LumaCreateRequest ToCreateRequest(VideoJobRequest request)
    {
        var images = request.Images;
        if (images.Count > 2)
        {
            throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.InvalidArgument,
                $"Luma takes a start and an end keyframe (2 images), not {images.Count}.");
        }

        // Keyframes are fetched by Luma from public URLs (no data URIs are documented), so an image the
        // client sent inline cannot go; the client's own URL does.
        if (images.Any(i => i.SourceUrl is null))
        {
            throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.InvalidArgument,
                "Luma fetches keyframes from public URLs: send images as http(s) URLs, not data URIs.");
        }

        return new LumaCreateRequest(
            Model: request.Model,
            Prompt: request.Prompt,
            AspectRatio: request.AspectRatio,
            Resolution: request.Size.ToLowerInvariant(),
            Duration: $"{request.DurationSeconds}s",
            Loop: request.Options.TryGetValue("loop", out var loop) ? string.Equals(loop, "true", StringComparison.OrdinalIgnoreCase) : null,
            Keyframes: images.Count == 0 ? null : new LumaKeyframes(
                new LumaKeyframe("image", images[0].SourceUrl!),
                images.Count > 1 ? new LumaKeyframe("image", images[1].SourceUrl!) : null),
            CallbackUrl: request.CallbackUrl?.AbsoluteUri);
    }

    private static PollResult FromGeneration(LumaGeneration generation, string raw, ChannelSettings channel) => generation.State switch
    {
        "queued" => new PollResult(UpstreamState.Queued) { Raw = raw },
        "dreaming" => new PollResult(UpstreamState.Running) { Raw = raw },
        "completed" when !string.IsNullOrEmpty(generation.Assets?.Video) =>
            new PollResult(UpstreamState.Succeeded) { Progress = 100, ResultLocation = generation.Assets.Video, Raw = raw },
        "completed" => new PollResult(UpstreamState.Failed)
        {
            Error = new UpstreamError(TaskErrors.UpstreamResultInvalid, "Luma completed the generation without assets.video."),
            Raw = raw,
        },
        "failed" => new PollResult(UpstreamState.Failed)
        {
            Error = new UpstreamError(
                UpstreamFailures.IsContentPolicy(generation.FailureReason) ? TaskErrors.ContentPolicy : TaskErrors.UpstreamError,
                UpstreamFailures.Redact(UpstreamFailures.Truncate(generation.FailureReason ?? "Luma reported the generation failed."), channel)),
            Raw = raw,
        },
        _ => throw UpstreamFailures.Malformed(channel, detail: $"unknown state '{generation.State}'"),
    };
}
