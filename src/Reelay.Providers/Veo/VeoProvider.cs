using System.Net.Http.Json;
using Microsoft.Extensions.Logging;
using Reelay.Providers.Http;

namespace Reelay.Providers.Veo;

/// <summary>
/// Google Veo on the Gemini API: <c>POST /v1beta/models/{model}:predictLongRunning</c>, poll the
/// long-running operation with <c>GET /v1beta/{name}</c>, download the file URI with the key header.
/// </summary>
internal sealed partial class VeoProvider(UpstreamClient upstream, ILogger<VeoProvider> logger) : IVideoProvider
{
    private static readonly UpstreamApi Api = new(new Uri("https://generativelanguage.googleapis.com"), UpstreamAuth.GoogleApiKey);

    /// <summary>Request option choosing how several images are used: <c>frames</c> (default) or <c>components</c>.</summary>
    public const string ImageModeOption = "image_mode";

    /// <summary>Request option overriding <c>personGeneration</c> (EU/UK/CH/MENA accounts allow only <c>allow_adult</c>).</summary>
    public const string PersonGenerationOption = "person_generation";

    public string Name => ProviderNames.Veo;

    // The Gemini API's parameters (providers/google-veo.md): Veo 3.x takes 4, 6 or 8 s at 720p and
    // 8 s only at 1080p and 4k; Veo 2 takes 5–8 s at 720p.
    private static readonly string[] AspectRatios = ["16:9", "9:16"];
    private static readonly int[] Durations = [4, 6, 8];
    private static readonly int[] Veo2Durations = [5, 6, 7, 8];

    // Three reference images is Veo 3.1's limit for "components"; the Gemini docs poll every ~10 s
    // and renders take 11 s to 6 min. No progress and no cancel are documented. A model only a
    // channel names is taken as Veo 3.1 in its default "frames" mode (a first and a last frame).
    public ProviderCapabilities Capabilities { get; } = new(MaxImages: 3)
    {
        PollInterval = TimeSpan.FromSeconds(10),
        DefaultModel = new(AspectRatios, ["720P", "1080P"], Durations, 4, 8, DefaultDuration: 8, MaxImages: 2)
        {
            DurationsBySize = new Dictionary<string, IReadOnlyList<int>> { ["1080P"] = [8] },
        },
    };

    /// <summary>
    /// Veo bills per second by tier and resolution: no value is mapped. A ratio other than 16:9/9:16,
    /// a resolution other than 720p/1080p/4k, or a duration Veo lacks at that resolution passes the
    /// channel over.
    /// </summary>
    public RenderProblem? CheckRender(RenderSpec spec)
    {
        var veo2 = spec.UpstreamModel.StartsWith("veo-2", StringComparison.OrdinalIgnoreCase);
        if (!AspectRatios.Contains(spec.AspectRatio, StringComparer.Ordinal))
        {
            return new(RenderField.AspectRatio, string.Join(", ", AspectRatios));
        }

        var size = spec.Size.ToUpperInvariant();
        if (veo2 ? size != "720P" : size is not ("720P" or "1080P" or "4K"))
        {
            return new(RenderField.Size, veo2 ? "720P" : "720P, 1080P, 4K");
        }

        var durations = veo2 ? Veo2Durations : size == "720P" ? Durations : [8];
        return durations.Contains(spec.DurationSeconds)
            ? null
            : new(RenderField.Duration, $"{string.Join(", ", durations)} seconds{(size == "720P" ? "" : " at " + size)}");
    }

    public async Task<SubmitResult> SubmitAsync(VideoJobRequest request, ChannelSettings channel, CancellationToken cancellationToken)
    {
        var body = ToPredictRequest(request);
        var path = $"/v1beta/models/{Uri.EscapeDataString(request.Model)}:predictLongRunning";
        using var message = Api.Request(HttpMethod.Post, channel, path, JsonContent.Create(body, VeoJsonContext.Default.VeoPredictRequest));
        LogSubmitting(logger, channel.Name, request.TaskId, request.Model);

        var reply = await upstream.SendAsync(message, channel, cancellationToken);
        var operation = UpstreamClient.ReadJson(reply.Body, VeoJsonContext.Default.VeoOperation, channel);
        if (string.IsNullOrEmpty(operation?.Name))
        {
            throw UpstreamFailures.Malformed(channel, detail: "no operation name");
        }

        LogSubmitted(logger, channel.Name, request.TaskId, operation.Name);
        return new SubmitResult(operation.Name, reply.Body);
    }

    public async Task<PollResult> PollAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken)
    {
        // The operation name is a resource path ("models/…/operations/…"): its slashes stay.
        using var message = Api.Request(HttpMethod.Get, channel, "/v1beta/" + job.UpstreamId.TrimStart('/'));
        var reply = await upstream.SendAsync(message, channel, cancellationToken);
        var operation = UpstreamClient.ReadJson(reply.Body, VeoJsonContext.Default.VeoOperation, channel)
            ?? throw UpstreamFailures.Malformed(channel, detail: "empty operation");
        return FromOperation(operation, reply.Body, channel);
    }

    public Task<ResultContent> OpenResultAsync(UpstreamJob job, string resultLocation, ChannelSettings channel, CancellationToken cancellationToken) =>
        // The file URI answers with a redirect to storage; the key header is only sent to the API origin.
        upstream.OpenAsync(new Uri(resultLocation, UriKind.Absolute), Api.BaseUrl(channel), m => Api.Authorize(m, channel), channel, cancellationToken);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Submitting task {TaskId} to Veo channel {Channel} as {Model}")]
    private static partial void LogSubmitting(ILogger logger, string channel, string taskId, string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "Veo channel {Channel} accepted task {TaskId} as {Operation}")]
    private static partial void LogSubmitted(ILogger logger, string channel, string taskId, string operation);

    private static VeoPredictRequest ToPredictRequest(VideoJobRequest request)
    {
        var images = request.Images;
        var roles = VeoImageRoles<VeoImage>.Of(request, ToImage);
        // Reference images are sent as "ASSET" on the Gemini API.
        var references = roles.References?.Select(image => new VeoReferenceImage(image, "ASSET")).ToList();
        var instance = new VeoInstance(request.Prompt, roles.First, roles.Last, references);
        var parameters = new VeoParameters(
            AspectRatio: request.AspectRatio,
            Resolution: ToResolution(request.Size),
            DurationSeconds: request.DurationSeconds,
            NegativePrompt: string.IsNullOrWhiteSpace(request.NegativePrompt) ? null : request.NegativePrompt,
            // Gemini allows "allow_all" only for text→video; any image input needs "allow_adult".
            PersonGeneration: request.Options.TryGetValue(PersonGenerationOption, out var person) ? person
                : images.Count == 0 ? "allow_all" : "allow_adult");
        // Seed is not sent: Google's SDK refuses it on the Gemini API (Vertex-only).
        return new VeoPredictRequest([instance], parameters);
    }

    // The REST samples' "inlineData" wrapper is rejected by Veo with 400; the SDK's form works.
    private static VeoImage ToImage(ReferenceImage image) =>
        new(Convert.ToBase64String(image.Content.Span), image.MediaType);

    private static string ToResolution(string size) => size.ToUpperInvariant() switch
    {
        "720P" => "720p",
        "1080P" => "1080p",
        "4K" or "2160P" => "4k",
        _ => throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.InvalidArgument,
            $"Veo supports sizes 720P, 1080P and 4K, not '{size}'."),
    };

    private static PollResult FromOperation(VeoOperation operation, string raw, ChannelSettings channel)
    {
        if (operation.Done != true)
        {
            return new PollResult(UpstreamState.Running) { Raw = raw };
        }

        if (operation.Error is { } error)
        {
            return new PollResult(UpstreamState.Failed) { Error = FromStatus(error, channel), Raw = raw };
        }

        var response = operation.Response?.GenerateVideoResponse;
        var uri = response?.GeneratedSamples?.FirstOrDefault(s => !string.IsNullOrEmpty(s.Video?.Uri))?.Video?.Uri;
        if (uri is not null)
        {
            return new PollResult(UpstreamState.Succeeded) { Progress = 100, ResultLocation = uri, Raw = raw };
        }

        if (response?.RaiMediaFilteredReasons is { Count: > 0 } reasons)
        {
            return new PollResult(UpstreamState.Failed)
            {
                Error = new UpstreamError(TaskErrors.ContentPolicy,
                    UpstreamFailures.Truncate("Veo's safety filters blocked the video: " + string.Join(" ", reasons))),
                Raw = raw,
            };
        }

        if (response?.RaiMediaFilteredCount > 0)
        {
            return new PollResult(UpstreamState.Failed)
            {
                Error = new UpstreamError(TaskErrors.ContentPolicy, "Veo's safety filters blocked the video."),
                Raw = raw,
            };
        }

        return new PollResult(UpstreamState.Failed)
        {
            Error = new UpstreamError(TaskErrors.UpstreamResultInvalid, "Veo finished the operation without a video."),
            Raw = raw,
        };
    }

    private static UpstreamError FromStatus(VeoStatus status, ChannelSettings channel)
    {
        var message = UpstreamFailures.Redact(UpstreamFailures.Truncate(status.Message ?? "Veo reported the operation failed."), channel);
        if (UpstreamFailures.IsContentPolicy(status.Message))
        {
            return new UpstreamError(TaskErrors.ContentPolicy, message);
        }

        // Operation errors carry the numeric google.rpc.Code; HTTP-style bodies also carry the name.
        var code = (status.Status, status.Code) switch
        {
            ("INVALID_ARGUMENT", _) or (_, 3) or ("FAILED_PRECONDITION", _) or (_, 9) or ("OUT_OF_RANGE", _) or (_, 11) => TaskErrors.InvalidArgument,
            ("PERMISSION_DENIED", _) or (_, 7) or ("UNAUTHENTICATED", _) or (_, 16) => TaskErrors.UpstreamAuth,
            ("RESOURCE_EXHAUSTED", _) or (_, 8) => TaskErrors.QuotaExceeded,
            ("NOT_FOUND", _) or (_, 5) => TaskErrors.NotFound,
            ("DEADLINE_EXCEEDED", _) or (_, 4) => TaskErrors.Timeout,
            ("CANCELLED", _) or (_, 1) => TaskErrors.Cancelled,
            _ => TaskErrors.UpstreamError,
        };
        return new UpstreamError(code, message);
    }
}
