using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Reelay.Providers.Http;

namespace Reelay.Providers.Fal;

/// <summary>
/// fal.ai's queue: <c>POST https://queue.fal.run/{model_id}</c> with the model's input as the body,
/// status at <c>GET /{owner}/{app}/requests/{id}/status</c>, the output at
/// <c>GET /{owner}/{app}/requests/{id}</c>, cancel with <c>PUT …/cancel</c>. Auth is <c>Key &lt;FAL_KEY&gt;</c>.
/// </summary>
internal sealed partial class FalProvider(UpstreamClient upstream, TimeProvider time, ILogger<FalProvider> logger) : IVideoProvider
{
    private static readonly UpstreamApi Api = new(new Uri("https://queue.fal.run"), UpstreamAuth.Key);

    // fal's public webhook keys; fal's docs suggest caching them for about a day.
    private static readonly Uri PublicJwks = new("https://rest.alpha.fal.ai/.well-known/jwks.json");
    private static readonly TimeSpan JwksLifetime = TimeSpan.FromHours(24);

    // Replays outside five minutes of the signed timestamp are refused (fal's verification guide).
    private static readonly TimeSpan SignatureWindow = TimeSpan.FromMinutes(5);
    private readonly ConcurrentDictionary<Uri, (IReadOnlyList<byte[]> Keys, DateTimeOffset Until)> _jwks = new();

    /// <summary>Catalog option naming the input field of the first image (default <c>image_url</c>; some models use <c>start_image_url</c>).</summary>
    public const string ImageFieldOption = "image_field";

    /// <summary>Catalog option naming the input field of the second image (default <c>end_image_url</c>; Kling: <c>tail_image_url</c>).</summary>
    public const string EndImageFieldOption = "end_image_field";

    /// <summary>Catalog option appended to the duration (<c>s</c>: Veo on fal takes <c>"8s"</c>; Kling takes <c>"5"</c>).</summary>
    public const string DurationUnitOption = "duration_unit";

    public string Name => ProviderNames.Fal;

    // One platform for many models, each with its own input schema: a model only a channel names
    // gets what most of fal's video models take. fal calls ?fal_webhook= when a request finishes
    // (signed, ED25519); PUT …/cancel removes a queued request and signals a running one.
    public ProviderCapabilities Capabilities { get; } = new(MaxImages: 2, SupportsCancel: true)
    {
        AcceptsCallbacks = true,
        DefaultModel = new(["16:9", "9:16", "1:1"], ["720P", "1080P"], [5, 10], 5, 10, DefaultDuration: 5, MaxImages: 1),
    };

    // CheckRender keeps the default: each model's schema on fal decides what it renders, and a value
    // it lacks comes back as a 422, final, naming the field.
    public async Task<SubmitResult> SubmitAsync(VideoJobRequest request, ChannelSettings channel, CancellationToken cancellationToken)
    {
        var path = "/" + request.Model.Trim('/');
        if (request.CallbackUrl is { } callback)
        {
            path += "?fal_webhook=" + Uri.EscapeDataString(callback.AbsoluteUri);
        }

        using var message = Api.Request(HttpMethod.Post, channel, path,
            new StringContent(ToInput(request).ToJsonString(), Encoding.UTF8, "application/json"));
        LogSubmitting(logger, channel.Name, request.TaskId, request.Model);

        var reply = await upstream.SendAsync(message, channel, Refine, cancellationToken);
        var queued = UpstreamClient.ReadJson(reply.Body, FalJsonContext.Default.FalQueued, channel);
        if (string.IsNullOrEmpty(queued?.RequestId))
        {
            throw UpstreamFailures.Malformed(channel, detail: "no request_id");
        }

        // Status, result and cancel live under owner/app only (the endpoint path is dropped): keep the
        // path of the response_url fal gave, so nothing is rebuilt by guessing.
        var id = queued.ResponseUrl is { } url && Uri.TryCreate(url, UriKind.Absolute, out var response)
            ? response.AbsolutePath.Trim('/')
            : $"{OwnerApp(request.Model)}/requests/{queued.RequestId}";
        LogSubmitted(logger, channel.Name, request.TaskId, id);
        return new SubmitResult(id, reply.Body);
    }

    public async Task<PollResult> PollAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken)
    {
        using var message = Api.Request(HttpMethod.Get, channel, $"/{job.UpstreamId}/status");
        var reply = await upstream.SendAsync(message, channel, Refine, cancellationToken);
        var status = UpstreamClient.ReadJson(reply.Body, FalJsonContext.Default.FalStatus, channel)
            ?? throw UpstreamFailures.Malformed(channel, detail: "empty status");
        switch (status.Status)
        {
            case "IN_QUEUE":
                return new PollResult(UpstreamState.Queued) { Raw = reply.Body };
            case "IN_PROGRESS":
                return new PollResult(UpstreamState.Running) { Raw = reply.Body };
            case "COMPLETED":
                // A failed run is COMPLETED too: its result call answers the error.
                return await ReadResultAsync(job, channel, cancellationToken);
            default:
                throw UpstreamFailures.Malformed(channel, detail: $"unknown status '{status.Status}'");
        }
    }

    public Task<ResultContent> OpenResultAsync(UpstreamJob job, string resultLocation, ChannelSettings channel, CancellationToken cancellationToken) =>
        // Outputs sit on fal's CDN (v3.fal.media): the key only goes to the queue origin.
        upstream.OpenAsync(new Uri(resultLocation, UriKind.Absolute), Api.BaseUrl(channel), m => Api.Authorize(m, channel), channel, cancellationToken);

    /// <summary>Asks fal to cancel: a queued request is removed, a running one is signalled (the model app decides).</summary>
    public async Task CancelAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken)
    {
        using var message = Api.Request(HttpMethod.Put, channel, $"/{job.UpstreamId}/cancel");
        await upstream.SendAsync(message, channel, Refine, cancellationToken);
    }

    /// <summary>
    /// fal signs each webhook with ED25519 over <c>request_id \n user_id \n timestamp \n hex(sha256(body))</c>;
    /// a signature that no key of fal's set verifies, or a timestamp more than five minutes off, is
    /// forged or replayed. fal only calls when a request ends, so a genuine one is worth a poll.
    /// </summary>
    public async ValueTask<CallbackVerdict> ReadCallbackAsync(UpstreamCallback callback, ChannelSettings channel, CancellationToken cancellationToken)
    {
        var requestId = callback.Header("X-Fal-Webhook-Request-Id");
        var userId = callback.Header("X-Fal-Webhook-User-Id");
        var timestamp = callback.Header("X-Fal-Webhook-Timestamp");
        var signatureHex = callback.Header("X-Fal-Webhook-Signature");
        if (requestId is null || userId is null || signatureHex is null
            || !long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || TimeSpan.FromSeconds(Math.Abs(callback.ReceivedAt.ToUnixTimeSeconds() - seconds)) > SignatureWindow)
        {
            return CallbackVerdict.Forged;
        }

        byte[] signature;
        try
        {
            signature = Convert.FromHexString(signatureHex);
        }
        catch (FormatException)
        {
            return CallbackVerdict.Forged;
        }

        var message = Encoding.UTF8.GetBytes($"{requestId}\n{userId}\n{timestamp}\n{Convert.ToHexStringLower(SHA256.HashData(callback.Body.Span))}");
        foreach (var key in await KeysAsync(channel, cancellationToken))
        {
            var verifier = new Ed25519Signer();
            verifier.Init(false, new Ed25519PublicKeyParameters(key, 0));
            verifier.BlockUpdate(message, 0, message.Length);
            if (verifier.VerifySignature(signature))
            {
                return CallbackVerdict.PollNow;
            }
        }

        return CallbackVerdict.Forged;
    }

    /// <summary>
    /// fal's key set, cached for a day. A channel whose base URL is not fal's own queue (a proxy in
    /// front of fal, or a test double) serves the key set at its own <c>/.well-known/jwks.json</c>.
    /// </summary>
    private async Task<IReadOnlyList<byte[]>> KeysAsync(ChannelSettings channel, CancellationToken cancellationToken)
    {
        var url = channel.BaseUrl is { } baseUrl && !baseUrl.Host.Equals("queue.fal.run", StringComparison.OrdinalIgnoreCase)
            ? UpstreamClient.Combine(baseUrl, "/.well-known/jwks.json")
            : PublicJwks;
        var now = time.GetUtcNow();
        if (_jwks.TryGetValue(url, out var cached) && now < cached.Until)
        {
            return cached.Keys;
        }

        using var message = new HttpRequestMessage(HttpMethod.Get, url);
        var reply = await upstream.SendAsync(message, channel, cancellationToken);
        var keys = UpstreamClient.ReadJson(reply.Body, FalJsonContext.Default.FalJwks, channel)?.Keys ?? [];
        var parsed = keys
            .Where(k => k.Kty == "OKP" && k.Crv == "Ed25519" && !string.IsNullOrEmpty(k.X))
            .Select(k => System.Buffers.Text.Base64Url.DecodeFromChars(k.X))
            .Where(k => k.Length == Ed25519PublicKeyParameters.KeySize)
            .ToList();
        _jwks[url] = (parsed, now + JwksLifetime);
        return parsed;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Submitting task {TaskId} to fal channel {Channel} as {Model}")]
    private static partial void LogSubmitting(ILogger logger, string channel, string taskId, string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "fal channel {Channel} accepted task {TaskId} as {UpstreamId}")]
    private static partial void LogSubmitted(ILogger logger, string channel, string taskId, string upstreamId);

    private async Task<PollResult> ReadResultAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken)
    {
        using var message = Api.Request(HttpMethod.Get, channel, "/" + job.UpstreamId);
        UpstreamReply reply;
        try
        {
            reply = await upstream.SendAsync(message, channel, Refine, cancellationToken);
        }
        catch (UpstreamException e) when (e.Stage is UpstreamFailureStage.Rejected or UpstreamFailureStage.ServerError && e.Code != TaskErrors.NotFound)
        {
            // The run itself failed (422 validation, a model error, runner_disconnected after fal's own retries).
            return new PollResult(UpstreamState.Failed)
            {
                Error = new UpstreamError(e.Code == TaskErrors.ContentPolicy ? TaskErrors.ContentPolicy : e.Stage == UpstreamFailureStage.Rejected ? TaskErrors.InvalidArgument : TaskErrors.UpstreamError, e.Message),
            };
        }

        var output = UpstreamClient.ReadJson(reply.Body, FalJsonContext.Default.FalOutput, channel);
        var url = output?.Video?.Url ?? output?.Videos?.FirstOrDefault(v => !string.IsNullOrEmpty(v.Url))?.Url;
        return string.IsNullOrEmpty(url)
            ? new PollResult(UpstreamState.Failed) { Error = new UpstreamError(TaskErrors.UpstreamResultInvalid, "fal completed the request without a video in its output."), Raw = reply.Body }
            : new PollResult(UpstreamState.Succeeded) { Progress = 100, ResultLocation = url, Raw = reply.Body };
    }

    /// <summary><c>fal-ai/kling-video/v2.1/master/text-to-video</c> → <c>fal-ai/kling-video</c>.</summary>
    private static string OwnerApp(string model)
    {
        var parts = model.Trim('/').Split('/');
        return parts.Length >= 2 ? parts[0] + "/" + parts[1] : model;
    }

    /// <summary>
    /// The fields most of fal's video models share (prompt, negative_prompt, aspect_ratio, resolution,
    /// duration as a string of seconds, seed, image URLs); a catalog entry's options rename the image
    /// fields or add a unit for models whose schema differs.
    /// </summary>
    private static JsonObject ToInput(VideoJobRequest request)
    {
        var input = new JsonObject
        {
            ["prompt"] = request.Prompt,
            ["aspect_ratio"] = request.AspectRatio,
            ["resolution"] = request.Size.ToLowerInvariant(),
            ["duration"] = request.DurationSeconds.ToString(CultureInfo.InvariantCulture) + request.Options.GetValueOrDefault(DurationUnitOption, ""),
        };
        if (!string.IsNullOrWhiteSpace(request.NegativePrompt))
        {
            input["negative_prompt"] = request.NegativePrompt;
        }

        if (request.Seed is { } seed)
        {
            input["seed"] = seed;
        }

        // fal takes data URIs wherever a file URL goes; a client's own URL is passed as it is.
        if (request.Images.Count > 0)
        {
            input[request.Options.GetValueOrDefault(ImageFieldOption, "image_url")] = request.Images[0].SourceUrl ?? request.Images[0].ToDataUri();
        }

        if (request.Images.Count > 1)
        {
            input[request.Options.GetValueOrDefault(EndImageFieldOption, "end_image_url")] = request.Images[1].SourceUrl ?? request.Images[1].ToDataUri();
        }

        return input;
    }

    /// <summary>fal's validation errors are a <c>detail</c> list; a refused prompt carries <c>content_policy_violation</c> in it.</summary>
    private static UpstreamException Refine(UpstreamException failure, string raw) =>
        failure.Stage == UpstreamFailureStage.Rejected && UpstreamFailures.IsContentPolicy(raw)
            ? UpstreamFailures.Reclassify(failure, UpstreamFailureStage.Rejected, TaskErrors.ContentPolicy)
            : failure;
}
