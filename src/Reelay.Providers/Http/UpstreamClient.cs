using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Options;

namespace Reelay.Providers.Http;

/// <summary>Timeouts for calls to upstream providers.</summary>
public sealed class UpstreamHttpOptions
{
    /// <summary>
    /// Longest wait for one upstream call: until the whole answer is read for JSON calls, until the
    /// headers arrive for result downloads (the body then streams at the reader's pace). Default 60 s.
    /// </summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Longest wait for a TCP/TLS connection; nothing has been sent when it fires. Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>An upstream's successful answer, read in full.</summary>
/// <param name="Status">2xx status (xAI uses 202 for "still running").</param>
/// <param name="Body">The body as text, empty when there was none.</param>
internal sealed record UpstreamReply(HttpStatusCode Status, string Body);

/// <summary>
/// Sends adapter requests through the named <c>reelay-upstream</c> client with a per-request timeout and
/// turns every failure into a classified <see cref="UpstreamException"/>. No retries: the engine decides.
/// </summary>
internal sealed class UpstreamClient(IHttpClientFactory httpClientFactory, IOptions<UpstreamHttpOptions> options, TimeProvider timeProvider)
{
    /// <summary>Name of the <see cref="HttpClient"/> every adapter uses.</summary>
    public const string HttpClientName = "reelay-upstream";

    // Redirects are followed by hand so the secret only travels to the channel's own origin.
    private const int MaxRedirects = 5;

    /// <summary>Sends a request and reads the answer; any non-2xx answer throws, classified.</summary>
    public Task<UpstreamReply> SendAsync(HttpRequestMessage request, ChannelSettings channel, CancellationToken cancellationToken) =>
        SendAsync(request, channel, refine: null, cancellationToken);

    /// <summary>
    /// Sends a request and reads the answer; a non-2xx answer throws, classified, after
    /// <paramref name="refine"/> has read the provider's own error code in the body (Kling's numeric
    /// codes, Ark's <c>InputTextSensitiveContentDetected</c>, MiniMax's <c>base_resp</c>) and may have
    /// sharpened the classification. It gets the generic classification and the raw body.
    /// </summary>
    public async Task<UpstreamReply> SendAsync(HttpRequestMessage request, ChannelSettings channel,
        Func<UpstreamException, string, UpstreamException>? refine, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.RequestTimeout);
        var client = httpClientFactory.CreateClient(HttpClientName);
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token);
            var body = await response.Content.ReadAsStringAsync(timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                var failure = UpstreamFailures.FromResponse(response.StatusCode, response.Headers, body, channel, timeProvider.GetUtcNow());
                throw refine is null ? failure : refine(failure, body);
            }

            return new UpstreamReply(response.StatusCode, body);
        }
        catch (Exception exception) when (exception is not UpstreamException && !cancellationToken.IsCancellationRequested)
        {
            throw UpstreamFailures.FromException(exception, timeout.IsCancellationRequested, channel);
        }
    }

    /// <summary>
    /// Opens a result for streaming, following redirects. <paramref name="authorize"/> adds the secret,
    /// and is applied only while the URL stays on <paramref name="authOrigin"/>'s origin.
    /// </summary>
    public async Task<ResultContent> OpenAsync(Uri location, Uri authOrigin, Action<HttpRequestMessage> authorize, ChannelSettings channel, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.RequestTimeout);
        var client = httpClientFactory.CreateClient(HttpClientName);
        HttpResponseMessage? response = null;
        try
        {
            var url = location;
            for (var hop = 0; ; hop++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, url);
                if (SameOrigin(url, authOrigin))
                {
                    authorize(request);
                }

                response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
                if (IsRedirect(response.StatusCode) && response.Headers.Location is { } next && hop < MaxRedirects)
                {
                    url = next.IsAbsoluteUri ? next : new Uri(url, next);
                    response.Dispose();
                    response = null;
                    continue;
                }

                break;
            }

            if (!response.IsSuccessStatusCode)
            {
                var body = await response.Content.ReadAsStringAsync(timeout.Token);
                var failure = UpstreamFailures.FromResponse(response.StatusCode, response.Headers, body, channel, timeProvider.GetUtcNow());
                throw UpstreamFailures.IsExpiredLink(response.StatusCode, body, SameOrigin(url, authOrigin))
                    ? UpstreamFailures.ExpiredLink(channel, failure)
                    : failure;
            }

            var contentType = response.Content.Headers.ContentType?.MediaType;
            if (contentType is not null && IsNotVideo(contentType))
            {
                throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.UpstreamResultInvalid,
                    $"The upstream of channel '{channel.Name}' served the result as '{contentType}', not a video.");
            }

            var stream = await response.Content.ReadAsStreamAsync(timeout.Token);
            var content = new ResultContent(new OwningStream(stream, response), contentType, response.Content.Headers.ContentLength);
            response = null;
            return content;
        }
        catch (Exception exception) when (exception is not UpstreamException && !cancellationToken.IsCancellationRequested)
        {
            throw UpstreamFailures.FromException(exception, timeout.IsCancellationRequested, channel);
        }
        finally
        {
            response?.Dispose();
        }
    }

    /// <summary>Joins a channel base URL and an API path, tolerating a base that already ends in the version segment.</summary>
    public static Uri Combine(Uri baseUrl, string pathAndQuery)
    {
        var root = baseUrl.GetLeftPart(UriPartial.Path).TrimEnd('/');
        // Operators paste base URLs from provider docs, which often include "/v1" or "/v1beta";
        // every adapter path starts with its version, so a doubled segment would 404.
        var version = pathAndQuery.AsSpan(0, pathAndQuery.IndexOf('/', 1) is var slash and > 0 ? slash : pathAndQuery.Length);
        if (root.AsSpan().EndsWith(version, StringComparison.OrdinalIgnoreCase))
        {
            root = root[..^version.Length];
        }

        return new Uri(root + pathAndQuery, UriKind.Absolute);
    }

    /// <summary>Reads a 2xx JSON answer; one that cannot be read means the job's fate is unknown.</summary>
    public static T? ReadJson<T>(string body, JsonTypeInfo<T> typeInfo, ChannelSettings channel)
    {
        try
        {
            return JsonSerializer.Deserialize(body, typeInfo);
        }
        catch (JsonException exception)
        {
            throw UpstreamFailures.Malformed(channel, exception);
        }
    }

    /// <summary>Reads a callback body leniently: anything that is not the expected JSON is null (a callback is only a hint).</summary>
    public static T? TryReadJson<T>(ReadOnlyMemory<byte> body, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize(body.Span, typeInfo);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool SameOrigin(Uri url, Uri origin) =>
        Uri.Compare(url, origin, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;

    private static bool IsRedirect(HttpStatusCode status) =>
        status is HttpStatusCode.MovedPermanently or HttpStatusCode.Found or HttpStatusCode.SeeOther
            or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect;

    // An HTML error page or a JSON error with a 200 is the usual way a "result" turns out not to be one.
    private static bool IsNotVideo(string mediaType) =>
        mediaType.StartsWith("text/", StringComparison.OrdinalIgnoreCase)
        || mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
        || mediaType.StartsWith("image/", StringComparison.OrdinalIgnoreCase);

    /// <summary>A response body stream that releases its response (and connection) when disposed.</summary>
    private sealed class OwningStream(Stream inner, HttpResponseMessage response) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
                response.Dispose();
            }

            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync();
            response.Dispose();
            await base.DisposeAsync();
        }
    }
}
