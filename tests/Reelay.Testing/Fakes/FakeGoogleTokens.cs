using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Reelay.Testing.Fakes;

/// <summary>
/// A service-account key made by a test: the JSON file Google Cloud hands out (with the private key),
/// and the public half, which only the fake token endpoint holds.
/// </summary>
public sealed class GoogleTestKey : IDisposable
{
    private readonly RSA _rsa = RSA.Create(2048);

    private GoogleTestKey(Uri tokenUri, string? projectId)
    {
        TokenUri = tokenUri;
        ProjectId = projectId;
        KeyId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20));
        var key = new Dictionary<string, string?>
        {
            ["type"] = "service_account",
            ["project_id"] = projectId,
            ["private_key_id"] = KeyId,
            ["private_key"] = _rsa.ExportPkcs8PrivateKeyPem() + "\n",
            ["client_email"] = ClientEmail,
            ["client_id"] = "104839201938475610293",
            ["auth_uri"] = "https://accounts.google.com/o/oauth2/auth",
            ["token_uri"] = tokenUri.ToString(),
        };
        Json = JsonSerializer.Serialize(key.Where(p => p.Value is not null).ToDictionary());
    }

    /// <summary>A new key whose <c>token_uri</c> is <paramref name="tokenUri"/> (a fake's <c>/token</c>).</summary>
    public static GoogleTestKey Create(Uri tokenUri, string? projectId = "reelay-test") => new(tokenUri, projectId);

    public string ClientEmail => "reelay-video@reelay-test.iam.gserviceaccount.com";

    public string KeyId { get; }

    public string? ProjectId { get; }

    public Uri TokenUri { get; }

    /// <summary>The key file's text, as an operator pastes it into a channel.</summary>
    public string Json { get; }

    /// <summary>The public half, to check signatures with.</summary>
    public RSAParameters PublicKey => _rsa.ExportParameters(includePrivateParameters: false);

    public void Dispose() => _rsa.Dispose();
}

/// <summary>
/// Plays Google's OAuth token endpoint for service accounts (<c>POST /token</c>, form-encoded
/// <c>grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&amp;assertion=…</c>): checks the JWT's
/// header, issuer, audience, scope, lifetime and RS256 signature against the public half of the test's
/// key, and hands out access tokens the fake APIs then accept.
/// </summary>
public sealed class FakeGoogleTokens
{
    private readonly ConcurrentDictionary<string, bool> _issued = new(StringComparer.Ordinal);
    private int _exchanges;
    private int _counter;

    /// <summary>The key whose signature is trusted; until set, every assertion is refused.</summary>
    public GoogleTestKey? TrustedKey { get; set; }

    /// <summary>The <c>expires_in</c> of the tokens handed out. Default 3599 s, as Google's.</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromSeconds(3599);

    /// <summary>The endpoint's clock, which an assertion's <c>iat</c> must be near (a test on a fake clock sets it).</summary>
    public Func<DateTimeOffset> Now { get; set; } = () => DateTimeOffset.UtcNow;

    /// <summary>Assertions exchanged for a token.</summary>
    public int Exchanges => _exchanges;

    /// <summary>Why the last assertion was refused, or null.</summary>
    public string? LastRefusal { get; private set; }

    /// <summary>The claims of the last assertion accepted.</summary>
    public JsonElement? LastClaims { get; private set; }

    /// <summary>Whether a bearer token is one this endpoint handed out and has not revoked.</summary>
    public bool Accepts(HttpContext context)
    {
        var authorization = context.Request.Headers.Authorization.ToString();
        return authorization.StartsWith("Bearer ", StringComparison.Ordinal) && _issued.ContainsKey(authorization["Bearer ".Length..]);
    }

    /// <summary>Revokes every token handed out so far (the next call with one answers 401).</summary>
    public void RevokeAll() => _issued.Clear();

    /// <summary>Maps <c>POST /token</c>.</summary>
    public void Map(WebApplication app, Func<HttpContext, Task> record) =>
        app.MapPost("/token", async (HttpContext context) =>
        {
            await record(context);
            var form = await context.Request.ReadFormAsync(context.RequestAborted);
            var tokenUri = $"{context.Request.Scheme}://{context.Request.Host}/token";
            if (form["grant_type"] != "urn:ietf:params:oauth:grant-type:jwt-bearer")
            {
                return Refuse("unsupported_grant_type", "Invalid grant_type: " + form["grant_type"]);
            }

            if (Check(form["assertion"].ToString(), tokenUri) is { } problem)
            {
                return Refuse("invalid_grant", problem);
            }

            Interlocked.Increment(ref _exchanges);
            var token = $"ya29.fake-{Interlocked.Increment(ref _counter)}-{Guid.NewGuid():N}";
            _issued[token] = true;
            return Results.Text(
                $$"""{"access_token":"{{token}}","expires_in":{{(int)TokenLifetime.TotalSeconds}},"token_type":"Bearer"}""",
                "application/json", Encoding.UTF8);
        });

    private IResult Refuse(string error, string description)
    {
        LastRefusal = description;
        return Results.Text($$"""{"error":"{{error}}","error_description":"{{description}}"}""", "application/json", Encoding.UTF8, 400);
    }

    private string? Check(string assertion, string tokenUri)
    {
        var parts = assertion.Split('.');
        if (parts.Length != 3 || TrustedKey is not { } key)
        {
            return "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.";
        }

        using var header = JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(parts[0]));
        using var claims = JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(parts[1]));
        var h = header.RootElement;
        var c = claims.RootElement;
        using var rsa = RSA.Create(key.PublicKey);
        if (!rsa.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), System.Buffers.Text.Base64Url.DecodeFromChars(parts[2]),
                HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
        {
            return "Invalid JWT Signature.";
        }

        if (Text(h, "alg") != "RS256" || Text(h, "typ") != "JWT" || Text(h, "kid") != key.KeyId)
        {
            return "Invalid JWT header: alg must be RS256, typ JWT, kid the key's private_key_id.";
        }

        if (Text(c, "iss") != key.ClientEmail)
        {
            return "Invalid JWT: iss is not the service account.";
        }

        if (Text(c, "aud") != tokenUri)
        {
            return $"Invalid JWT: aud must be {tokenUri}.";
        }

        if (Text(c, "scope") != "https://www.googleapis.com/auth/cloud-platform")
        {
            return "Invalid JWT: scope must be https://www.googleapis.com/auth/cloud-platform.";
        }

        var now = Now().ToUnixTimeSeconds();
        if (!c.TryGetProperty("iat", out var iat) || !c.TryGetProperty("exp", out var exp)
            || Math.Abs(iat.GetInt64() - now) > 300 || exp.GetInt64() <= iat.GetInt64() || exp.GetInt64() - iat.GetInt64() > 3600)
        {
            return "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values.";
        }

        LastClaims = c.Clone();
        return null;
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
