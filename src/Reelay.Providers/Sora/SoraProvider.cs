using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.Extensions.Logging;
using Reelay.Providers.Http;

namespace Reelay.Providers.Sora;

/// <summary>
/// An upstream speaking OpenAI's Videos API: multipart <c>POST /v1/videos</c>, poll
/// <c>GET /v1/videos/{id}</c>, download <c>GET /v1/videos/{id}/content?variant=video</c>.
/// </summary>
internal sealed partial class SoraProvider(UpstreamClient upstream, ILogger<SoraProvider> logger) : IVideoProvider
{
    private static readonly UpstreamApi Api = new(new Uri("https://api.openai.com"), UpstreamAuth.Bearer);

    // OpenAPI enum; the guide pairs plain sora-2 with the 720-class sizes only.
    private static readonly (int Width, int Height)[] StandardSizes = [(720, 1280), (1280, 720)];
    private static readonly (int Width, int Height)[] ProSizes = [(720, 1280), (1280, 720), (1024, 1792), (1792, 1024)];

    public string Name => ProviderNames.Sora;

    // The seconds enum of CreateVideoBody; the guide's "16"/"20" are not in the schema.
    private static readonly int[] Seconds = [4, 8, 12];

    // One input_reference (first frame). The guide suggests polling every 10–20 s. DELETE only
    // removes finished videos, so there is no cancel. A model only a channel names gets the API's
    // enums for plain sora-2: the 720-class sizes and 4/8/12 s.
    public ProviderCapabilities Capabilities { get; } = new(MaxImages: 1, SupportsRemix: true)
    {
        PollInterval = TimeSpan.FromSeconds(10),
        DefaultModel = new(["16:9", "9:16"], ["720P"], Seconds, 4, 12, DefaultDuration: 4, MaxImages: 1),
    };

    /// <summary>
    /// Sora bills per second at a price per size tier: 720x1280/1280x720, and for pro models
    /// 1024x1792/1792x1024. A request is mapped to the size of its own tier and orientation (1080P
    /// 16:9, 1920x1080, goes out as 1792x1024: the same "large" tier); a size with no such match
    /// (1080P on plain sora-2, 480P, 4K), a square or other shape, or a duration outside 4/8/12
    /// (the Sora app's 10/15/25 s) passes the channel over — 10 s is neither billed nor rendered as 8 or 12.
    /// </summary>
    public RenderProblem? CheckRender(RenderSpec spec)
    {
        if (spec.AspectRatio is not ("16:9" or "9:16"))
        {
            return new(RenderField.AspectRatio, "16:9, 9:16");
        }

        if (!IsPro(spec.UpstreamModel) ? !IsStandard(spec.Size) : !IsStandard(spec.Size) && !IsLarge(spec.Size))
        {
            return new(RenderField.Size, IsPro(spec.UpstreamModel) ? "720P (1280x720, 720x1280), 1080P (as 1792x1024, 1024x1792)" : "720P (1280x720, 720x1280)");
        }

        return Seconds.Contains(spec.DurationSeconds) ? null : new(RenderField.Duration, "4, 8, 12 seconds");
    }

    private static bool IsPro(string model) => model.Contains("pro", StringComparison.OrdinalIgnoreCase);

    private static bool IsStandard(string size) => size.ToUpperInvariant() is "720P" or "1280X720" or "720X1280";

    private static bool IsLarge(string size) => size.ToUpperInvariant() is "1080P" or "1792X1024" or "1024X1792";

    public async Task<SubmitResult> SubmitAsync(VideoJobRequest request, ChannelSettings channel, CancellationToken cancellationToken)
    {
        if (request.RemixOf is { } source)
        {
            return await RemixAsync(source, request.Prompt, channel, cancellationToken);
        }

        using var message = Api.Request(HttpMethod.Post, channel, "/v1/videos", ToCreateForm(request));
        LogSubmitting(logger, channel.Name, request.TaskId, request.Model);

        var reply = await upstream.SendAsync(message, channel, cancellationToken);
        var video = UpstreamClient.ReadJson(reply.Body, SoraJsonContext.Default.SoraVideo, channel);
        if (string.IsNullOrEmpty(video?.Id))
        {
            throw UpstreamFailures.Malformed(channel, detail: "no video id");
        }

        LogSubmitted(logger, channel.Name, request.TaskId, video.Id);
        return new SubmitResult(video.Id, reply.Body);
    }

    /// <summary>Starts a remix of a completed video with a new prompt; the answer is a new job.</summary>
    internal async Task<SubmitResult> RemixAsync(string videoId, string prompt, ChannelSettings channel, CancellationToken cancellationToken)
    {
        using var message = Api.Request(HttpMethod.Post, channel, $"/v1/videos/{Uri.EscapeDataString(videoId)}/remix",
            JsonContent.Create(new SoraRemixRequest(prompt), SoraJsonContext.Default.SoraRemixRequest));
        var reply = await upstream.SendAsync(message, channel, cancellationToken);
        var video = UpstreamClient.ReadJson(reply.Body, SoraJsonContext.Default.SoraVideo, channel);
        if (string.IsNullOrEmpty(video?.Id))
        {
            throw UpstreamFailures.Malformed(channel, detail: "no video id");
        }

        return new SubmitResult(video.Id, reply.Body);
    }

    public async Task<PollResult> PollAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken)
    {
        using var message = Api.Request(HttpMethod.Get, channel, VideoPath(job.UpstreamId));
        var reply = await upstream.SendAsync(message, channel, cancellationToken);
        var video = UpstreamClient.ReadJson(reply.Body, SoraJsonContext.Default.SoraVideo, channel)
            ?? throw UpstreamFailures.Malformed(channel, detail: "empty video");
        // The content lives below the URL just polled (API calls never follow redirects, so it is the one sent).
        return FromVideo(video, reply.Body, message.RequestUri!, channel);
    }

    public Task<ResultContent> OpenResultAsync(UpstreamJob job, string resultLocation, ChannelSettings channel, CancellationToken cancellationToken)
    {
        var location = new Uri(resultLocation.Contains('?', StringComparison.Ordinal) ? resultLocation : resultLocation + "?variant=video", UriKind.Absolute);
        return upstream.OpenAsync(location, Api.BaseUrl(channel), m =>
        {
            Api.Authorize(m, channel);
            m.Headers.Accept.ParseAdd("application/binary");
        }, channel, cancellationToken);
    }

    private static string VideoPath(string videoId) => $"/v1/videos/{Uri.EscapeDataString(videoId)}";

    [LoggerMessage(Level = LogLevel.Debug, Message = "Submitting task {TaskId} to Sora channel {Channel} as {Model}")]
    private static partial void LogSubmitting(ILogger logger, string channel, string taskId, string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sora channel {Channel} accepted task {TaskId} as {VideoId}")]
    private static partial void LogSubmitted(ILogger logger, string channel, string taskId, string videoId);

    private static MultipartFormDataContent ToCreateForm(VideoJobRequest request)
    {
        var form = new MultipartFormDataContent
        {
            { new StringContent(request.Prompt), "prompt" },
            { new StringContent(request.Model), "model" },
            // The schema types seconds as a string enum ("4", "8", "12").
            { new StringContent(request.DurationSeconds.ToString(CultureInfo.InvariantCulture)), "seconds" },
            { new StringContent(ToSize(request.Model, request.Width, request.Height)), "size" },
        };

        if (request.Images.Count > 0)
        {
            var image = request.Images[0];
            var file = new ByteArrayContent(image.Content.ToArray());
            file.Headers.ContentType = new MediaTypeHeaderValue(image.MediaType);
            form.Add(file, "input_reference", "input_reference" + ToExtension(image.MediaType));
        }

        return form;
    }

    /// <summary>Picks the allowed size closest in shape and scale to the requested width and height.</summary>
    internal static string ToSize(string model, int width, int height)
    {
        var sizes = IsPro(model) ? ProSizes : StandardSizes;
        var best = sizes[0];
        var bestDistance = double.MaxValue;
        foreach (var size in sizes)
        {
            // Wrong orientation costs more than any scale difference.
            var orientationPenalty = Math.Sign(size.Width - size.Height) == Math.Sign(width - height) || width == height ? 0 : 10;
            var distance = orientationPenalty
                + Math.Abs(Math.Log((double)size.Width / Math.Max(width, 1)))
                + Math.Abs(Math.Log((double)size.Height / Math.Max(height, 1)));
            if (distance < bestDistance)
            {
                best = size;
                bestDistance = distance;
            }
        }

        return $"{best.Width}x{best.Height}";
    }

    private static string ToExtension(string mediaType) => mediaType switch
    {
        "image/jpeg" => ".jpg",
        "image/webp" => ".webp",
        "image/gif" => ".gif",
        _ => ".png",
    };

    private static PollResult FromVideo(SoraVideo video, string raw, Uri contentBase, ChannelSettings channel) => video.Status switch
    {
        "queued" => new PollResult(UpstreamState.Queued) { Progress = video.Progress, Raw = raw },
        "in_progress" => new PollResult(UpstreamState.Running) { Progress = video.Progress, Raw = raw },
        "completed" => new PollResult(UpstreamState.Succeeded) { Progress = 100, ResultLocation = contentBase + "/content", FinishedAt = UnixTime.FromSeconds(video.CompletedAt), Raw = raw },
        "failed" => new PollResult(UpstreamState.Failed) { Error = FromVideoError(video.Error, channel), FinishedAt = UnixTime.FromSeconds(video.CompletedAt), Raw = raw },
        _ => throw UpstreamFailures.Malformed(channel, detail: $"unknown status '{video.Status}'"),
    };

    private static UpstreamError FromVideoError(SoraVideoError? error, ChannelSettings channel)
    {
        var message = UpstreamFailures.Redact(UpstreamFailures.Truncate(error?.Message ?? "The upstream reported the generation failed."), channel);
        // Moderation failures arrive as codes like "moderation_blocked" or in the message text.
        var code = UpstreamFailures.IsContentPolicy(error?.Code, error?.Message) ? TaskErrors.ContentPolicy : TaskErrors.UpstreamError;
        return new UpstreamError(code, message);
    }
}
