using System.Globalization;
using System.Net.Http.Json;
using Microsoft.Extensions.Logging;
using Reelay.Providers.GoogleCloud;
using Reelay.Providers.Http;
using Reelay.Providers.VertexVeo;

namespace Reelay.Providers.GeminiOmni;

/// <summary>
/// Gemini Omni over the Interactions API (providers/google-omni.md): <c>POST /interactions</c> with
/// <c>background: true</c>, poll <c>GET /interactions/{id}</c>, the video found by type in <c>steps[]</c>
/// (inline base64, or a file for <c>delivery: "uri"</c>), <c>POST …/{id}/cancel</c>. With an AI Studio
/// key it speaks the Gemini API; with a service-account key, Vertex AI at <c>locations/global</c>.
/// </summary>
internal sealed partial class GeminiOmniProvider(UpstreamClient upstream, GoogleAccessTokens tokens, ILogger<GeminiOmniProvider> logger) : IVideoProvider
{
    private static readonly UpstreamApi GeminiApi = new(new Uri("https://generativelanguage.googleapis.com"), UpstreamAuth.GoogleApiKey);
    private static readonly Uri VertexHost = new("https://aiplatform.googleapis.com");
    private static readonly Uri StorageHost = new("https://storage.googleapis.com");

    /// <summary>Request option choosing how one or two images are used: <c>frames</c> (default: first, and last, frame) or <c>components</c>/<c>reference</c>; three or more are always references.</summary>
    public const string ImageModeOption = "image_mode";

    /// <summary>The result locator of a video that came inline: the bytes are read again from the interaction.</summary>
    internal const string InlineResultScheme = "omni-inline:";

    // What Omni does not have (§2 "Not present"): one clip per interaction, audio always on, 24 fps
    // fixed. Sent on, such options would be silently ignored, so the request is refused instead:
    // at create by CheckRender (a 400 naming the option), and again at submit for a task stored before.
    private static readonly (string Option, string Takes, Func<string, bool> Refused)[] MissingFields =
    [
        ("generate_audio", "only true (Omni always makes the soundtrack)", v => v.Trim().Equals("false", StringComparison.OrdinalIgnoreCase)),
        ("n", "only 1 (Omni makes one clip per request)", v => v.Trim() != "1"),
        ("sample_count", "only 1 (Omni makes one clip per request)", v => v.Trim() != "1"),
        ("number_of_videos", "only 1 (Omni makes one clip per request)", v => v.Trim() != "1"),
        ("fps", "only 24 (Omni renders at 24 fps only)", v => v.Trim() != "24"),
    ];

    public string Name => ProviderNames.GeminiOmni;

    private static readonly string[] AspectRatios = ["16:9", "9:16"];
    private static readonly string[] Sizes = ["720P", "1080P", "4K"];

    // Omni 1.1 makes 3–10 s, 1.2 3–15 s, at 360p–4k in 16:9 or 9:16; Google's notebook polls every
    // ~10 s (a 10 s clip took ~24 s). Up to 5 reference images is Google's recommendation. A model
    // only a channel names is taken as 1.1.
    public ProviderCapabilities Capabilities { get; } = new(MaxImages: 5, SupportsCancel: true)
    {
        PollInterval = TimeSpan.FromSeconds(10),
        DefaultModel = new(AspectRatios, ["720P", "1080P", "4K"], [], 3, 10, DefaultDuration: 8, MaxImages: 2),
    };

    /// <summary>Omni bills by output tokens per second of video: nothing is mapped. 1.2 goes to 15 s, 1.1 to 10 s.</summary>
    public RenderProblem? CheckRender(RenderSpec spec)
    {
        if (!AspectRatios.Contains(spec.AspectRatio, StringComparer.Ordinal))
        {
            return new(RenderField.AspectRatio, string.Join(", ", AspectRatios));
        }

        if (!Sizes.Contains(spec.Size.ToUpperInvariant(), StringComparer.Ordinal))
        {
            return new(RenderField.Size, string.Join(", ", Sizes));
        }

        var max = MaxDurationOf(spec.UpstreamModel);
        if (spec.DurationSeconds < 3 || spec.DurationSeconds > max)
        {
            return new(RenderField.Duration, $"3–{max} seconds");
        }

        return MissingField(spec.Options) is { } missing ? new(RenderField.Option, missing.Takes, missing.Option) : null;
    }

    /// <summary>The first option the request sets to a value Omni has no field for, or null.</summary>
    private static (string Option, string Value, string Takes)? MissingField(IReadOnlyDictionary<string, string> options)
    {
        foreach (var (option, takes, refused) in MissingFields)
        {
            if (options.TryGetValue(option, out var value) && refused(value))
            {
                return (option, value, takes);
            }
        }

        return null;
    }

    public async Task<SubmitResult> SubmitAsync(VideoJobRequest request, ChannelSettings channel, CancellationToken cancellationToken)
    {
        var body = ToCreateRequest(request, channel);
        LogSubmitting(logger, channel.Name, request.TaskId, request.Model, IsVertex(channel) ? "Vertex AI" : "Gemini API");
        var reply = await SendAsync(HttpMethod.Post, channel, "",
            () => JsonContent.Create(body, OmniJsonContext.Default.OmniCreateRequest), cancellationToken);
        var interaction = UpstreamClient.ReadJson(reply.Body, OmniJsonContext.Default.OmniInteraction, channel);
        if (string.IsNullOrEmpty(interaction?.Id))
        {
            throw UpstreamFailures.Malformed(channel, detail: "no interaction id");
        }

        LogSubmitted(logger, channel.Name, request.TaskId, interaction.Id);
        return new SubmitResult(interaction.Id, reply.Body);
    }

    public async Task<PollResult> PollAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken)
    {
        var (interaction, raw) = await GetAsync(job, channel, cancellationToken);
        var result = FromInteraction(interaction, raw, channel);
        if (result.State == UpstreamState.Succeeded && !IsVertex(channel) && FileIdOf(result.ResultLocation!) is { } fileId)
        {
            // A generated file is downloadable once ACTIVE (§5); until then the job is not done for us.
            var reply = await SendAsync(HttpMethod.Get, channel, null, null, cancellationToken, "/v1beta/files/" + Uri.EscapeDataString(fileId));
            var file = UpstreamClient.ReadJson(reply.Body, OmniFilesJsonContext.Default.OmniFile, channel);
            if (file?.State is "PROCESSING" or "STATE_UNSPECIFIED")
            {
                return new PollResult(UpstreamState.Running) { Progress = 99, Raw = raw };
            }

            if (file?.State is "FAILED")
            {
                return new PollResult(UpstreamState.Failed)
                {
                    Error = new UpstreamError(TaskErrors.UpstreamResultInvalid, "Gemini Omni made the video, but its file failed to process."),
                    Raw = raw,
                };
            }
        }

        return result;
    }

    public async Task<ResultContent> OpenResultAsync(UpstreamJob job, string resultLocation, ChannelSettings channel, CancellationToken cancellationToken)
    {
        if (resultLocation.StartsWith(InlineResultScheme, StringComparison.Ordinal))
        {
            // The interaction keeps the bytes (it is stored): reading them again beats megabytes of base64 in the task row.
            var (interaction, _) = await GetAsync(job, channel, cancellationToken);
            var video = LastVideo(interaction);
            if (video?.Data is not { Length: > 0 } base64)
            {
                throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.UpstreamResultInvalid,
                    $"Gemini Omni's interaction for channel '{channel.Name}' no longer holds the video inline.");
            }

            byte[] bytes;
            try
            {
                bytes = Convert.FromBase64String(base64);
            }
            catch (FormatException)
            {
                throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.UpstreamResultInvalid,
                    $"Gemini Omni's inline video for channel '{channel.Name}' is not valid base64.");
            }

            return new ResultContent(new MemoryStream(bytes, writable: false), video.MimeType ?? "video/mp4", bytes.Length);
        }

        if (IsVertex(channel))
        {
            if (!VertexVeoProvider.TryParseGcsUri(resultLocation, out var bucket, out var name))
            {
                throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.UpstreamResultInvalid,
                    $"Gemini Omni on Vertex AI gave channel '{channel.Name}' a result that is not a gs:// object.");
            }

            var url = UpstreamClient.Combine(channel.BaseUrl ?? StorageHost,
                $"/storage/v1/b/{Uri.EscapeDataString(bucket)}/o/{Uri.EscapeDataString(name)}?alt=media");
            return await tokens.OpenAsync(url, tokens.AccountOf(channel), channel, cancellationToken);
        }

        // A Files API file: its bytes at files/{id}:download?alt=media, with the key (redirects to storage drop it).
        var download = FileIdOf(resultLocation) is { } id
            ? UpstreamClient.Combine(GeminiApi.BaseUrl(channel), $"/v1beta/files/{Uri.EscapeDataString(id)}:download?alt=media")
            : new Uri(resultLocation, UriKind.Absolute);
        return await upstream.OpenAsync(download, GeminiApi.BaseUrl(channel), m => GeminiApi.Authorize(m, channel), channel, cancellationToken);
    }

    public async Task CancelAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken)
    {
        await SendAsync(HttpMethod.Post, channel, "/" + Uri.EscapeDataString(job.UpstreamId) + "/cancel", null, cancellationToken);
        LogCancelled(logger, channel.Name, job.TaskId, job.UpstreamId);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Submitting task {TaskId} to Gemini Omni channel {Channel} as {Model} ({Surface})")]
    private static partial void LogSubmitting(ILogger logger, string channel, string taskId, string model, string surface);

    [LoggerMessage(Level = LogLevel.Information, Message = "Gemini Omni channel {Channel} accepted task {TaskId} as {Interaction}")]
    private static partial void LogSubmitted(ILogger logger, string channel, string taskId, string interaction);

    [LoggerMessage(Level = LogLevel.Information, Message = "Gemini Omni channel {Channel} cancelled task {TaskId} ({Interaction})")]
    private static partial void LogCancelled(ILogger logger, string channel, string taskId, string interaction);

    /// <summary>A channel with a service-account key speaks Vertex AI; one with an API key, the Gemini API.</summary>
    internal static bool IsVertex(ChannelSettings channel) => GoogleServiceAccount.LooksLikeKey(channel.ApiKey);

    private async Task<(OmniInteraction Interaction, string Raw)> GetAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken)
    {
        var reply = await SendAsync(HttpMethod.Get, channel, "/" + Uri.EscapeDataString(job.UpstreamId), null, cancellationToken);
        var interaction = UpstreamClient.ReadJson(reply.Body, OmniJsonContext.Default.OmniInteraction, channel)
            ?? throw UpstreamFailures.Malformed(channel, detail: "empty interaction");
        return (interaction, reply.Body);
    }

    /// <summary>
    /// One call to the interactions collection (<paramref name="suffix"/> after <c>/interactions</c>), or
    /// to <paramref name="path"/> on the Gemini API: with the key header there, a bearer token on Vertex.
    /// </summary>
    private async Task<UpstreamReply> SendAsync(HttpMethod method, ChannelSettings channel, string? suffix, Func<HttpContent>? content,
        CancellationToken cancellationToken, string? path = null)
    {
        if (IsVertex(channel))
        {
            var account = tokens.AccountOf(channel);
            // Omni on Vertex is served at locations/global only (§9).
            var url = UpstreamClient.Combine(channel.BaseUrl ?? VertexHost,
                $"/v1beta1/projects/{Uri.EscapeDataString(VertexVeoProvider.ProjectOf(channel, account))}/locations/global/interactions{suffix}");
            return await tokens.SendAsync(() => new HttpRequestMessage(method, url) { Content = content?.Invoke() }, account, channel, refine: null, cancellationToken);
        }

        using var message = GeminiApi.Request(method, channel, path ?? "/v1beta/interactions" + suffix, content?.Invoke());
        return await upstream.SendAsync(message, channel, cancellationToken);
    }

    private static int MaxDurationOf(string model) =>
        model.Contains("omni-1.1", StringComparison.OrdinalIgnoreCase) || model.Contains("flash-preview", StringComparison.OrdinalIgnoreCase) ? 10 : 15;

    private static OmniCreateRequest ToCreateRequest(VideoJobRequest request, ChannelSettings channel)
    {
        if (MissingField(request.Options) is { } missing)
        {
            throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.InvalidArgument,
                $"Gemini Omni takes '{missing.Option}' {missing.Takes}, not {missing.Value}. Leave '{missing.Option}' out.");
        }

        // Omni has no negative prompt; Google's guidance is to say what to avoid in the prompt itself.
        var prompt = string.IsNullOrWhiteSpace(request.NegativePrompt)
            ? request.Prompt
            : request.Prompt + "\n\nAvoid: " + request.NegativePrompt.Trim();
        var input = new List<OmniPart> { new("text", Text: prompt) };
        input.AddRange(request.Images.Select(i => new OmniPart("image", MimeType: i.MediaType, Data: Convert.ToBase64String(i.Content.Span))));

        // One image is the first frame, two are first and last; three or more (or image_mode
        // components) are reference images: scene elements, not frames.
        var references = request.Images.Count > 2 || (request.Options.TryGetValue(ImageModeOption, out var mode)
            && (string.Equals(mode, "components", StringComparison.OrdinalIgnoreCase) || string.Equals(mode, "reference", StringComparison.OrdinalIgnoreCase)));
        var task = request.Images.Count == 0 ? "text_to_video" : references ? "reference_to_video" : "image_to_video";

        // Large clips come as a file (inline answers are reportedly capped near 4 MB, §5); on
        // Vertex a file needs a bucket, so without one the answer stays inline.
        var resolution = request.Size.ToUpperInvariant() switch
        {
            "720P" => "720p",
            "1080P" => "1080p",
            "4K" or "2160P" => "4k",
            _ => throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.InvalidArgument,
                $"Gemini Omni renders 720P, 1080P and 4K, not '{request.Size}'."),
        };
        var large = resolution is "1080p" or "4k";
        string? gcsUri = null;
        var delivery = "inline";
        if (large && !IsVertex(channel))
        {
            delivery = "uri";
        }
        else if (large && VertexVeoProvider.StorageUriFor(channel, request.TaskId) is { } storage)
        {
            (delivery, gcsUri) = ("uri", storage);
        }

        return new OmniCreateRequest(
            request.Model,
            Background: true,
            // Background interactions are kept so they can be polled, and inline videos read again at download.
            Store: true,
            input,
            new OmniGenerationConfig(new OmniVideoConfig(task), request.Seed),
            new OmniResponseFormat("video", request.AspectRatio, resolution,
                request.DurationSeconds.ToString(CultureInfo.InvariantCulture) + "s", delivery, gcsUri));
    }

    private static OmniPart? LastVideo(OmniInteraction interaction) =>
        interaction.Steps?.Where(s => s.Type == "model_output").SelectMany(s => s.Content ?? []).LastOrDefault(p => p.Type == "video");

    /// <summary>The file id of a Files API URI (<c>…/v1beta/files/abc</c>, <c>files/abc</c>), or null for other URIs.</summary>
    internal static string? FileIdOf(string uri)
    {
        var at = uri.IndexOf("files/", StringComparison.Ordinal);
        if (at < 0 || uri.StartsWith("gs://", StringComparison.Ordinal))
        {
            return null;
        }

        var id = uri[(at + "files/".Length)..];
        var end = id.IndexOfAny([':', '?', '/']);
        id = end < 0 ? id : id[..end];
        return id.Length == 0 ? null : id;
    }

    private static PollResult FromInteraction(OmniInteraction interaction, string raw, ChannelSettings channel)
    {
        switch (interaction.Status)
        {
            case "queued":
                return new PollResult(UpstreamState.Queued) { Raw = raw };
            case "in_progress":
                return new PollResult(UpstreamState.Running) { Raw = raw };
            case "completed":
                break;
            case "cancelled":
                return Failed(TaskErrors.Cancelled, "Gemini Omni cancelled the interaction.");
            case "incomplete":
                return Failed(TaskErrors.Incomplete, Reason("Gemini Omni ended the interaction before the video was complete."));
            case "budget_exceeded":
                return Failed(TaskErrors.BudgetExceeded, Reason("Gemini Omni stopped the interaction: it reached its budget."));
            case "requires_action":
                // A tool-call pause: nothing Reelay can answer for a video request.
                return Failed(TaskErrors.RequiresAction, Reason("Gemini Omni paused the interaction for an action (a tool call) that a video request cannot take."));
            case "failed":
                return FailedFromErrors();
            case null when interaction.Error is not null:
                // A rejected background job can answer with an error body and no status: terminal.
                return FailedFromErrors();
            default:
                return new PollResult(UpstreamState.Running) { Raw = raw };
        }

        var video = LastVideo(interaction);
        if (video is not null && !string.IsNullOrEmpty(video.Uri))
        {
            return new PollResult(UpstreamState.Succeeded) { Progress = 100, ResultLocation = video.Uri, Raw = raw };
        }

        if (video is not null && !string.IsNullOrEmpty(video.Data))
        {
            return new PollResult(UpstreamState.Succeeded) { Progress = 100, ResultLocation = InlineResultScheme + "last", Raw = WithoutInlineBytes(raw) };
        }

        // A completed interaction with only text is Omni declining to make the video.
        var text = string.Join(" ", interaction.Steps?.SelectMany(s => s.Content ?? []).Where(p => p.Type == "text").Select(p => p.Text) ?? []).Trim();
        if (interaction.Steps?.Select(s => s.Error).FirstOrDefault(e => e is not null) is { } stepError)
        {
            return new PollResult(UpstreamState.Failed)
            {
                Error = GoogleRpcStatus.ToError(stepError.Code, stepError.Status, stepError.Message, "Gemini Omni reported the step failed.", channel),
                Raw = raw,
            };
        }

        return text.Length > 0
            ? Failed(TaskErrors.ContentPolicy, UpstreamFailures.Redact(UpstreamFailures.Truncate("Gemini Omni answered with text instead of a video: " + text), channel))
            : Failed(TaskErrors.UpstreamResultInvalid, "Gemini Omni completed the interaction without a video.");

        PollResult Failed(string code, string message) => new(UpstreamState.Failed) { Error = new UpstreamError(code, message), Raw = raw };

        string Reason(string fallback) =>
            interaction.Errors?.FirstOrDefault(e => !string.IsNullOrWhiteSpace(e.Message))?.Message is { } message
                ? UpstreamFailures.Redact(UpstreamFailures.Truncate(fallback + " " + message), channel)
                : fallback;

        PollResult FailedFromErrors()
        {
            var status = interaction.Error ?? interaction.Steps?.Select(s => s.Error).FirstOrDefault(e => e is not null);
            var message = status?.Message ?? interaction.Errors?.FirstOrDefault(e => !string.IsNullOrWhiteSpace(e.Message))?.Message;
            return new PollResult(UpstreamState.Failed)
            {
                Error = GoogleRpcStatus.ToError(status?.Code, status?.Status, message, "Gemini Omni reported the interaction failed.", channel),
                Raw = raw,
            };
        }
    }

    /// <summary>The interaction as sent, each inline video's base64 replaced by its length.</summary>
    private static string WithoutInlineBytes(string raw)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(raw);
        foreach (var step in (node?["steps"] as System.Text.Json.Nodes.JsonArray ?? []).OfType<System.Text.Json.Nodes.JsonObject>())
        {
            foreach (var part in (step["content"] as System.Text.Json.Nodes.JsonArray ?? []).OfType<System.Text.Json.Nodes.JsonObject>())
            {
                if (part["type"]?.GetValue<string>() == "video" && part["data"] is { } data)
                {
                    part["data"] = $"<{data.GetValue<string>().Length} base64 characters, read again at download>";
                }
            }
        }

        return node?.ToJsonString() ?? raw;
    }
}
