using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Reelay.Providers.Http;

namespace Reelay.Providers.GoogleCloud;

/// <summary>
/// OAuth access tokens for service accounts, made without gcloud or a Google library: Reelay signs
/// the RS256 assertion itself, exchanges it at the key's <c>token_uri</c>, and keeps the token until
/// shortly before it expires. Shared by every Google Cloud adapter, so channels with the same key
/// share one token.
/// </summary>
internal sealed class GoogleAccessTokens(UpstreamClient upstream, TimeProvider time)
{
    /// <summary>The scope Vertex AI and Cloud Storage accept (both read the one token).</summary>
    public const string CloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform";

    // Google allows at most an hour; asking for the full hour means one exchange per hour per key.
    private static readonly TimeSpan AssertionLifetime = TimeSpan.FromHours(1);

    // Renewing five minutes early (Google's libraries do the same) keeps a token from expiring
    // between the check and a slow upstream call.
    private static readonly TimeSpan RenewBefore = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<string, (string Token, DateTimeOffset RenewAt)> _tokens = new(StringComparer.Ordinal);

    // Keyed by the secret itself, which the channel settings hold in memory anyway.
    private readonly ConcurrentDictionary<string, GoogleServiceAccount> _accounts = new(StringComparer.Ordinal);

    /// <summary>
    /// The service account a channel's secret holds (parsed once per key). A channel whose secret is
    /// not a usable key cannot take any job and nothing was sent: it fails over, as a missing base URL does.
    /// </summary>
    public GoogleServiceAccount AccountOf(ChannelSettings channel)
    {
        var secret = channel.ApiKey ?? "";
        if (_accounts.TryGetValue(secret, out var account))
        {
            return account;
        }

        if (!GoogleServiceAccount.TryParse(secret, out account, out var problem))
        {
            throw new UpstreamException(UpstreamFailureStage.ConnectFailed, TaskErrors.ChannelMisconfigured,
                $"Channel '{channel.Name}' ({channel.Provider}) cannot authenticate: {problem}");
        }

        _accounts[secret] = account;
        return account;
    }

    /// <summary>A valid access token for the account: the cached one, or a fresh one.</summary>
    public async Task<string> GetAsync(GoogleServiceAccount account, ChannelSettings channel, CancellationToken cancellationToken)
    {
        var key = CacheKey(account);
        if (_tokens.TryGetValue(key, out var cached) && time.GetUtcNow() < cached.RenewAt)
        {
            return cached.Token;
        }

        var (token, renewAt) = await ExchangeAsync(account, channel, cancellationToken);
        _tokens[key] = (token, renewAt);
        return token;
    }

    /// <summary>Forgets a token the upstream refused (revoked, or the clock was off), so the next call makes a new one.</summary>
    public void Invalidate(GoogleServiceAccount account, string token)
    {
        // Only that token: one a concurrent call already renewed stays.
        var key = CacheKey(account);
        if (_tokens.TryGetValue(key, out var cached) && cached.Token == token)
        {
            _tokens.TryRemove(KeyValuePair.Create(key, cached));
        }
    }

    /// <summary>
    /// Sends a request with the account's bearer token. A 401 means the token was refused (revoked,
    /// or expired early): it is renewed and the request sent once more; a second 401 is final for
    /// this channel. Nothing was accepted by a request answered 401, so sending it again is safe.
    /// </summary>
    /// <param name="build">Makes a fresh request each time (a sent request cannot be sent again).</param>
    public async Task<UpstreamReply> SendAsync(Func<HttpRequestMessage> build, GoogleServiceAccount account, ChannelSettings channel,
        Func<UpstreamException, string, UpstreamException>? refine, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var token = await GetAsync(account, channel, cancellationToken);
            using var message = build();
            message.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            try
            {
                // The token is redacted from anything the upstream echoes; the key itself never travels.
                return await upstream.SendAsync(message, channel with { ApiKey = token }, refine, cancellationToken);
            }
            catch (UpstreamException e) when (attempt == 0 && IsUnauthenticated(e))
            {
                Invalidate(account, token);
            }
        }
    }

    /// <summary>Opens a result (a Cloud Storage object, a file) with the bearer token; renewed once on a 401, like <see cref="SendAsync"/>.</summary>
    public async Task<ResultContent> OpenAsync(Uri location, GoogleServiceAccount account, ChannelSettings channel, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var token = await GetAsync(account, channel, cancellationToken);
            try
            {
                return await upstream.OpenAsync(location, location,
                    m => m.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token),
                    channel with { ApiKey = token }, cancellationToken);
            }
            catch (UpstreamException e) when (attempt == 0 && IsUnauthenticated(e))
            {
                Invalidate(account, token);
            }
        }
    }

    // A 401 is an unaccepted token; a 403 (no permission, API disabled) would be refused again.
    private static bool IsUnauthenticated(UpstreamException e) =>
        e.Stage == UpstreamFailureStage.Unauthorized && e.Message.Contains(" answered 401", StringComparison.Ordinal);

    /// <summary>The signed assertion: header <c>{alg,typ,kid}</c>, claims <c>{iss,scope,aud,iat,exp}</c>, RS256.</summary>
    internal static string SignAssertion(GoogleServiceAccount account, DateTimeOffset now)
    {
        var header = Base64Url(JsonSerializer.SerializeToUtf8Bytes(
            new GoogleJwtHeader("RS256", "JWT", string.IsNullOrEmpty(account.PrivateKeyId) ? null : account.PrivateKeyId),
            GoogleCloudJsonContext.Default.GoogleJwtHeader));
        var claims = Base64Url(JsonSerializer.SerializeToUtf8Bytes(
            new GoogleJwtClaims(account.ClientEmail, CloudPlatformScope, account.TokenUri.ToString(), now.ToUnixTimeSeconds(), (now + AssertionLifetime).ToUnixTimeSeconds()),
            GoogleCloudJsonContext.Default.GoogleJwtClaims));
        using var rsa = RSA.Create();
        rsa.ImportFromPem(account.PrivateKeyPem);
        var signature = rsa.SignData(Encoding.ASCII.GetBytes(header + "." + claims), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return header + "." + claims + "." + Base64Url(signature);
    }

    private async Task<(string Token, DateTimeOffset RenewAt)> ExchangeAsync(GoogleServiceAccount account, ChannelSettings channel, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var assertion = SignAssertion(account, now);
        using var message = new HttpRequestMessage(HttpMethod.Post, account.TokenUri)
        {
            Content = new FormUrlEncodedContent(
            [
                KeyValuePair.Create("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                KeyValuePair.Create("assertion", assertion),
            ]),
        };

        // The assertion is a credential for an hour: it is redacted from whatever the endpoint echoes.
        var signed = channel with { ApiKey = assertion };
        GoogleTokenResponse? token;
        try
        {
            var reply = await upstream.SendAsync(message, signed, (failure, body) => Refine(failure, body, account, channel), cancellationToken);
            token = UpstreamClient.ReadJson(reply.Body, GoogleCloudJsonContext.Default.GoogleTokenResponse, signed);
        }
        catch (UpstreamException e) when (!e.ProvablyNotAccepted && e.Stage != UpstreamFailureStage.Rejected)
        {
            // A timeout or a garbled answer from the token endpoint: the job itself was never sent,
            // so another channel may take it (a "may exist" stage would fail the task for nothing).
            throw new UpstreamException(UpstreamFailureStage.ServerError, e.Code, e.Message, e.RetryAfter, e);
        }

        if (string.IsNullOrEmpty(token?.AccessToken))
        {
            // Nothing was submitted yet: a token endpoint that answers nonsense is a refusal of this channel.
            throw new UpstreamException(UpstreamFailureStage.Unauthorized, TaskErrors.UpstreamAuth,
                $"Google's token endpoint gave channel '{channel.Name}' no access token for {account.ClientEmail}.");
        }

        var lifetime = TimeSpan.FromSeconds(Math.Max(60, token.ExpiresIn ?? 3600));
        var renewAt = now + (lifetime > RenewBefore * 2 ? lifetime - RenewBefore : lifetime / 2);
        return (token.AccessToken, renewAt);
    }

    /// <summary>
    /// A 4xx from the token endpoint (<c>invalid_grant</c>: a wrong signature, a deleted key, a clock
    /// far off) means this channel's credentials do not work: another channel may, so it fails over.
    /// Nothing reached Vertex, so even a lost answer is "not accepted".
    /// </summary>
    private static UpstreamException Refine(UpstreamException failure, string body, GoogleServiceAccount account, ChannelSettings channel)
    {
        if (failure.Stage is not (UpstreamFailureStage.Rejected or UpstreamFailureStage.Unauthorized))
        {
            return failure;
        }

        var error = UpstreamClient.TryReadJson<GoogleTokenError>(Encoding.UTF8.GetBytes(body), GoogleCloudJsonContext.Default.GoogleTokenError);
        var reason = error?.Error is null ? failure.Message : $"{error.Error}{(error.ErrorDescription is null ? "" : " (" + error.ErrorDescription + ")")}";
        return new UpstreamException(UpstreamFailureStage.Unauthorized, TaskErrors.UpstreamAuth,
            UpstreamFailures.Truncate($"Google's token endpoint refused the service-account key of channel '{channel.Name}' ({account.ClientEmail}): {reason}"),
            inner: failure);
    }

    private static string CacheKey(GoogleServiceAccount account) =>
        account.TokenUri + "\n" + account.ClientEmail + "\n" + (account.PrivateKeyId ?? Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(account.PrivateKeyPem))));

    private static string Base64Url(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);
}
