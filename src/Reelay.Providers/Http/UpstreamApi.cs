using System.Net.Http.Headers;

namespace Reelay.Providers.Http;

/// <summary>How an upstream reads its secret.</summary>
internal enum UpstreamAuth
{
    /// <summary><c>Authorization: Bearer &lt;key&gt;</c> (xAI, OpenAI, relays).</summary>
    Bearer,

    /// <summary><c>x-goog-api-key: &lt;key&gt;</c> (the Gemini API).</summary>
    GoogleApiKey,

    /// <summary><c>Authorization: Key &lt;key&gt;</c>: the literal word <c>Key</c>, not <c>Bearer</c> (fal.ai).</summary>
    Key,
}

/// <summary>
/// What every call to one upstream shares: the channel's base URL or the provider's public one, the
/// path joined onto it, and the secret in the header that upstream reads. Adapters keep one of these
/// and build each request with <see cref="Request"/>.
/// </summary>
/// <param name="DefaultBaseUrl">The provider's public endpoint; null when it has none (relays), so a channel must name one.</param>
/// <param name="Auth">Which header carries the key.</param>
internal sealed record UpstreamApi(Uri? DefaultBaseUrl, UpstreamAuth Auth)
{
    /// <summary>The channel's base URL, else the provider's public endpoint.</summary>
    public Uri BaseUrl(ChannelSettings channel) => channel.BaseUrl ?? DefaultBaseUrl
        // Failing over is right: this channel cannot take any job, and nothing was sent.
        ?? throw new UpstreamException(UpstreamFailureStage.ConnectFailed, TaskErrors.ChannelMisconfigured,
            $"Channel '{channel.Name}' uses the '{channel.Provider}' provider, which has no public endpoint, but has no base URL.");

    /// <summary>A request for <paramref name="pathAndQuery"/> on the channel's upstream, the key attached; the caller disposes it.</summary>
    public HttpRequestMessage Request(HttpMethod method, ChannelSettings channel, string pathAndQuery, HttpContent? content = null)
    {
        var message = new HttpRequestMessage(method, UpstreamClient.Combine(BaseUrl(channel), pathAndQuery)) { Content = content };
        Authorize(message, channel);
        return message;
    }

    /// <summary>Adds the key, if the channel has one, in the header this upstream reads.</summary>
    public void Authorize(HttpRequestMessage message, ChannelSettings channel)
    {
        if (string.IsNullOrEmpty(channel.ApiKey))
        {
            return;
        }

        switch (Auth)
        {
            case UpstreamAuth.GoogleApiKey:
                message.Headers.Add("x-goog-api-key", channel.ApiKey);
                break;
            case UpstreamAuth.Key:
                message.Headers.Authorization = new AuthenticationHeaderValue("Key", channel.ApiKey);
                break;
            default:
                message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", channel.ApiKey);
                break;
        }
    }
}
