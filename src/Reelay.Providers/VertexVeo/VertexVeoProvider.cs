using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Reelay.Providers.GoogleCloud;
using Reelay.Providers.Http;
using Reelay.Providers.Veo;

namespace Reelay.Providers.VertexVeo;

/// <summary>
/// Google Veo on Vertex AI, where Veo lives since the Gemini API turned it off (providers/google-omni.md §9):
/// a service-account key signs its own access token; <c>POST …/publishers/google/models/{model}:predictLongRunning</c>
/// on the regional host, poll with <c>:fetchPredictOperation</c>, the video from <c>response.videos[]</c> —
/// inline bytes, or a Cloud Storage object when the channel names a bucket, downloaded with the same token.
/// </summary>
internal sealed partial class VertexVeoProvider(GoogleAccessTokens tokens, ILogger<VertexVeoProvider> logger) : IVideoProvider
{
    /// <summary>Request option choosing how several images are used: <c>frames</c> (default) or <c>components</c>.</summary>
    public const string ImageModeOption = "image_mode";

    /// <summary>Request option setting <c>personGeneration</c> (<c>allow_adult</c>, Vertex's default, or <c>dont_allow</c>).</summary>
    public const string PersonGenerationOption = "person_generation";

    /// <summary>Request option turning the soundtrack off (<c>generate_audio=false</c>); Veo 3.1 makes audio otherwise.</summary>
    public const string GenerateAudioOption = "generate_audio";

    /// <summary>Where a channel that names no location runs: the region Google's samples use.</summary>
    public const string DefaultLocation = "us-central1";

    /// <summary>The result locator of a video that came inline: the bytes are read again from the operation.</summary>
    internal const string InlineResultScheme = "vertex-inline:";

    private static readonly Uri StorageHost = new("https://storage.googleapis.com");

    public string Name => ProviderNames.VertexVeo;

    private static readonly string[] AspectRatios = ["16:9", "9:16"];
    private static readonly int[] Durations = [4, 6, 8];

    // Veo 3.1 on Vertex: 4, 6 or 8 s at 720p, 8 s at 1080p and 4k (the same table as the Gemini API's),
    // 16:9 or 9:16; Google's notebooks poll every ~10 s. Vertex documents no progress and no cancel for
    // predict operations. A model only a channel names is taken as Veo 3.1 in "frames" mode.
    public ProviderCapabilities Capabilities { get; } = new(MaxImages: 3)
    {
        PollInterval = TimeSpan.FromSeconds(10),
        DefaultModel = new(AspectRatios, ["720P", "1080P"], Durations, 4, 8, DefaultDuration: 8, MaxImages: 2)
        {
            DurationsBySize = new Dictionary<string, IReadOnlyList<int>> { ["1080P"] = [8] },
        },
    };

    /// <summary>
    /// Veo bills per second by tier and resolution: no value is mapped. Lite has no 4k; 1080p and 4k
    /// take 8 s only.
    /// </summary>
    public RenderProblem? CheckRender(RenderSpec spec)
    {
        if (!AspectRatios.Contains(spec.AspectRatio, StringComparer.Ordinal))
        {
            return new(RenderField.AspectRatio, string.Join(", ", AspectRatios));
        }

        var lite = spec.UpstreamModel.Contains("lite", StringComparison.OrdinalIgnoreCase);
        var size = spec.Size.ToUpperInvariant();
        if (lite ? size is not ("720P" or "1080P") : size is not ("720P" or "1080P" or "4K"))
        {
            return new(RenderField.Size, lite ? "720P, 1080P" : "720P, 1080P, 4K");
        }

        var durations = size == "720P" ? Durations : [8];
        return durations.Contains(spec.DurationSeconds)
            ? null
            : new(RenderField.Duration, $"{string.Join(", ", durations)} seconds{(size == "720P" ? "" : " at " + size)}");
    }

    public async Task<SubmitResult> SubmitAsync(VideoJobRequest request, ChannelSettings channel, CancellationToken cancellationToken)
    {
        var account = tokens.AccountOf(channel);
        var body = ToPredictRequest(request, channel);
        var location = LocationOf(channel);
        var path = $"/v1/projects/{Uri.EscapeDataString(ProjectOf(channel, account))}/locations/{Uri.EscapeDataString(location)}" +
            $"/publishers/google/models/{Uri.EscapeDataString(request.Model)}:predictLongRunning";
        var url = UpstreamClient.Combine(HostOf(channel, location), path);
        LogSubmitting(logger, channel.Name, request.TaskId, request.Model);

        var reply = await tokens.SendAsync(
            () => new HttpRequestMessage(HttpMethod.Post, url) { Content = JsonContent.Create(body, VertexVeoJsonContext.Default.VertexPredictRequest) },
            account, channel, refine: null, cancellationToken);
        var operation = UpstreamClient.ReadJson(reply.Body, VertexVeoJsonContext.Default.VertexOperation, channel);
        if (string.IsNullOrEmpty(operation?.Name) || !operation.Name.Contains("/operations/", StringComparison.Ordinal))
        {
            throw UpstreamFailures.Malformed(channel, detail: "no operation name");
        }

        LogSubmitted(logger, channel.Name, request.TaskId, operation.Name);
        return new SubmitResult(operation.Name, reply.Body);
    }

    public async Task<PollResult> PollAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken)
    {
        var (operation, raw) = await FetchOperationAsync(job, channel, cancellationToken);
        return FromOperation(operation, raw, channel);
    }

    public async Task<ResultContent> OpenResultAsync(UpstreamJob job, string resultLocation, ChannelSettings channel, CancellationToken cancellationToken)
    {
        var account = tokens.AccountOf(channel);
        if (resultLocation.StartsWith(InlineResultScheme, StringComparison.Ordinal))
        {
            // The operation keeps the bytes: reading them again beats storing megabytes of base64 in the task row.
            var (operation, _) = await FetchOperationAsync(job, channel, cancellationToken);
            var index = int.TryParse(resultLocation.AsSpan(InlineResultScheme.Length), out var i) ? i : 0;
            var video = operation.Response?.Videos?.ElementAtOrDefault(index);
            if (video?.BytesBase64Encoded is not { Length: > 0 } base64)
            {
                throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.UpstreamResultInvalid,
                    $"Vertex AI's operation for channel '{channel.Name}' no longer holds the video inline.");
            }

            byte[] bytes;
            try
            {
                bytes = Convert.FromBase64String(base64);
            }
            catch (FormatException)
            {
                throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.UpstreamResultInvalid,
                    $"Vertex AI's inline video for channel '{channel.Name}' is not valid base64.");
            }

            return new ResultContent(new MemoryStream(bytes, writable: false), video.MimeType ?? "video/mp4", bytes.Length);
        }

        if (!TryParseGcsUri(resultLocation, out var bucket, out var name))
        {
            throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.UpstreamResultInvalid,
                $"Vertex AI gave channel '{channel.Name}' a result location that is not a gs:// object.");
        }

        // The storage JSON API serves the object's bytes with alt=media; the object name is one escaped segment.
        var url = UpstreamClient.Combine(channel.BaseUrl ?? StorageHost,
            $"/storage/v1/b/{Uri.EscapeDataString(bucket)}/o/{Uri.EscapeDataString(name)}?alt=media");
        return await tokens.OpenAsync(url, account, channel, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Submitting task {TaskId} to Vertex Veo channel {Channel} as {Model}")]
    private static partial void LogSubmitting(ILogger logger, string channel, string taskId, string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "Vertex Veo channel {Channel} accepted task {TaskId} as {Operation}")]
    private static partial void LogSubmitted(ILogger logger, string channel, string taskId, string operation);

    private async Task<(VertexOperation Operation, string Raw)> FetchOperationAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken)
    {
        var account = tokens.AccountOf(channel);
        // The operation name is "projects/…/models/{model}/operations/{id}": the model's path is its prefix.
        var cut = job.UpstreamId.IndexOf("/operations/", StringComparison.Ordinal);
        if (cut <= 0)
        {
            throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.UpstreamLost,
                $"'{job.UpstreamId}' is not a Vertex AI operation name.");
        }

        var url = UpstreamClient.Combine(HostOf(channel, LocationOf(channel)), "/v1/" + job.UpstreamId[..cut].TrimStart('/') + ":fetchPredictOperation");
        var body = new VertexFetchOperationRequest(job.UpstreamId);
        var reply = await tokens.SendAsync(
            () => new HttpRequestMessage(HttpMethod.Post, url) { Content = JsonContent.Create(body, VertexVeoJsonContext.Default.VertexFetchOperationRequest) },
            account, channel, refine: null, cancellationToken);
        var operation = UpstreamClient.ReadJson(reply.Body, VertexVeoJsonContext.Default.VertexOperation, channel)
            ?? throw UpstreamFailures.Malformed(channel, detail: "empty operation");
        return (operation, reply.Body);
    }

    /// <summary>The channel's region, checked: it becomes part of a host name.</summary>
    internal static string LocationOf(ChannelSettings channel)
    {
        var location = string.IsNullOrWhiteSpace(channel.Location) ? DefaultLocation : channel.Location.Trim();
        return LocationPattern().IsMatch(location)
            ? location
            : throw new UpstreamException(UpstreamFailureStage.ConnectFailed, TaskErrors.ChannelMisconfigured,
                $"Channel '{channel.Name}' names location '{location}', which is not a Google Cloud region such as us-central1.");
    }

    /// <summary>The channel's project, else the key's own.</summary>
    internal static string ProjectOf(ChannelSettings channel, GoogleServiceAccount account) =>
        !string.IsNullOrWhiteSpace(channel.Project) ? channel.Project.Trim()
        : !string.IsNullOrWhiteSpace(account.ProjectId) ? account.ProjectId
        : throw new UpstreamException(UpstreamFailureStage.ConnectFailed, TaskErrors.ChannelMisconfigured,
            $"Channel '{channel.Name}' names no project and its service-account key has no project_id: set the channel's project.");

    /// <summary>The regional endpoint (<c>https://us-central1-aiplatform.googleapis.com</c>; no prefix for <c>global</c>), or the channel's base URL.</summary>
    internal static Uri HostOf(ChannelSettings channel, string location) =>
        channel.BaseUrl ?? new Uri(location == "global" ? "https://aiplatform.googleapis.com" : $"https://{location}-aiplatform.googleapis.com");

    /// <summary>Splits <c>gs://bucket/object/name</c>.</summary>
    internal static bool TryParseGcsUri(string uri, out string bucket, out string name)
    {
        bucket = name = "";
        if (!uri.StartsWith("gs://", StringComparison.Ordinal))
        {
            return false;
        }

        var rest = uri["gs://".Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == rest.Length - 1)
        {
            return false;
        }

        (bucket, name) = (rest[..slash], rest[(slash + 1)..]);
        return true;
    }

    /// <summary>Where a job's results go: under the channel's bucket (and prefix), one folder per task.</summary>
    internal static string? StorageUriFor(ChannelSettings channel, string taskId)
    {
        if (string.IsNullOrWhiteSpace(channel.Bucket))
        {
            return null;
        }

        var root = channel.Bucket.Trim();
        root = root.StartsWith("gs://", StringComparison.Ordinal) ? root : "gs://" + root;
        // Task ids carry a model prefix and a colon ("veo3.1:…"); object names are safer without.
        var folder = string.Concat(taskId.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-'));
        return root.TrimEnd('/') + "/" + folder + "/";
    }

    private static VertexPredictRequest ToPredictRequest(VideoJobRequest request, ChannelSettings channel)
    {
        var roles = VeoImageRoles<VertexImage>.Of(request, ToImage);
        // Vertex AI spells the reference type in lower case.
        var references = roles.References?.Select(image => new VertexReferenceImage(image, "asset")).ToList();

        var audio = !(request.Options.TryGetValue(GenerateAudioOption, out var generateAudio)
            && string.Equals(generateAudio.Trim(), "false", StringComparison.OrdinalIgnoreCase));
        var parameters = new VertexVeoParameters(
            AspectRatio: request.AspectRatio,
            Resolution: ToResolution(request.Size),
            DurationSeconds: request.DurationSeconds,
            // One video per task: Reelay stores one result.
            SampleCount: 1,
            GenerateAudio: audio,
            // Vertex takes a seed (the Gemini API does not).
            Seed: request.Seed,
            NegativePrompt: string.IsNullOrWhiteSpace(request.NegativePrompt) ? null : request.NegativePrompt,
            // Left out, Vertex applies its default (allow_adult).
            PersonGeneration: request.Options.GetValueOrDefault(PersonGenerationOption),
            StorageUri: StorageUriFor(channel, request.TaskId));
        return new VertexPredictRequest([new VertexVeoInstance(request.Prompt, roles.First, roles.Last, references)], parameters);
    }

    private static VertexImage ToImage(ReferenceImage image) =>
        new(Convert.ToBase64String(image.Content.Span), image.MediaType);

    private static string ToResolution(string size) => size.ToUpperInvariant() switch
    {
        "720P" => "720p",
        "1080P" => "1080p",
        "4K" or "2160P" => "4k",
        _ => throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.InvalidArgument,
            $"Veo supports sizes 720P, 1080P and 4K, not '{size}'."),
    };

    private static PollResult FromOperation(VertexOperation operation, string raw, ChannelSettings channel)
    {
        if (operation.Done != true)
        {
            return new PollResult(UpstreamState.Running) { Raw = raw };
        }

        if (operation.Error is { } error)
        {
            return new PollResult(UpstreamState.Failed)
            {
                Error = GoogleRpcStatus.ToError(error.Code, error.Status, error.Message, "Vertex AI reported the operation failed.", channel),
                Raw = raw,
            };
        }

        var videos = operation.Response?.Videos ?? [];
        for (var i = 0; i < videos.Count; i++)
        {
            if (!string.IsNullOrEmpty(videos[i].GcsUri))
            {
                return new PollResult(UpstreamState.Succeeded) { Progress = 100, ResultLocation = videos[i].GcsUri, Raw = raw };
            }

            if (!string.IsNullOrEmpty(videos[i].BytesBase64Encoded))
            {
                // The raw answer would carry the whole video as base64: it is kept without it.
                return new PollResult(UpstreamState.Succeeded)
                {
                    Progress = 100,
                    ResultLocation = InlineResultScheme + i.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    Raw = WithoutInlineBytes(raw),
                };
            }
        }

        var response = operation.Response;
        if (response?.RaiMediaFilteredCount > 0 || response?.RaiMediaFilteredReasons is { Count: > 0 })
        {
            var reasons = response.RaiMediaFilteredReasons is { Count: > 0 } list ? ": " + string.Join(" ", list) : ".";
            return new PollResult(UpstreamState.Failed)
            {
                Error = new UpstreamError(TaskErrors.ContentPolicy, UpstreamFailures.Truncate("Veo's safety filters blocked the video" + reasons)),
                Raw = raw,
            };
        }

        return new PollResult(UpstreamState.Failed)
        {
            Error = new UpstreamError(TaskErrors.UpstreamResultInvalid, "Vertex AI finished the Veo operation without a video."),
            Raw = raw,
        };
    }

    /// <summary>The operation as Google sent it, each inline video's base64 replaced by its length.</summary>
    internal static string WithoutInlineBytes(string raw)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(raw);
        if (node?["response"]?["videos"] is System.Text.Json.Nodes.JsonArray videos)
        {
            foreach (var video in videos.OfType<System.Text.Json.Nodes.JsonObject>())
            {
                if (video["bytesBase64Encoded"] is { } bytes)
                {
                    video["bytesBase64Encoded"] = $"<{bytes.GetValue<string>().Length} base64 characters, read again at download>";
                }
            }
        }

        return node?.ToJsonString() ?? raw;
    }

    [GeneratedRegex("^[a-z][a-z0-9-]{0,62}$")]
    private static partial Regex LocationPattern();
}
