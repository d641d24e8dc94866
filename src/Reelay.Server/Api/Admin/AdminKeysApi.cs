using System.ComponentModel;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Reelay.Accounts;
using Reelay.Api.Errors;
using Reelay.Images;
using Reelay.Keys;

namespace Reelay.Api.Admin;

/// <summary>Body of <c>POST /admin/keys</c>, read field by field by the handler; declared here for the OpenAPI document.</summary>
public sealed record CreateKeyRequest
{
    [Description("A label of 1–100 characters.")]
    public required string Name { get; init; }

    [Description("\"live\" (the default: routed to the upstream channels) or \"test\" (rendered locally at no cost).")]
    public string? Mode { get; init; }

    [Description("The account the key spends from. Left out: a new one-key account is opened, named like the key, with no credits.")]
    public string? AccountId { get; init; }

    [Description("Limits of this key, narrowing its account's.")]
    public LimitsView? Limits { get; init; }

    [Description("Free text for operators, up to 2000 characters.")]
    public string? Notes { get; init; }
}

/// <summary>Body of <c>PATCH /admin/keys/{id}</c>: fields present change; limits sent as null are removed.</summary>
public sealed record UpdateKeyRequest
{
    public string? Name { get; init; }
    public LimitsView? Limits { get; init; }
    public string? Notes { get; init; }
}

/// <summary>Body of <c>POST /admin/admin-keys</c>.</summary>
public sealed record CreateAdminKeyRequest
{
    [Description("A label of 1–100 characters, recorded as the actor of every change the key makes.")]
    public required string Name { get; init; }
}

/// <summary>A key as admins see it: never the secret, never the hash.</summary>
public sealed record KeyView(string Id, string Object, string Name, string Mode, string Prefix, long CreatedAt, long? RevokedAt, string? AccountId, LimitsView? Limits, string? Notes)
{
    public static KeyView From(ApiKey key) => key.Mode == KeyMode.Admin
        ? new(key.Id, "admin_key", key.Name, "admin", key.Prefix, key.CreatedAt, key.RevokedAt, null, null, null)
        : new(key.Id, "api_key", key.Name, ApiKey.ModeText(key.Mode), key.Prefix, key.CreatedAt, key.RevokedAt, key.AccountId, LimitsView.From(key.Limits), key.Notes);
}

/// <summary>The one answer that shows the secret.</summary>
public sealed record CreatedKey(string Id, string Object, string Name, string Mode, string Prefix, long CreatedAt, string Key, string? AccountId, LimitsView? Limits);

public sealed record KeyList(string Object, IReadOnlyList<KeyView> Data, bool HasMore, string? LastId);

/// <summary>
/// Client keys — create (secret shown once), list with filters and paging, read, update limits, revoke —
/// and named admin keys beside the bootstrap one. Every change is audited.
/// </summary>
public static class AdminKeysApi
{
    public static IEndpointRouteBuilder MapAdminKeysApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/admin/keys").RequireAdminKey().ProducesApiErrors(401, 403).WithTags("Admin");
        group.MapPost("/", CreateAsync).WithName("CreateKey").WithSummary("Create a client key (in an account, or with a new one-key account)")
            .AcceptsBody<CreateKeyRequest>().ProducesApiErrors(400, 404, 413, 415);
        group.MapGet("/", ListAsync).WithName("ListKeys").WithSummary("List client keys (account_id, mode, revoked; paged by after)").ProducesApiErrors(400);
        group.MapGet("/{id}", GetAsync).WithName("GetKey").WithSummary("One client key").ProducesApiErrors(404);
        group.MapPatch("/{id}", UpdateAsync).WithName("UpdateKey").WithSummary("Change a client key's name, limits, notes")
            .AcceptsBody<UpdateKeyRequest>().ProducesApiErrors(400, 404, 413, 415);
        group.MapDelete("/{id}", RevokeAsync).WithName("RevokeKey").WithSummary("Revoke a client key").ProducesApiErrors(404);

        var admins = routes.MapGroup("/admin/admin-keys").RequireAdminKey().ProducesApiErrors(401, 403).WithTags("Admin");
        admins.MapPost("/", CreateAdminAsync).WithName("CreateAdminKey").WithSummary("Create a named admin key; the secret is shown once")
            .AcceptsBody<CreateAdminKeyRequest>().ProducesApiErrors(400, 413, 415);
        admins.MapGet("/", ListAdminAsync).WithName("ListAdminKeys").WithSummary("List named admin keys (the bootstrap key is not among them)").ProducesApiErrors(400);
        admins.MapDelete("/{id}", RevokeAdminAsync).WithName("RevokeAdminKey").WithSummary("Revoke a named admin key").ProducesApiErrors(404);
        return routes;
    }

    private static Task<Results<Created<CreatedKey>, ApiError>> CreateAsync(HttpContext http, IKeyStore store, IAccountStore accounts, NetworkPolicy network, TimeProvider time) =>
        CreateKeyAsync(null, http, store, accounts, network, time);

    /// <summary><c>POST /admin/accounts/{id}/keys</c>: the same body, the account named by the route.</summary>
    internal static Task<Results<Created<CreatedKey>, ApiError>> CreateInAccountAsync(string id, HttpContext http, IKeyStore store, IAccountStore accounts, NetworkPolicy network, TimeProvider time) =>
        CreateKeyAsync(id, http, store, accounts, network, time);

    private static async Task<Results<Created<CreatedKey>, ApiError>> CreateKeyAsync(
        string? routeAccount, HttpContext http, IKeyStore store, IAccountStore accounts, NetworkPolicy network, TimeProvider time)
    {
        var (document, error) = await JsonBody.ReadObjectAsync(http.Request, 64 * 1024);
        if (error is not null)
        {
            return error;
        }

        using (document)
        {
            var body = document!.RootElement;
            var fields = JsonBody.Fields(body);
            var name = fields.String("name");
            var mode = fields.String("mode");
            var accountId = routeAccount ?? fields.String("account_id");
            var notes = fields.String("notes");
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
                return ApiError.BadRequest($"'mode' must be \"live\" or \"test\", got \"{Shorten(mode!)}\".", "mode", "invalid_mode");
            }

            var limitsError = AdminLimits.Read(body, AccessLimits.None, network, out var limits);
            if ((AdminAccountsApi.CheckNotes(notes) ?? limitsError) is { } invalid)
            {
                return invalid;
            }

            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            var (issued, secret) = ApiKey.Issue(name, keyMode.Value, now);
            var key = issued with { Limits = limits, Notes = notes };
            Account? opened = null;
            if (accountId is null)
            {
                // No account named: the key gets one of its own, as keys always had.
                opened = new Account(Account.NewId(), name, 0, 0, false, now, now, null);
                key = key with { AccountId = opened.Id };
                await store.InsertWithAccountAsync(key, opened, http.RequestAborted);
            }
            else if (!await store.InsertAsync(key with { AccountId = accountId.Trim() }, http.RequestAborted))
            {
                return ApiError.NotFound($"No active account with id '{Shorten(accountId)}': create it with POST /admin/accounts, or leave 'account_id' out for a one-key account.", "account_id");
            }
            else
            {
                key = key with { AccountId = accountId.Trim() };
            }

            if (opened is not null)
            {
                await AdminAudit.WriteAsync(http, "account.create", "account", opened.Id, null, AccountView.From(opened));
            }

            await AdminAudit.WriteAsync(http, "key.create", "key", key.Id, null, KeyView.From(key));
            return TypedResults.Created($"/admin/keys/{key.Id}",
                new CreatedKey(key.Id, "api_key", key.Name, ApiKey.ModeText(key.Mode), key.Prefix, key.CreatedAt, secret, key.AccountId, LimitsView.From(key.Limits)));
        }
    }

    private static async Task<Results<Ok<KeyList>, ApiError>> ListAsync(
        IKeyStore store, [Microsoft.AspNetCore.Mvc.FromQuery(Name = "account_id")] string? accountId, string? mode, string? revoked, string? limit, string? after, CancellationToken cancellationToken)
    {
        var limitError = AdminPaging.Limit(limit, out var pageSize);
        var revokedError = AdminPaging.Flag(revoked, "revoked", out var isRevoked);
        if ((limitError ?? revokedError) is { } error)
        {
            return error;
        }

        KeyMode? keyMode = mode switch
        {
            null => null,
            "live" => KeyMode.Live,
            "test" => KeyMode.Test,
            _ => KeyMode.Admin,
        };
        if (keyMode == KeyMode.Admin)
        {
            return ApiError.BadRequest("'mode' must be live or test (admin keys are listed at GET /admin/admin-keys).", "mode", "invalid_mode");
        }

        var rows = await store.ListAsync(new KeyQuery(pageSize + 1, after, accountId, keyMode, isRevoked), cancellationToken);
        var page = rows.Take(pageSize).Select(KeyView.From).ToList();
        return TypedResults.Ok(new KeyList("list", page, rows.Count > pageSize, page.LastOrDefault()?.Id));
    }

    private static async Task<Results<Ok<KeyView>, ApiError>> GetAsync(string id, IKeyStore store, CancellationToken cancellationToken) =>
        await store.GetAsync(id, cancellationToken) is { } key ? TypedResults.Ok(KeyView.From(key)) : ApiError.NotFound($"No key with id '{Shorten(id)}'.", "id");

    private static async Task<Results<Ok<KeyView>, ApiError>> UpdateAsync(string id, HttpContext http, IKeyStore store, KeyAuthenticator authenticator, NetworkPolicy network)
    {
        var (document, error) = await JsonBody.ReadObjectAsync(http.Request, 64 * 1024);
        if (error is not null)
        {
            return error;
        }

        using (document)
        {
            var before = await store.GetAsync(id, http.RequestAborted);
            if (before is null || before.RevokedAt is not null)
            {
                return ApiError.NotFound($"No active key with id '{Shorten(id)}'.", "id");
            }

            var body = document!.RootElement;
            var fields = JsonBody.Fields(body);
            var name = fields.String("name")?.Trim();
            var notes = fields.String("notes");
            if (fields.Error is not null)
            {
                return fields.Error;
            }

            var limitsError = AdminLimits.Read(body, before.Limits, network, out var limits);
            if (((name is null ? null : AdminAccountsApi.CheckName(name)) ?? AdminAccountsApi.CheckNotes(notes) ?? limitsError) is { } invalid)
            {
                return invalid;
            }

            var after = await store.UpdateAsync(before with { Name = name ?? before.Name, Notes = body.TryGetProperty("notes", out _) ? notes : before.Notes, Limits = limits }, http.RequestAborted);
            if (after is null)
            {
                return ApiError.NotFound($"No active key with id '{Shorten(id)}'.", "id");
            }

            await authenticator.ForgetAsync(after);
            var view = KeyView.From(after);
            await AdminAudit.WriteAsync(http, "key.update", "key", id, KeyView.From(before), view);
            return TypedResults.Ok(view);
        }
    }

    private static async Task<Results<Ok<KeyView>, ApiError>> RevokeAsync(string id, HttpContext http, IKeyStore store, KeyAuthenticator authenticator, TimeProvider time)
    {
        var before = await store.GetAsync(id, http.RequestAborted);
        var key = before is null ? null : await store.RevokeAsync(id, time.GetUtcNow().ToUnixTimeMilliseconds(), http.RequestAborted);
        if (key is null)
        {
            return ApiError.NotFound($"No active key with id '{Shorten(id)}'.", "id");
        }

        await authenticator.ForgetAsync(key);
        var view = KeyView.From(key);
        await AdminAudit.WriteAsync(http, "key.revoke", "key", id, KeyView.From(before!), view);
        return TypedResults.Ok(view);
    }

    private static async Task<Results<Created<CreatedKey>, ApiError>> CreateAdminAsync(HttpContext http, IKeyStore store, TimeProvider time)
    {
        var (document, error) = await JsonBody.ReadObjectAsync(http.Request, 64 * 1024);
        if (error is not null)
        {
            return error;
        }

        using (document)
        {
            var fields = JsonBody.Fields(document!.RootElement);
            var name = fields.String("name")?.Trim();
            if ((fields.Error ?? AdminAccountsApi.CheckName(name)) is { } invalid)
            {
                return invalid;
            }

            var (key, secret) = ApiKey.Issue(name!, KeyMode.Admin, time.GetUtcNow().ToUnixTimeMilliseconds());
            await store.InsertAsync(key, http.RequestAborted);
            await AdminAudit.WriteAsync(http, "admin_key.create", "admin_key", key.Id, null, KeyView.From(key));
            return TypedResults.Created($"/admin/admin-keys/{key.Id}", new CreatedKey(key.Id, "admin_key", key.Name, "admin", key.Prefix, key.CreatedAt, secret, null, null));
        }
    }

    private static async Task<Results<Ok<KeyList>, ApiError>> ListAdminAsync(IKeyStore store, string? revoked, string? limit, string? after, CancellationToken cancellationToken)
    {
        var limitError = AdminPaging.Limit(limit, out var pageSize);
        var revokedError = AdminPaging.Flag(revoked, "revoked", out var isRevoked);
        if ((limitError ?? revokedError) is { } error)
        {
            return error;
        }

        var rows = await store.ListAsync(new KeyQuery(pageSize + 1, after, null, KeyMode.Admin, isRevoked), cancellationToken);
        var page = rows.Take(pageSize).Select(KeyView.From).ToList();
        return TypedResults.Ok(new KeyList("list", page, rows.Count > pageSize, page.LastOrDefault()?.Id));
    }

    private static async Task<Results<Ok<KeyView>, ApiError>> RevokeAdminAsync(string id, HttpContext http, IKeyStore store, KeyAuthenticator authenticator, TimeProvider time)
    {
        // Only admin key ids: a client key's id here must not revoke it by accident.
        var key = id.StartsWith("adm_", StringComparison.Ordinal) ? await store.RevokeAsync(id, time.GetUtcNow().ToUnixTimeMilliseconds(), http.RequestAborted) : null;
        if (key is null)
        {
            return ApiError.NotFound($"No active admin key with id '{Shorten(id)}' (the bootstrap key cannot be revoked here: change REELAY_ADMIN_KEY).", "id");
        }

        await authenticator.ForgetAsync(key);
        var view = KeyView.From(key);
        await AdminAudit.WriteAsync(http, "admin_key.revoke", "admin_key", id, view with { RevokedAt = null }, view);
        return TypedResults.Ok(view);
    }

    private static string Shorten(string value) => value.Length <= 80 ? value : value[..80] + "…";
}
