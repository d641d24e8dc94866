using System.Text.Json.Serialization;

namespace Reelay.Providers.GoogleCloud;

/// <summary>The JWT header Google's token endpoint takes: RS256, with the key's id.</summary>
internal sealed record GoogleJwtHeader(
    [property: JsonPropertyName("alg")] string Alg,
    [property: JsonPropertyName("typ")] string Typ,
    [property: JsonPropertyName("kid")] string? Kid);

/// <summary>The claims of a service-account assertion (developers.google.com/identity/protocols/oauth2/service-account).</summary>
internal sealed record GoogleJwtClaims(
    [property: JsonPropertyName("iss")] string Iss,
    [property: JsonPropertyName("scope")] string Scope,
    [property: JsonPropertyName("aud")] string Aud,
    [property: JsonPropertyName("iat")] long Iat,
    [property: JsonPropertyName("exp")] long Exp);

/// <summary>The token endpoint's answer.</summary>
internal sealed record GoogleTokenResponse(
    [property: JsonPropertyName("access_token")] string? AccessToken,
    [property: JsonPropertyName("expires_in")] long? ExpiresIn,
    [property: JsonPropertyName("token_type")] string? TokenType);

/// <summary>The token endpoint's error (<c>{"error":"invalid_grant","error_description":"Invalid JWT Signature."}</c>).</summary>
internal sealed record GoogleTokenError(
    [property: JsonPropertyName("error")] string? Error,
    [property: JsonPropertyName("error_description")] string? ErrorDescription);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(GoogleJwtHeader))]
[JsonSerializable(typeof(GoogleJwtClaims))]
[JsonSerializable(typeof(GoogleTokenResponse))]
[JsonSerializable(typeof(GoogleTokenError))]
internal sealed partial class GoogleCloudJsonContext : JsonSerializerContext;
