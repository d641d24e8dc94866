using System.Net;
using Microsoft.Extensions.Options;
using Reelay.Providers;

namespace Reelay.Images;

/// <summary>Why a reference image could not be used: <c>image_download_failed</c> or <c>image_invalid</c>.</summary>
public sealed class ImageFetchException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}

/// <summary>
/// Turns the image references of a request (http(s) URLs or data URIs) into checked bytes: through
/// the SSRF guard, within size and time limits, sniffed by magic bytes. Runs in the dispatcher,
/// never on the request thread.
/// </summary>
public sealed partial class ImageFetcher(IHttpClientFactory httpClients, IOptions<ImageLimitsOptions> limits, ILogger<ImageFetcher> logger)
{
    /// <summary>Name of the guarded HttpClient (connects through <see cref="NetworkPolicy"/>).</summary>
    public const string HttpClientName = "reelay-client-urls";

    // Enough for a CDN's canonical-URL and signed-URL hops; a chain longer than that is a loop or a trick.
    private const int MaxRedirects = 3;

    /// <param name="references">URLs, data URIs, or references to bytes stored apart (<paramref name="stored"/> reads those).</param>
    /// <param name="stored">Reads a reference that is neither http(s) nor data: (the task's stored inline images); null when they are gone.</param>
    /// <param name="cancellationToken">Stops the downloads.</param>
    public async Task<IReadOnlyList<ReferenceImage>> FetchAllAsync(IReadOnlyList<string> references, Func<string, CancellationToken, Task<byte[]?>>? stored, CancellationToken cancellationToken)
    {
        var images = new ReferenceImage[references.Count];
        for (var i = 0; i < references.Count; i++)
        {
            images[i] = await FetchAsync(references[i], i, stored, cancellationToken);
        }

        return images;
    }

    private async Task<ReferenceImage> FetchAsync(string reference, int index, Func<string, CancellationToken, Task<byte[]?>>? stored, CancellationToken cancellationToken)
    {
        var (bytes, sourceUrl) = reference.StartsWith("data:", StringComparison.OrdinalIgnoreCase)
            ? (DataUri.Decode(reference) ?? throw Invalid(index, "its data URI is not valid base64"), null)
            : stored is not null && !reference.StartsWith("http", StringComparison.OrdinalIgnoreCase)
                ? (await stored(reference, cancellationToken) ?? throw Invalid(index, "its stored copy is gone"), null)
                : (await DownloadAsync(reference, index, cancellationToken), reference);
        var header = ImageSniffer.Sniff(bytes)
            ?? throw Invalid(index, "its bytes are not a PNG, JPEG, WebP or GIF image");
        var maxSide = limits.Value.MaxImageSide;
        if (header.Width <= 0 || header.Height <= 0)
        {
            throw Invalid(index, $"the {header.MediaType} header gives no pixel size");
        }

        if (header.Width > maxSide || header.Height > maxSide)
        {
            throw Invalid(index, $"it is {header.Width}×{header.Height} pixels; the largest side allowed is {maxSide}");
        }

        return new ReferenceImage(bytes, header.MediaType, header.Width, header.Height, sourceUrl);
    }

    private async Task<byte[]> DownloadAsync(string url, int index, CancellationToken cancellationToken)
    {
        var max = limits.Value.MaxImageBytes;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(limits.Value.ImageDownloadTimeout);
        var client = httpClients.CreateClient(HttpClientName);
        try
        {
            using var response = await GetFollowingRedirectsAsync(client, url, index, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                throw Failed(index, url, $"the server answered {(int)response.StatusCode} {response.ReasonPhrase}");
            }

            if (response.Content.Headers.ContentLength > max)
            {
                throw Invalid(index, $"it is {response.Content.Headers.ContentLength} bytes; the limit is {max}");
            }

            await using var body = await response.Content.ReadAsStreamAsync(timeout.Token);
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int read;
            while ((read = await body.ReadAsync(chunk, timeout.Token)) > 0)
            {
                if (buffer.Length + read > max)
                {
                    throw Invalid(index, $"it is larger than the limit of {max} bytes");
                }

                buffer.Write(chunk, 0, read);
            }

            return buffer.ToArray();
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw Failed(index, url, $"it did not arrive within {limits.Value.ImageDownloadTimeout.TotalSeconds:0} s");
        }
        catch (HttpRequestException e)
        {
            LogDownloadFailed(logger, index, e.Message);
            var reason = e.InnerException is BlockedAddressException blocked
                ? blocked.Message
                : e.HttpRequestError switch
                {
                    HttpRequestError.NameResolutionError => "its host name does not resolve",
                    HttpRequestError.ConnectionError => "the connection to its host failed",
                    HttpRequestError.SecureConnectionError => "the TLS handshake with its host failed",
                    _ => "the download failed: " + e.Message,
                };
            throw Failed(index, url, reason);
        }
    }

    // Redirects are followed here, not by the handler: SocketsHttpHandler follows ws:// and wss://
    // (and fetches gopher:// or ftp:// Locations as HTTP), and throws on file://, which would end
    // the task as an internal error. Each hop still connects through the guard.
    private static async Task<HttpResponseMessage> GetFollowingRedirectsAsync(HttpClient client, string url, int index, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var current))
        {
            throw Failed(index, url, "it is not an absolute URL");
        }

        for (var hop = 0; ; hop++)
        {
            var response = await client.GetAsync(current, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (!IsRedirect(response.StatusCode))
            {
                return response;
            }

            var status = $"{(int)response.StatusCode} {response.ReasonPhrase}";
            var location = response.Headers.TryGetValues("Location", out var values) ? values.FirstOrDefault() : null;
            response.Dispose();
            if (string.IsNullOrWhiteSpace(location) || !Uri.TryCreate(current, location.Trim(), out var next))
            {
                throw Failed(index, url, $"the server answered {status} without a usable Location");
            }

            if (next.Scheme != Uri.UriSchemeHttp && next.Scheme != Uri.UriSchemeHttps)
            {
                throw Failed(index, url, $"it redirects to a {next.Scheme}:// URL; only http and https are followed");
            }

            if (hop == MaxRedirects)
            {
                throw Failed(index, url, $"it redirects more than {MaxRedirects} times");
            }

            current = next;
        }
    }

    private static bool IsRedirect(HttpStatusCode status) =>
        status is HttpStatusCode.MovedPermanently or HttpStatusCode.Found or HttpStatusCode.SeeOther
            or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect;

    private static ImageFetchException Failed(int index, string url, string reason) =>
        new(TaskErrors.ImageDownloadFailed, $"images[{index}] could not be downloaded from {Shorten(url)}: {reason}.");

    private static ImageFetchException Invalid(int index, string reason) =>
        new(TaskErrors.ImageInvalid, $"images[{index}] cannot be used: {reason}.");

    private static string Shorten(string url) => url.Length <= 200 ? url : url[..200] + "…";

    [LoggerMessage(Level = LogLevel.Debug, Message = "Reference image {Index} download failed: {Reason}")]
    private static partial void LogDownloadFailed(ILogger logger, int index, string reason);
}

/// <summary>Registers the guarded client and the fetcher.</summary>
public static class ImageExtensions
{
    public static IServiceCollection AddReferenceImages(this IServiceCollection services)
    {
        services.AddOptions<NetworkOptions>().Configure<IConfiguration>((options, configuration) => configuration.Bind(options)).ValidateOnStart();
        services.AddOptions<ImageLimitsOptions>().BindConfiguration("Limits").ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<NetworkOptions>, NetworkOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ImageLimitsOptions>, ImageLimitsOptionsValidator>());
        services.TryAddSingleton<NetworkPolicy>();
        services.TryAddSingleton<ImageFetcher>();
        services.AddHttpClient(ImageFetcher.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(sp =>
            {
                var handler = sp.GetRequiredService<NetworkPolicy>().CreateHandler();
                handler.AutomaticDecompression = DecompressionMethods.All;
                return handler;
            });
        return services;
    }
}
