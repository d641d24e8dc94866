using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;

namespace Reelay.Providers.Http;

/// <summary>
/// The one place that turns a failed upstream call (an exception or a non-success answer) into an
/// <see cref="UpstreamException"/> with the stage failover reads and a stable code.
/// </summary>
internal static class UpstreamFailures
{
    // Upstream messages end up on tasks clients read; a runaway HTML error page must not.
    private const int MaxMessageLength = 500;

    /// <summary>Classifies an exception thrown while sending or reading, when the caller did not cancel.</summary>
    /// <param name="exception">What HttpClient threw.</param>
    /// <param name="requestTimedOut">Whether our own per-request timeout fired (the request may have been sent).</param>
    /// <param name="channel">The channel, whose secret must not leak into the message.</param>
    public static UpstreamException FromException(Exception exception, bool requestTimedOut, ChannelSettings channel)
    {
        if (exception is UpstreamException upstream)
        {
            return upstream;
        }

        if (requestTimedOut)
        {
            return new UpstreamException(UpstreamFailureStage.UnknownAfterSend, TaskErrors.UpstreamTimeout,
                $"The upstream of channel '{channel.Name}' did not answer in time.", inner: exception);
        }

        // SocketsHttpHandler reports its ConnectTimeout as a cancellation wrapping a TimeoutException,
        // and our own timeout is ruled out above, so this one fired before anything was sent.
        if (exception is OperationCanceledException { InnerException: TimeoutException })
        {
            return new UpstreamException(UpstreamFailureStage.ConnectTimeout, TaskErrors.UpstreamConnectTimeout,
                $"Connecting to the upstream of channel '{channel.Name}' timed out.", inner: exception);
        }

        if (exception is HttpRequestException http)
        {
            switch (http.HttpRequestError)
            {
                case HttpRequestError.NameResolutionError:
                case HttpRequestError.ConnectionError:
                case HttpRequestError.SecureConnectionError:
                case HttpRequestError.ProxyTunnelError:
                    return new UpstreamException(UpstreamFailureStage.ConnectFailed, TaskErrors.UpstreamUnreachable,
                        $"Could not connect to the upstream of channel '{channel.Name}': {Redact(http.Message, channel)}", inner: exception);
                case HttpRequestError.Unknown when IsConnectFailure(http):
                    return new UpstreamException(UpstreamFailureStage.ConnectFailed, TaskErrors.UpstreamUnreachable,
                        $"Could not connect to the upstream of channel '{channel.Name}': {Redact(http.Message, channel)}", inner: exception);
            }
        }

        if (exception is JsonException)
        {
            return Malformed(channel, exception);
        }

        // Reset, truncated answer, protocol error: the request went out, the job may exist.
        return new UpstreamException(UpstreamFailureStage.UnknownAfterSend, TaskErrors.UpstreamConnectionLost,
            $"The connection to the upstream of channel '{channel.Name}' failed after the request was sent: {Redact(exception.Message, channel)}",
            inner: exception);
    }

    /// <summary>An answer that claimed success but could not be understood; the job may exist.</summary>
    public static UpstreamException Malformed(ChannelSettings channel, Exception? inner = null, string? detail = null) =>
        new(UpstreamFailureStage.UnknownAfterSend, "upstream_malformed_response",
            $"The upstream of channel '{channel.Name}' sent an answer that could not be read{(detail is null ? "" : ": " + detail)}.",
            inner: inner);

    /// <summary>
    /// The same failure under a provider's own error code as an adapter read it (a content-safety
    /// code in a 400, an arrears code in a 429): message and <c>Retry-After</c> kept.
    /// </summary>
    public static UpstreamException Reclassify(UpstreamException failure, UpstreamFailureStage stage, string code) =>
        failure.Stage == stage && failure.Code == code ? failure : new(stage, code, failure.Message, failure.RetryAfter, failure);

    /// <summary>
    /// Whether a result download was refused because its signed link ran out: object stores (S3, TOS,
    /// OSS) answer 403 "Request has expired", or 410, once the signature's time is past. From the
    /// API's own origin a 403 is a credentials problem unless it says so. A 404 stays "not found".
    /// </summary>
    public static bool IsExpiredLink(HttpStatusCode status, string body, bool apiOrigin) =>
        status is HttpStatusCode.Forbidden or HttpStatusCode.Gone
        && (!apiOrigin || body.Contains("expired", StringComparison.OrdinalIgnoreCase));

    /// <summary>A result whose link expired: final, since asking the same link again cannot help.</summary>
    public static UpstreamException ExpiredLink(ChannelSettings channel, UpstreamException failure) =>
        new(UpstreamFailureStage.Rejected, TaskErrors.Expired,
            $"The result link the upstream of channel '{channel.Name}' gave has expired ({failure.Message}).", inner: failure);

    /// <summary>Classifies a non-success HTTP answer.</summary>
    /// <param name="status">The HTTP status.</param>
    /// <param name="headers">Response headers (for <c>Retry-After</c>).</param>
    /// <param name="body">The body as text, possibly empty.</param>
    /// <param name="channel">The channel, whose secret must not leak into the message.</param>
    /// <param name="now">The current time, to turn an HTTP-date <c>Retry-After</c> into a delay.</param>
    public static UpstreamException FromResponse(HttpStatusCode status, HttpResponseHeaders? headers, string body, ChannelSettings channel, DateTimeOffset now)
    {
        var error = ParseErrorBody(body);
        var code = (int)status;
        var detail = Redact(Truncate(error.Message ?? (string.IsNullOrWhiteSpace(body) ? null : body.Trim()) ?? ReasonOf(status)), channel);
        var where = $"The upstream of channel '{channel.Name}' answered {code}";

        // An account out of quota or credit (OpenAI's insufficient_quota 429, Google's quota
        // RESOURCE_EXHAUSTED, a 402) did not take the job: another account may.
        if (code is 402 or 429 or 403 && IsQuota(error.Code, error.Type, error.Status, error.Message))
        {
            return new UpstreamException(UpstreamFailureStage.RateLimited, TaskErrors.QuotaExceeded, $"{where}: {detail}", RetryAfter(headers, now));
        }

        if (code == 429 || code == 529 || IsOverloaded(error))
        {
            return new UpstreamException(UpstreamFailureStage.RateLimited, TaskErrors.RateLimited, $"{where}: {detail}", RetryAfter(headers, now));
        }

        if (code is 401 or 403)
        {
            return new UpstreamException(UpstreamFailureStage.Unauthorized, TaskErrors.UpstreamAuth, $"{where}: {detail}");
        }

        if (code >= 500)
        {
            return new UpstreamException(UpstreamFailureStage.ServerError, TaskErrors.UpstreamError, $"{where}: {detail}", RetryAfter(headers, now));
        }

        if (IsContentPolicy(error.Code, error.Type, error.Message))
        {
            return new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.ContentPolicy, $"{where}: {detail}");
        }

        // Google's answer for a shut-down model id (google-veo.md, google-omni.md §8): the model is
        // gone from this upstream, not the request wrong; another channel may still serve it.
        if (code == 404 && IsRetiredModel(error.Message ?? body))
        {
            return new UpstreamException(UpstreamFailureStage.ModelRetired, TaskErrors.ModelRetired, $"{where}: {detail}");
        }

        var rejectedCode = code switch
        {
            404 => TaskErrors.NotFound,
            408 => TaskErrors.UpstreamTimeout,
            _ => TaskErrors.InvalidArgument,
        };
        return new UpstreamException(UpstreamFailureStage.Rejected, rejectedCode, $"{where}: {detail}");
    }

    /// <summary>Whether an upstream message says the model was retired ("… is no longer available").</summary>
    public static bool IsRetiredModel(string? message) =>
        message is not null && message.Contains("is no longer available", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether an upstream error says the account's quota, credit or billing is exhausted.</summary>
    public static bool IsQuota(params ReadOnlySpan<string?> texts)
    {
        foreach (var text in texts)
        {
            if (!string.IsNullOrEmpty(text)
                && (text.Contains("quota", StringComparison.OrdinalIgnoreCase)
                    || text.Contains("billing", StringComparison.OrdinalIgnoreCase)
                    || text.Contains("credit", StringComparison.OrdinalIgnoreCase)
                    || text.Contains("insufficient_balance", StringComparison.OrdinalIgnoreCase)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether an upstream code, type or message says the content was refused by a safety system.</summary>
    public static bool IsContentPolicy(params ReadOnlySpan<string?> texts)
    {
        foreach (var text in texts)
        {
            if (string.IsNullOrEmpty(text))
            {
                continue;
            }

            foreach (var marker in ContentPolicyMarkers)
            {
                if (text.Contains(marker, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>Reads <c>Retry-After</c> (delta seconds or HTTP date) or OpenAI's <c>retry-after-ms</c>.</summary>
    public static TimeSpan? RetryAfter(HttpResponseHeaders? headers, DateTimeOffset now)
    {
        if (headers is null)
        {
            return null;
        }

        if (headers.TryGetValues("retry-after-ms", out var milliseconds)
            && double.TryParse(milliseconds.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) && ms >= 0)
        {
            return TimeSpan.FromMilliseconds(ms);
        }

        var retryAfter = headers.RetryAfter;
        if (retryAfter?.Delta is { } delta)
        {
            return delta;
        }

        if (retryAfter?.Date is { } date)
        {
            var wait = date - now;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }

    /// <summary>Reads an error body in any shape the provider docs list.</summary>
    /// <remarks>
    /// <c>{"error":{"message","type","param","code"}}</c> (OpenAI, xAI), <c>{"code":"…","error":"…"}</c> (xAI),
    /// <c>{"error":{"code":400,"message","status":"INVALID_ARGUMENT"}}</c> (Google),
    /// <c>{"code","message"}</c> and <c>{"detail":…}</c> (relays).
    /// </remarks>
    public static UpstreamErrorBody ParseErrorBody(string body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return new UpstreamErrorBody(null, null, null, null);
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return new UpstreamErrorBody(null, null, null, null);
            }

            if (root.TryGetProperty("error", out var error))
            {
                if (error.ValueKind == JsonValueKind.Object)
                {
                    return new UpstreamErrorBody(
                        Text(error, "message"), Text(error, "code"), Text(error, "type"), Text(error, "status"));
                }

                if (error.ValueKind == JsonValueKind.String)
                {
                    return new UpstreamErrorBody(error.GetString(), Text(root, "code"), Text(root, "type"), null);
                }
            }

            var message = Text(root, "message") ?? Text(root, "msg");
            if (message is null && root.TryGetProperty("detail", out var detail))
            {
                message = detail.ValueKind == JsonValueKind.String ? detail.GetString()
                    : detail.ValueKind == JsonValueKind.Object ? Text(detail, "message") : null;
            }

            return new UpstreamErrorBody(message, Text(root, "code"), Text(root, "type"), Text(root, "status"));
        }
        catch (JsonException)
        {
            return new UpstreamErrorBody(null, null, null, null);
        }
    }

    /// <summary>Removes the channel secret from text that may be shown to clients or logged.</summary>
    public static string Redact(string text, ChannelSettings channel) =>
        string.IsNullOrEmpty(channel.ApiKey) ? text : text.Replace(channel.ApiKey, "[redacted]", StringComparison.Ordinal);

    /// <summary>Cuts a long upstream message down to a size fit for a task record.</summary>
    public static string Truncate(string text) =>
        text.Length <= MaxMessageLength ? text : string.Concat(text.AsSpan(0, MaxMessageLength), "…");

    private static readonly string[] ContentPolicyMarkers =
    [
        "content_policy", "content policy", "moderation", "content_filter", "content filter", "safety",
        "responsible ai", "usage guidelines", "unsafe", "sensitive content",
    ];

    private static bool IsOverloaded(UpstreamErrorBody error) =>
        (error.Type?.Contains("overloaded", StringComparison.OrdinalIgnoreCase) ?? false)
        || (error.Code?.Contains("overloaded", StringComparison.OrdinalIgnoreCase) ?? false)
        || string.Equals(error.Status, "RESOURCE_EXHAUSTED", StringComparison.Ordinal);

    private static bool IsConnectFailure(HttpRequestException exception) =>
        exception.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostNotFound
            or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.TryAgain };

    private static string ReasonOf(HttpStatusCode status) =>
        Enum.IsDefined(status) ? status.ToString() : "an error";

    private static string? Text(JsonElement element, string name)
    {
        if (!element.TryGetProperty(name, out var value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number => value.GetRawText(),
            _ => null,
        };
    }
}

/// <summary>The parts of an upstream error body Reelay reads, whatever its shape.</summary>
internal sealed record UpstreamErrorBody(string? Message, string? Code, string? Type, string? Status);
