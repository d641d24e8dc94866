using System.Security.Cryptography;
using System.Text.Json;

namespace Reelay.Providers.GoogleCloud;

/// <summary>
/// The fields of a Google service-account JSON key Reelay reads (providers/google-omni.md §9): the
/// account's e-mail, its PKCS#8 private key and key id, the token endpoint and the project. The key
/// is the channel's secret: it is kept where <c>api_key</c> is and never logged.
/// </summary>
/// <param name="ClientEmail">The account, the JWT's issuer.</param>
/// <param name="PrivateKeyPem">The PEM private key (<c>-----BEGIN PRIVATE KEY-----</c>).</param>
/// <param name="PrivateKeyId">The key id, sent as the JWT header's <c>kid</c>; may be empty.</param>
/// <param name="TokenUri">Where the signed JWT is exchanged for an access token, and the JWT's audience.</param>
/// <param name="ProjectId">The key's project, used when the channel names none.</param>
public sealed record GoogleServiceAccount(string ClientEmail, string PrivateKeyPem, string? PrivateKeyId, Uri TokenUri, string? ProjectId)
{
    /// <summary>Google's token endpoint, for keys that do not name one.</summary>
    public static readonly Uri DefaultTokenUri = new("https://oauth2.googleapis.com/token");

    /// <summary>Keeps the private key out of logs and messages that print the record.</summary>
    public override string ToString() => $"{ClientEmail} (service account)";

    /// <summary>Whether a channel secret is a service-account key rather than an API key: JSON keys start with a brace.</summary>
    public static bool LooksLikeKey(string? secret) => secret is not null && secret.TrimStart().StartsWith('{');

    /// <summary>Reads a key, or says what is wrong with it without quoting it.</summary>
    public static bool TryParse(string? json, out GoogleServiceAccount account, out string problem)
    {
        account = null!;
        problem = "";
        if (string.IsNullOrWhiteSpace(json))
        {
            problem = "no service-account key is set: paste the JSON key file Google Cloud made for the service account.";
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                problem = "the service-account key is not a JSON object: paste the whole key file.";
                return false;
            }

            var type = Text(root, "type");
            if (type is not null && type != "service_account")
            {
                problem = $"the key's \"type\" is \"{type}\", not \"service_account\": make a key for a service account (IAM → Service accounts → Keys → Add key → JSON).";
                return false;
            }

            var email = Text(root, "client_email");
            var pem = Text(root, "private_key");
            if (string.IsNullOrWhiteSpace(email) || string.IsNullOrWhiteSpace(pem))
            {
                problem = $"the service-account key has no \"{(string.IsNullOrWhiteSpace(email) ? "client_email" : "private_key")}\": paste the whole JSON key file.";
                return false;
            }

            using (var rsa = RSA.Create())
            {
                try
                {
                    rsa.ImportFromPem(pem);
                }
                catch (Exception e) when (e is ArgumentException or CryptographicException)
                {
                    problem = "the service-account key's \"private_key\" is not a PEM RSA private key.";
                    return false;
                }
            }

            var tokenUri = DefaultTokenUri;
            if (Text(root, "token_uri") is { Length: > 0 } uri
                && (!Uri.TryCreate(uri, UriKind.Absolute, out tokenUri!) || (tokenUri.Scheme != Uri.UriSchemeHttps && tokenUri.Scheme != Uri.UriSchemeHttp)))
            {
                problem = "the service-account key's \"token_uri\" is not an absolute http(s) URL.";
                return false;
            }

            account = new GoogleServiceAccount(email, pem, Text(root, "private_key_id"), tokenUri, Text(root, "project_id"));
            return true;
        }
        catch (JsonException)
        {
            problem = "the service-account key is not valid JSON: paste the whole key file as it was downloaded.";
            return false;
        }
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
