using System.ComponentModel;
using Microsoft.AspNetCore.Http.HttpResults;
using Reelay.Api.Errors;
using Reelay.Keys;

namespace Reelay.Api.Admin;

/// <summary>Body of <c>POST /admin/keys</c>, read field by field by the handler; declared here for the OpenAPI document.</summary>
public sealed record CreateKeyRequest
{
    [Description("A label of 1–100 characters.")]
    public required string Name { get; init; }

    [Description("\"live\" (the default: routed to the upstream channels) or \"test\" (rendered locally at no cost).")]
    public string? Mode { get; init; }
}

/// <summary>A key as admins see it: never the secret, never the hash.</summary>
public sealed record KeyView(string Id, string Object, string Name, string Mode, string Prefix, long CreatedAt, long? RevokedAt);

/// <summary>The one answer that shows the secret.</summary>
public sealed record CreatedKey(string Id, string Object, string Name, string Mode, string Prefix, long CreatedAt, string Key);

public sealed record KeyList(string Object, IReadOnlyList<KeyView> Data);

/// <summary>Client keys: create (secret shown once), list, revoke.</summary>
public static class AdminKeysApi
{
    public static IEndpointRouteBuilder MapAdminKeysApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/admin/keys").RequireAdminKey().ProducesApiErrors(401, 403).WithTags("Admin");
        group.MapPost("/", CreateAsync).WithName("CreateKey").WithSummary("Create a client key")
            .AcceptsBody<CreateKeyRequest>().ProducesApiErrors(400, 413, 415);
        group.MapGet("/", ListAsync).WithName("ListKeys").WithSummary("List client keys");
        group.MapDelete("/{id}", RevokeAsync).WithName("RevokeKey").WithSummary("Revoke a client key").ProducesApiErrors(404);
        return routes;
    }

    private static async Task<Results<Created<CreatedKey>, ApiError>> CreateAsync(HttpContext http, IKeyStore store, TimeProvider time)
    {
        var (document, error) = await JsonBody.ReadObjectAsync(http.Request, 64 * 1024);
        if (error is not null)
        {
            return error;
        }

        using (document)
        {
            var fields = JsonBody.Fields(document!.RootElement);
            var name = fields.String("name");
            var mode = fields.String("mode");
            if (fields.Error is not null)
            {
                return fields.Error;
            }

            name = name?.Trim();
            if (string.IsNullOrEmpty(name) || name.Length > 100)
            {
                return ApiError.BadRequest("'name' is required: a label of 1–100 characters for this key.", "name", "invalid_name");
            }

            var keyMode = mode?.Trim().ToLowerInvariant() switch
            {
                null or "" or "live" => KeyMode.Live,
                "test" => KeyMode.Test,
                _ => (KeyMode?)null,
            };
            if (keyMode is null)
            {
                return ApiError.BadRequest($"'mode' must be \"live\" or \"test\", got \"{mode}\".", "mode", "invalid_mode");
            }

            var (key, secret) = ApiKey.Issue(name, keyMode.Value, time.GetUtcNow().ToUnixTimeMilliseconds());
            await store.InsertAsync(key, http.RequestAborted);
            return TypedResults.Created($"/admin/keys/{key.Id}", new CreatedKey(key.Id, "api_key", key.Name, ApiKey.ModeText(key.Mode), key.Prefix, key.CreatedAt, secret));
        }
    }

    private static async Task<Ok<KeyList>> ListAsync(IKeyStore store, CancellationToken cancellationToken)
    {
        var keys = await store.ListAsync(cancellationToken);
        return TypedResults.Ok(new KeyList("list", [.. keys.Select(AsView)]));
    }

    private static async Task<Results<Ok<KeyView>, ApiError>> RevokeAsync(string id, IKeyStore store, KeyAuthenticator authenticator, TimeProvider time, CancellationToken cancellationToken)
    {
        var key = await store.RevokeAsync(id, time.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken);
        if (key is null)
        {
            return ApiError.NotFound($"No active key with id '{id}'.", "id");
        }

        authenticator.Forget(key);
        return TypedResults.Ok(AsView(key));
    }

    private static KeyView AsView(ApiKey key) =>
        new(key.Id, "api_key", key.Name, ApiKey.ModeText(key.Mode), key.Prefix, key.CreatedAt, key.RevokedAt);
}
