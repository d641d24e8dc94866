using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Reelay.Providers.Http;

namespace Reelay.Providers.Replicate;

/// <summary>
/// Replicate's predictions: <c>POST /v1/models/{owner}/{name}/predictions</c> for an official model
/// (or <c>POST /v1/predictions</c> with a version), poll <c>GET /v1/predictions/{id}</c>, cancel with
/// <c>POST /v1/predictions/{id}/cancel</c>. Outputs are deleted an hour after the prediction ends.
/// </summary>
internal sealed partial class ReplicateProvider(UpstreamClient upstream, TimeProvider time, ILogger<ReplicateProvider> logger) : IVideoProvider
{
    private static readonly UpstreamApi Api = new(new Uri("https://api.replicate.com"), UpstreamAuth.Bearer);

    // Replicate's guide: refuse timestamps more than five minutes off, so a captured webhook cannot be replayed later.
    private static readonly TimeSpan SignatureWindow = TimeSpan.FromMinutes(5);

    // The account's signing secret, read once per account; read again (at most once a minute) when
    // a signature fails, in case it was rotated.
    private static readonly TimeSpan SecretRefresh = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, (byte[] Key, DateTimeOffset Fetched)> _secrets = new(StringComparer.Ordinal);

    /// <summary>Catalog option naming the input field of the first image (default <c>image</c>; Kling on Replicate: <c>start_image</c>).</summary>
    public const string ImageFieldOption = "image_field";

    /// <summary>Catalog option naming the input field of the second image (default <c>end_image</c>).</summary>
    public const string EndImageFieldOption = "end_image_field";

    public string Name => ProviderNames.Replicate;

    // One platform for many models with their own schemas: a model only a channel names gets
    // what most video models there take. Replicate signs its webhooks (HMAC-SHA256 with the
    // account's whsec_ secret); POST …/cancel stops a prediction.
    public ProviderCapabilities Capabilities { get; } = new(MaxImages: 2, SupportsCancel: true)
    {
        AcceptsCallbacks = true,
        DefaultModel = new(["16:9", "9:16", "1:1"], ["720P", "1080P"], [5, 10], 5, 10, DefaultDuration: 5, MaxImages: 1),
    };

    // CheckRender keeps the default: each model's schema decides, and a value it lacks is a 422.
    public async Task<SubmitResult> SubmitAsync(VideoJobRequest request, ChannelSettings channel, CancellationToken cancellationToken)
    {
        var (path, version) = ToCreatePath(request.Model);
        var body = new ReplicateCreateRequest(
            version,
            ToInput(request),
            request.CallbackUrl?.AbsoluteUri,
            // Only the end matters: the poll it triggers reads everything else.
            request.CallbackUrl is null ? null : ["completed"]);
        using var message = Api.Request(HttpMethod.Post, channel, path, JsonContent.Create(body, ReplicateJsonContext.Default.ReplicateCreateRequest));
        LogSubmitting(logger, channel.Name, request.TaskId, request.Model);

        var reply = await upstream.SendAsync(message, channel, Refine, cancellationToken);
        var prediction = UpstreamClient.ReadJson(reply.Body, ReplicateJsonContext.Default.ReplicatePrediction, channel);
        if (string.IsNullOrEmpty(prediction?.Id))
        {
            throw UpstreamFailures.Malformed(channel, detail: "no prediction id");
        }

        LogSubmitted(logger, channel.Name, request.TaskId, prediction.Id);
        return new SubmitResult(prediction.Id, reply.Body);
    }

    public async Task<PollResult> PollAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken)
    {
        using var message = Api.Request(HttpMethod.Get, channel, "/v1/predictions/" + Uri.EscapeDataString(job.UpstreamId));
        var reply = await upstream.SendAsync(message, channel, Refine, cancellationToken);
        var prediction = UpstreamClient.ReadJson(reply.Body, ReplicateJsonContext.Default.ReplicatePrediction, channel)
            ?? throw UpstreamFailures.Malformed(channel, detail: "empty prediction");
        return FromPrediction(prediction, reply.Body, channel);
    }

    public Task<ResultContent> OpenResultAsync(UpstreamJob job, string resultLocation, ChannelSettings channel, CancellationToken cancellationToken) =>
        // Files are served from replicate.delivery: the token only goes to the API origin.
        upstream.OpenAsync(new Uri(resultLocation, UriKind.Absolute), Api.BaseUrl(channel), m => Api.Authorize(m, channel), channel, cancellationToken);

    public async Task CancelAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken)
    {
        using var message = Api.Request(HttpMethod.Post, channel, $"/v1/predictions/{Uri.EscapeDataString(job.UpstreamId)}/cancel");
        await upstream.SendAsync(message, channel, Refine, cancellationToken);
    }

    /// <summary>
    /// Replicate signs webhooks: HMAC-SHA256 over <c>webhook-id.webhook-timestamp.body</c> with the
    /// account's <c>whsec_</c> secret (from <c>GET /v1/webhooks/default/secret</c>), base64, possibly
    /// several space-separated <c>v1,…</c> entries. Only <c>completed</c> events are asked for, so a
    /// genuine one is worth a poll.
    /// </summary>
    public async ValueTask<CallbackVerdict> ReadCallbackAsync(UpstreamCallback callback, ChannelSettings channel, CancellationToken cancellationToken)
    {
        var id = callback.Header("webhook-id");
        var timestamp = callback.Header("webhook-timestamp");
        var signatures = callback.Header("webhook-signature");
        if (id is null || signatures is null
            || !long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || TimeSpan.FromSeconds(Math.Abs(callback.ReceivedAt.ToUnixTimeSeconds() - seconds)) > SignatureWindow)
        {
            return CallbackVerdict.Forged;
        }

        var signed = new byte[Encoding.UTF8.GetByteCount(id) + timestamp!.Length + 2 + callback.Body.Length];
        var written = Encoding.UTF8.GetBytes($"{id}.{timestamp}.", signed);
        callback.Body.Span.CopyTo(signed.AsSpan(written));
        var cacheKey = $"{channel.BaseUrl}|{channel.ApiKey}";
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var key = await SecretAsync(cacheKey, channel, refresh: attempt > 0, cancellationToken);
            if (key is null)
            {
                break;
            }

            var expected = HMACSHA256.HashData(key, signed);
            var given = new byte[expected.Length];
            foreach (var entry in signatures.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (entry.StartsWith("v1,", StringComparison.Ordinal)
                    && Convert.TryFromBase64String(entry[3..], given, out var length) && length == given.Length
                    && CryptographicOperations.FixedTimeEquals(expected, given))
                {
                    return CallbackVerdict.PollNow;
                }
            }
        }

        return CallbackVerdict.Forged;
    }

    /// <summary>The decoded signing secret; null when a refresh is asked for too soon after the last read.</summary>
    private async Task<byte[]?> SecretAsync(string cacheKey, ChannelSettings channel, bool refresh, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_secrets.TryGetValue(cacheKey, out var cached) && (!refresh || now - cached.Fetched < SecretRefresh))
        {
            return refresh ? null : cached.Key;
        }

        using var message = Api.Request(HttpMethod.Get, channel, "/v1/webhooks/default/secret");
        var reply = await upstream.SendAsync(message, channel, cancellationToken);
        var secret = UpstreamClient.ReadJson(reply.Body, ReplicateJsonContext.Default.ReplicateWebhookSecret, channel)?.Key;
        if (secret is null || !secret.StartsWith("whsec_", StringComparison.Ordinal))
        {
            throw UpstreamFailures.Malformed(channel, detail: "no whsec_ webhook secret");
        }

        var key = Convert.FromBase64String(secret["whsec_".Length..]);
        _secrets[cacheKey] = (key, now);
        return key;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Submitting task {TaskId} to Replicate channel {Channel} as {Model}")]
    private static partial void LogSubmitting(ILogger logger, string channel, string taskId, string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replicate channel {Channel} accepted task {TaskId} as {UpstreamId}")]
    private static partial void LogSubmitted(ILogger logger, string channel, string taskId, string upstreamId);

    /// <summary>
    /// <c>owner/name</c> (an official model) → its own predictions route; <c>owner/name:version</c> or a
    /// bare 64-hex version id → <c>/v1/predictions</c> with <c>version</c>.
    /// </summary>
    private static (string Path, string? Version) ToCreatePath(string model)
    {
        var colon = model.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0)
        {
            return ("/v1/predictions", model[(colon + 1)..]);
        }

        var slash = model.IndexOf('/', StringComparison.Ordinal);
        return slash > 0
            ? ($"/v1/models/{Uri.EscapeDataString(model[..slash])}/{Uri.EscapeDataString(model[(slash + 1)..])}/predictions", null)
            : ("/v1/predictions", model);
    }

    /// <summary>The input fields most video models on Replicate share; options rename the image fields.</summary>
    private static JsonObject ToInput(VideoJobRequest request)
    {
        var input = new JsonObject
        {
            ["prompt"] = request.Prompt,
            ["aspect_ratio"] = request.AspectRatio,
            ["duration"] = request.DurationSeconds,
        };
        if (!string.IsNullOrWhiteSpace(request.NegativePrompt))
        {
            input["negative_prompt"] = request.NegativePrompt;
        }

        if (request.Seed is { } seed)
        {
            input["seed"] = seed;
        }

        // Replicate takes data URIs for file inputs; a client's own URL is passed as it is.
        if (request.Images.Count > 0)
        {
            input[request.Options.GetValueOrDefault(ImageFieldOption, "image")] = request.Images[0].SourceUrl ?? request.Images[0].ToDataUri();
        }

        if (request.Images.Count > 1)
        {
            input[request.Options.GetValueOrDefault(EndImageFieldOption, "end_image")] = request.Images[1].SourceUrl ?? request.Images[1].ToDataUri();
        }

        return input;
    }

    private static PollResult FromPrediction(ReplicatePrediction prediction, string raw, ChannelSettings channel)
    {
        switch (prediction.Status)
        {
            case "starting":
                return new PollResult(UpstreamState.Queued) { Raw = raw };
            case "processing":
                return new PollResult(UpstreamState.Running) { Raw = raw };
            case "succeeded" when prediction.DataRemoved == true:
                return Failed(TaskErrors.Expired, "Replicate already deleted the output (outputs last one hour).", raw, prediction);
            case "succeeded" when OutputUrl(prediction.Output) is { } url:
                return new PollResult(UpstreamState.Succeeded) { Progress = 100, ResultLocation = url, FinishedAt = FinishedAt(prediction), Raw = raw };
            case "succeeded":
                return Failed(TaskErrors.UpstreamResultInvalid, "Replicate's prediction succeeded without an output URL.", raw, prediction);
            case "failed":
                var error = prediction.Error is { ValueKind: JsonValueKind.String } text ? text.GetString() : null;
                var message = UpstreamFailures.Redact(UpstreamFailures.Truncate(error ?? "Replicate reported the prediction failed."), channel);
                return Failed(IsRefusal(error) ? TaskErrors.ContentPolicy : TaskErrors.UpstreamError, message, raw, prediction);
            case "canceled":
                return Failed(TaskErrors.Cancelled, "Replicate cancelled the prediction.", raw, prediction);
            case "aborted":
                // Its deadline passed before it started (not billed for public models).
                return Failed(TaskErrors.Timeout, "Replicate aborted the prediction: its deadline passed before it started.", raw, prediction);
            default:
                throw UpstreamFailures.Malformed(channel, detail: $"unknown status '{prediction.Status}'");
        }
    }

    private static PollResult Failed(string code, string message, string raw, ReplicatePrediction prediction) =>
        new(UpstreamState.Failed) { Error = new UpstreamError(code, message), FinishedAt = FinishedAt(prediction), Raw = raw };

    /// <summary><c>completed_at</c> (ISO 8601, UTC) once the prediction ended; unreadable is the same as absent.</summary>
    private static DateTimeOffset? FinishedAt(ReplicatePrediction prediction) =>
        DateTimeOffset.TryParse(prediction.CompletedAt, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;

    /// <summary>Video models answer one URL, a list of URLs, or an object with <c>video</c>/<c>url</c>.</summary>
    private static string? OutputUrl(JsonElement? output) => output switch
    {
        { ValueKind: JsonValueKind.String } text => text.GetString(),
        { ValueKind: JsonValueKind.Array } list => list.EnumerateArray().Select(e => OutputUrl(e)).FirstOrDefault(u => u is not null),
        { ValueKind: JsonValueKind.Object } obj => (obj.TryGetProperty("video", out var video) ? OutputUrl(video) : null)
            ?? (obj.TryGetProperty("url", out var url) ? OutputUrl(url) : null),
        _ => null,
    };

    // Replicate's safety checkers fail predictions with "NSFW content detected" or a "flagged" input.
    private static bool IsRefusal(string? message) =>
        UpstreamFailures.IsContentPolicy(message)
        || (message?.Contains("nsfw", StringComparison.OrdinalIgnoreCase) ?? false)
        || (message?.Contains("flagged", StringComparison.OrdinalIgnoreCase) ?? false);

    private static UpstreamException Refine(UpstreamException failure, string raw) =>
        failure.Stage == UpstreamFailureStage.Rejected && IsRefusal(UpstreamFailures.ParseErrorBody(raw).Message)
            ? UpstreamFailures.Reclassify(failure, UpstreamFailureStage.Rejected, TaskErrors.ContentPolicy)
            : failure;
}
