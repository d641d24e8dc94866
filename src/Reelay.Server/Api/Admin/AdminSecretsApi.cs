using System.ComponentModel;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Reelay.Api.Errors;
using Reelay.Api.Unified;
using Reelay.Blobs.LocalDisk;
using Reelay.Secrets;

namespace Reelay.Api.Admin;

/// <summary>The secrets key ring as admins see it: where it lives, its keys, which one encrypts, and the secrets that do not decrypt. Never a secret.</summary>
/// <param name="KeyRingEncryption"><c>secrets_key</c> when its keys are sealed with <c>SECRETS_KEY</c>, <c>none</c> when only file modes protect them.</param>
public sealed record SecretsView(
    string Object,
    string KeyRing,
    string KeyRingEncryption,
    string CurrentKeyId,
    IReadOnlyList<SecretKeyView> Keys,
    IReadOnlyList<UnreadableSecretView> Unreadable,
    FileSigningKeyView FileSigningKey);

/// <summary>One key of the ring; times in Unix seconds.</summary>
/// <param name="InUse">How many stored secrets it encrypted: a key at 0 that is not current may be retired.</param>
public sealed record SecretKeyView(string Id, string Object, long CreatedAt, long ActivatesAt, long ExpiresAt, bool Current, bool Revoked, int InUse);

/// <summary>A stored secret that does not decrypt: its kind (<c>channels.api_key</c>…), whose it is, and why.</summary>
public sealed record UnreadableSecretView(string Kind, string Item, string Reason);

/// <summary>The file-URL signing key.</summary>
/// <param name="Source"><c>data_directory</c> (generated, rotated by the rotate call) or <c>configuration</c> (<c>SIGNING_KEY</c>).</param>
/// <param name="PreviousValidUntil">Until when links signed with the previous key still play (Unix seconds); null when there is none.</param>
public sealed record FileSigningKeyView(string Source, long? PreviousValidUntil);

/// <summary>What a rotation did.</summary>
/// <param name="Reencrypted">Secrets encrypted again under the new key, per kind.</param>
/// <param name="UnusedKeyIds">Older keys no stored secret uses any more: retire each with <c>DELETE /admin/secrets/keys/{id}</c>.</param>
public sealed record SecretRotationView(
    string Object,
    string KeyId,
    IReadOnlyDictionary<string, int> Reencrypted,
    IReadOnlyList<UnreadableSecretView> Unreadable,
    IReadOnlyList<string> UnusedKeyIds,
    FileSigningKeyView FileSigningKey);

/// <summary>A key deleted from the ring.</summary>
public sealed record RetiredKeyView(string Id, string Object, bool Deleted);

/// <summary>Body of <c>POST /admin/secrets/rotate</c> (optional: no body rotates everything).</summary>
public sealed record RotateSecretsRequest
{
    [Description("Also start a new file-URL signing key; links signed with the old one stay valid until they expire. true when left out.")]
    public bool? FileSigningKey { get; init; }
}

/// <summary>Source-generated serialization of this surface's answers, with the API's wire settings.</summary>
[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(SecretsView))]
[JsonSerializable(typeof(SecretRotationView))]
[JsonSerializable(typeof(RetiredKeyView))]
[JsonSerializable(typeof(RotateSecretsRequest))]
internal sealed partial class AdminSecretsJsonContext : JsonSerializerContext;

/// <summary>
/// The secrets key ring: <c>GET /admin/secrets</c> (status), <c>POST /admin/secrets/rotate</c> (a new
/// key, every stored secret encrypted again under it, and a new file-URL signing key), and
/// <c>DELETE /admin/secrets/keys/{id}</c> (retire an older key nothing uses). Admin key only.
/// </summary>
public static class AdminSecretsApi
{
    public static IEndpointRouteBuilder MapAdminSecretsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/admin/secrets").RequireAdminKey().ProducesApiErrors(401, 403).WithTags("Admin");
        group.MapGet("/", StatusAsync).WithName("GetSecrets").WithSummary("The secrets key ring and any secret that does not decrypt")
            .Produces<SecretsView>();
        group.MapPost("/rotate", RotateAsync).WithName("RotateSecrets").WithSummary("Encrypt every stored secret again under a new key")
            .AcceptsBody<RotateSecretsRequest>().ProducesApiErrors(400, 413, 415).Produces<SecretRotationView>();
        // 409: the key still encrypts, or stored secrets still use it.
        group.MapDelete("/keys/{id}", RetireAsync).WithName("RetireSecretsKey").WithSummary("Delete an older key that no stored secret uses")
            .ProducesApiErrors(404, 409).Produces<RetiredKeyView>();
        return routes;
    }

    private static async Task<JsonHttpResult<SecretsView>> StatusAsync(SecretRotation rotation, FileSigningKeys signing, CancellationToken cancellationToken)
    {
        var status = await rotation.StatusAsync(cancellationToken);
        return TypedResults.Json(new SecretsView(
            "secrets",
            status.KeyRing,
            status.SealedWithSecretsKey ? "secrets_key" : "none",
            status.CurrentKeyId.ToString(),
            [.. status.Keys.Select(key => new SecretKeyView(key.Id.ToString(), "secrets_key", key.CreatedAt.ToUnixTimeSeconds(), key.ActivatesAt.ToUnixTimeSeconds(),
                key.ExpiresAt.ToUnixTimeSeconds(), key.Current, key.Revoked, key.InUse))],
            AsViews(status.Unreadable),
            AsView(signing, signing.PreviousValidUntil)), AdminSecretsJsonContext.Default.SecretsView);
    }

    private static async Task<Results<JsonHttpResult<SecretRotationView>, ApiError>> RotateAsync(HttpContext http, SecretRotation rotation, FileSigningKeys signing, QueryAnswerCache answers)
    {
        var rotateSigningKey = true;
        // No body at all (curl -X POST) is fine: everything rotates.
        if (http.Request.ContentLength > 0 || (http.Request.ContentLength is null && http.Request.Headers.TransferEncoding.Count > 0))
        {
            var (document, error) = await JsonBody.ReadObjectAsync(http.Request, 4 * 1024);
            if (error is not null)
            {
                return error;
            }

            using (document)
            {
                var fields = JsonBody.Fields(document!.RootElement);
                var fileSigningKey = fields.Boolean("file_signing_key");
                if (fields.Error is not null)
                {
                    return fields.Error;
                }

                rotateSigningKey = fileSigningKey ?? true;
            }
        }

        var result = await rotation.RotateAsync(http.RequestAborted);
        var previousValidUntil = rotateSigningKey ? signing.Rotate() ?? signing.PreviousValidUntil : signing.PreviousValidUntil;
        if (rotateSigningKey)
        {
            answers.ForgetAll();
        }

        await AdminAudit.WriteAsync(http, "secrets.rotate", "key_ring", result.KeyId.ToString(), null, null,
            $"{result.Reencrypted.Values.Sum()} stored secrets encrypted again under key {result.KeyId}" + (rotateSigningKey ? "; new file-URL signing key" : ""));
        return TypedResults.Json(new SecretRotationView(
            "secrets.rotation",
            result.KeyId.ToString(),
            result.Reencrypted,
            AsViews(result.Unreadable),
            [.. result.UnusedKeyIds.Select(id => id.ToString())],
            AsView(signing, previousValidUntil)), AdminSecretsJsonContext.Default.SecretRotationView);
    }

    private static async Task<Results<JsonHttpResult<RetiredKeyView>, ApiError>> RetireAsync(string id, HttpContext http, SecretRotation rotation, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var keyId))
        {
            return ApiError.NotFound($"No key '{id}' in the key ring: key ids are the GUIDs GET /admin/secrets lists.", "id");
        }

        var retirement = await rotation.RetireAsync(keyId, cancellationToken);
        if (retirement.Outcome == KeyRetirementOutcome.Retired)
        {
            await AdminAudit.WriteAsync(http, "secrets.retire_key", "key_ring", keyId.ToString(), null, null, $"key {keyId} deleted from the key ring");
        }

        return retirement.Outcome switch
        {
            KeyRetirementOutcome.Retired => TypedResults.Json(new RetiredKeyView(keyId.ToString(), "secrets_key", true), AdminSecretsJsonContext.Default.RetiredKeyView),
            KeyRetirementOutcome.Current => new ApiError(409, $"Key {keyId} is the one that encrypts: rotate first (POST /admin/secrets/rotate), then retire it.", "key_current", "id"),
            KeyRetirementOutcome.InUse => new ApiError(409, $"{retirement.InUse} stored secrets are still encrypted with key {keyId}: rotate first (POST /admin/secrets/rotate), then retire it.", "key_in_use", "id"),
            KeyRetirementOutcome.TooSoon => new ApiError(409,
                $"The key that replaced {keyId} is only moments old and other instances may still encrypt with {keyId}: try again in {Math.Ceiling(retirement.Wait.TotalSeconds):0} s.", "key_just_replaced", "id"),
            _ => ApiError.NotFound($"No key '{id}' in the key ring.", "id"),
        };
    }

    private static IReadOnlyList<UnreadableSecretView> AsViews(IReadOnlyList<UnreadableSecret> unreadable) =>
        [.. unreadable.Select(secret => new UnreadableSecretView(secret.Holder, secret.Item, secret.Reason))];

    private static FileSigningKeyView AsView(FileSigningKeys signing, DateTimeOffset? previousValidUntil) =>
        new(signing.FromConfiguration ? "configuration" : "data_directory", previousValidUntil?.ToUnixTimeSeconds());
}
