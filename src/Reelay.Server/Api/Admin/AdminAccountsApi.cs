using System.ComponentModel;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Reelay.Accounts;
using Reelay.Api.Errors;
using Reelay.Images;
using Reelay.Keys;

namespace Reelay.Api.Admin;

/// <summary>An account as admins see it, amounts in credits.</summary>
/// <param name="Available">Balance less what is held for unfinished tasks: what creates may still hold.</param>
public sealed record AccountView(
    string Id, string Object, string Name, decimal Balance, decimal Held, decimal Available, bool Unlimited, LimitsView Limits, string? Notes,
    long CreatedAt, long UpdatedAt, long? RevokedAt)
{
    public static AccountView From(Account account) => new(
        account.Id, "account", account.Name, Credits.ToCredits(account.Balance), Credits.ToCredits(account.Held), Credits.ToCredits(account.Available),
        account.Unlimited, LimitsView.From(account.Limits), account.Notes, account.CreatedAt, account.UpdatedAt, account.RevokedAt);
}

public sealed record AccountList(string Object, IReadOnlyList<AccountView> Data, bool HasMore, string? LastId);

/// <summary>One ledger row, amounts in credits. <c>amount</c> is positive for every kind but <c>adjust</c>.</summary>
public sealed record LedgerEntryView(
    string AccountId, long Sequence, string Object, string Kind, decimal Amount, decimal BalanceAfter, decimal HeldAfter,
    string? KeyId, string? TaskId, string? Model, string? Reason, string? Actor, long At)
{
    public static LedgerEntryView From(LedgerEntry e) => new(
        e.AccountId, e.Sequence, "ledger_entry", LedgerEntry.KindText(e.Kind), Credits.ToCredits(e.Amount), Credits.ToCredits(e.BalanceAfter),
        Credits.ToCredits(e.HeldAfter), e.KeyId, e.TaskId, e.Model, e.Reason, e.Actor, e.At);
}

public sealed record LedgerList(string Object, IReadOnlyList<LedgerEntryView> Data, bool HasMore, long? LastSequence);

/// <summary>A top-up's or an adjustment's answer: the ledger row and the account after it.</summary>
public sealed record CreditMoveView(string Object, LedgerEntryView Entry, AccountView Account);

/// <summary>Body of <c>POST /admin/accounts</c> (read field by field; declared for the OpenAPI document).</summary>
public sealed record CreateAccountRequest
{
    [Description("A label of 1–100 characters.")]
    public required string Name { get; init; }

    [Description("Never refused for want of credits (charges are still recorded). false when left out.")]
    public bool? Unlimited { get; init; }

    [Description("Credits to start with: a first top-up, on the ledger.")]
    public decimal? Credits { get; init; }

    public LimitsView? Limits { get; init; }

    [Description("Free text for operators, up to 2000 characters.")]
    public string? Notes { get; init; }
}

/// <summary>Body of <c>PATCH /admin/accounts/{id}</c>: fields present change; limits sent as null are removed.</summary>
public sealed record UpdateAccountRequest
{
    public string? Name { get; init; }
    public bool? Unlimited { get; init; }
    public LimitsView? Limits { get; init; }
    public string? Notes { get; init; }
}

/// <summary>Body of a top-up (positive) or an adjustment (either sign).</summary>
public sealed record CreditMoveRequest
{
    [Description("Credits, up to six decimals.")]
    public required decimal Amount { get; init; }

    [Description("Why, 1–500 characters; kept on the ledger row and in the audit log.")]
    public required string Reason { get; init; }
}

/// <summary>
/// Accounts: create, read, list with filters and paging, update limits, revoke, top up and adjust
/// (each a ledger row with its reason), read the ledger, and add keys to an account. Every change is audited.
/// </summary>
public static class AdminAccountsApi
{
    public static IEndpointRouteBuilder MapAdminAccountsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/admin/accounts").RequireAdminKey().ProducesApiErrors(401, 403).WithTags("Admin");
        group.MapPost("/", CreateAsync).WithName("CreateAccount").WithSummary("Open an account").AcceptsBody<CreateAccountRequest>().ProducesApiErrors(400, 413, 415);
        group.MapGet("/", ListAsync).WithName("ListAccounts").WithSummary("List accounts (name, unlimited, revoked; paged by after)").ProducesApiErrors(400);
        group.MapGet("/{id}", GetAsync).WithName("GetAccount").WithSummary("One account with its balance and holds").ProducesApiErrors(404);
        group.MapPatch("/{id}", UpdateAsync).WithName("UpdateAccount").WithSummary("Change an account's name, limits, notes")
            .AcceptsBody<UpdateAccountRequest>().ProducesApiErrors(400, 404, 413, 415);
        group.MapDelete("/{id}", RevokeAsync).WithName("RevokeAccount").WithSummary("Revoke an account: all its keys answer 401").ProducesApiErrors(404);
        group.MapPost("/{id}/top-ups", (string id, HttpContext http, IAccountStore store, TimeProvider time) =>
                MoveAsync(id, LedgerKind.TopUp, http, store, time))
            .WithName("TopUpAccount").WithSummary("Add credits, with a reason").AcceptsBody<CreditMoveRequest>().ProducesApiErrors(400, 404, 413, 415);
        group.MapPost("/{id}/adjustments", (string id, HttpContext http, IAccountStore store, TimeProvider time) =>
                MoveAsync(id, LedgerKind.Adjust, http, store, time))
            .WithName("AdjustAccount").WithSummary("Correct the balance either way, with a reason").AcceptsBody<CreditMoveRequest>().ProducesApiErrors(400, 404, 409, 413, 415);
        group.MapGet("/{id}/ledger", LedgerAsync).WithName("AccountLedger").WithSummary("The account's ledger, oldest first (paged by after)").ProducesApiErrors(400, 404);
        group.MapPost("/{id}/keys", AdminKeysApi.CreateInAccountAsync).WithName("CreateAccountKey").WithSummary("Add a key to an account; the secret is shown once")
            .AcceptsBody<CreateKeyRequest>().ProducesApiErrors(400, 404, 413, 415);
        return routes;
    }

    private static async Task<Results<Created<AccountView>, ApiError>> CreateAsync(HttpContext http, IAccountStore store, NetworkPolicy network, TimeProvider time)
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
            var name = fields.String("name")?.Trim();
            var unlimited = fields.Boolean("unlimited");
            var notes = fields.String("notes");
            if (fields.Error is not null)
            {
                return fields.Error;
            }

            var limitsError = AdminLimits.Read(body, AccessLimits.None, network, out var limits);
            if ((CheckName(name) ?? CheckNotes(notes) ?? limitsError) is { } invalid)
            {
                return invalid;
            }

            long? credits = null;
            if (body.TryGetProperty("credits", out var amount) && amount.ValueKind != JsonValueKind.Null
                && AdminLimits.ReadCredits(amount, "credits", positive: false, out credits) is { } badAmount)
            {
                return badAmount;
            }

            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            var account = new Account(Account.NewId(), name!, 0, 0, unlimited ?? false, now, now, null) { Limits = limits, Notes = notes };
            var first = credits is > 0 ? new CreditMove(LedgerKind.TopUp, credits.Value, "opening balance", http.GetCaller().KeyId, now) : null;
            var created = AccountView.From(await store.CreateAsync(account, first, http.RequestAborted));
            await AdminAudit.WriteAsync(http, "account.create", "account", created.Id, null, created);
            return TypedResults.Created($"/admin/accounts/{created.Id}", created);
        }
    }

    private static async Task<Results<Ok<AccountList>, ApiError>> ListAsync(
        IAccountStore store, string? name, string? unlimited, string? revoked, string? limit, string? after, CancellationToken cancellationToken)
    {
        var limitError = AdminPaging.Limit(limit, out var pageSize);
        var unlimitedError = AdminPaging.Flag(unlimited, "unlimited", out var isUnlimited);
        var revokedError = AdminPaging.Flag(revoked, "revoked", out var isRevoked);
        if ((limitError ?? unlimitedError ?? revokedError) is { } error)
        {
            return error;
        }

        var rows = await store.ListAsync(new AccountQuery(pageSize + 1, after, name, isUnlimited, isRevoked), cancellationToken);
        var page = rows.Take(pageSize).Select(AccountView.From).ToList();
        return TypedResults.Ok(new AccountList("list", page, rows.Count > pageSize, page.LastOrDefault()?.Id));
    }

    private static async Task<Results<Ok<AccountView>, ApiError>> GetAsync(string id, IAccountStore store, CancellationToken cancellationToken) =>
        await store.GetAsync(id, cancellationToken) is { } account ? TypedResults.Ok(AccountView.From(account)) : NotFound(id);

    private static async Task<Results<Ok<AccountView>, ApiError>> UpdateAsync(
        string id, HttpContext http, IAccountStore store, IKeyStore keys, KeyAuthenticator authenticator, NetworkPolicy network, TimeProvider time)
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
                return NotFound(id);
            }

            var body = document!.RootElement;
            var fields = JsonBody.Fields(body);
            var name = fields.String("name")?.Trim();
            var unlimited = fields.Boolean("unlimited");
            var notes = fields.String("notes");
            if (fields.Error is not null)
            {
                return fields.Error;
            }

            var limitsError = AdminLimits.Read(body, before.Limits, network, out var limits);
            if (((name is null ? null : CheckName(name)) ?? CheckNotes(notes) ?? limitsError) is { } invalid)
            {
                return invalid;
            }

            var changed = before with
            {
                Name = name ?? before.Name,
                Unlimited = unlimited ?? before.Unlimited,
                Notes = body.TryGetProperty("notes", out _) ? notes : before.Notes,
                Limits = limits,
            };
            var after = await store.UpdateAsync(changed, time.GetUtcNow().ToUnixTimeMilliseconds(), http.RequestAborted);
            if (after is null)
            {
                return NotFound(id);
            }

            // The keys' cached copies carry the account's limits: this instance applies the new ones at once.
            await ForgetKeysAsync(id, keys, authenticator, http.RequestAborted);
            var view = AccountView.From(after);
            await AdminAudit.WriteAsync(http, "account.update", "account", id, AccountView.From(before), view);
            return TypedResults.Ok(view);
        }
    }

    private static async Task<Results<Ok<AccountView>, ApiError>> RevokeAsync(
        string id, HttpContext http, IAccountStore store, IKeyStore keys, KeyAuthenticator authenticator, TimeProvider time)
    {
        var before = await store.GetAsync(id, http.RequestAborted);
        var revoked = await store.RevokeAsync(id, time.GetUtcNow().ToUnixTimeMilliseconds(), http.RequestAborted);
        if (revoked is null)
        {
            return ApiError.NotFound($"No active account with id '{Shorten(id)}'.", "id");
        }

        await ForgetKeysAsync(id, keys, authenticator, http.RequestAborted);
        var view = AccountView.From(revoked);
        await AdminAudit.WriteAsync(http, "account.revoke", "account", id, before is null ? null : AccountView.From(before), view);
        return TypedResults.Ok(view);
    }

    private static async Task<Results<Ok<CreditMoveView>, ApiError>> MoveAsync(string id, LedgerKind kind, HttpContext http, IAccountStore store, TimeProvider time)
    {
        var (document, error) = await JsonBody.ReadObjectAsync(http.Request, 64 * 1024);
        if (error is not null)
        {
            return error;
        }

        using (document)
        {
            var body = document!.RootElement;
            var reason = JsonBody.Fields(body).String("reason")?.Trim();
            if (!body.TryGetProperty("amount", out var amountElement) || amountElement.ValueKind == JsonValueKind.Null)
            {
                return ApiError.BadRequest("'amount' is required: the credits to " + (kind == LedgerKind.TopUp ? "add." : "add (positive) or take away (negative)."), "amount", "missing_field");
            }

            if (AdminLimits.ReadCredits(amountElement, "amount", positive: true, out var amount, signed: kind == LedgerKind.Adjust) is { } invalid)
            {
                return invalid;
            }

            if (string.IsNullOrEmpty(reason) || reason.Length > 500)
            {
                return ApiError.BadRequest("'reason' is required: 1–500 characters saying why, kept on the ledger row.", "reason", "missing_field");
            }

            var before = await store.GetAsync(id, http.RequestAborted);
            var move = new CreditMove(kind, amount!.Value, reason, http.GetCaller().KeyId, time.GetUtcNow().ToUnixTimeMilliseconds());
            var result = await store.MoveCreditsAsync(id, move, http.RequestAborted);
            if (result.Refused)
            {
                return new ApiError(409,
                    $"Adjusting by {Credits.Format(move.Amount)} would leave account '{id}' with less than nothing available: it has {Credits.Format(before!.Available)} credits " +
                    $"(balance {Credits.Format(before.Balance)}, {Credits.Format(before.Held)} held). Take at most {Credits.Format(Math.Max(0, before.Available))}.",
                    "insufficient_credits", "amount");
            }

            if (result.Account is null)
            {
                return NotFound(id);
            }

            var view = new CreditMoveView("credit_move", LedgerEntryView.From(result.Entry!), AccountView.From(result.Account));
            await AdminAudit.WriteAsync(http, kind == LedgerKind.TopUp ? "account.top_up" : "account.adjust", "account", id,
                before is null ? null : AccountView.From(before), view.Account);
            return TypedResults.Ok(view);
        }
    }

    private static async Task<Results<Ok<LedgerList>, ApiError>> LedgerAsync(
        string id, IAccountStore store, string? limit, string? after, CancellationToken cancellationToken)
    {
        if (AdminPaging.Limit(limit, out var pageSize) is { } error)
        {
            return error;
        }

        long cursor = 0;
        if (after is not null && !long.TryParse(after, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out cursor))
        {
            return ApiError.BadRequest("'after' must be the last_sequence of the previous page (a whole number).", "after", "invalid_cursor");
        }

        if (await store.GetAsync(id, cancellationToken) is null)
        {
            return NotFound(id);
        }

        var rows = await store.LedgerAsync(id, new LedgerQuery(pageSize + 1, cursor), cancellationToken);
        var page = rows.Take(pageSize).Select(LedgerEntryView.From).ToList();
        return TypedResults.Ok(new LedgerList("list", page, rows.Count > pageSize, page.LastOrDefault()?.Sequence));
    }

    /// <summary>Drops the account's keys from every instance's key cache (<see cref="KeyAuthenticator.ForgetAsync"/>).</summary>
    internal static async Task ForgetKeysAsync(string accountId, IKeyStore keys, KeyAuthenticator authenticator, CancellationToken cancellationToken)
    {
        foreach (var key in await keys.ListAsync(new KeyQuery(int.MaxValue, AccountId: accountId), cancellationToken))
        {
            await authenticator.ForgetAsync(key);
        }
    }

    internal static ApiError? CheckName(string? name) =>
        string.IsNullOrEmpty(name) || name.Length > 100 ? ApiError.BadRequest("'name' is required: a label of 1–100 characters.", "name", "invalid_name") : null;

    internal static ApiError? CheckNotes(string? notes) =>
        notes is { Length: > 2000 } ? ApiError.BadRequest($"'notes' is {notes.Length} characters long; the limit is 2000.", "notes", "invalid_notes") : null;

    private static ApiError NotFound(string id) => ApiError.NotFound($"No account with id '{Shorten(id)}'.", "id");

    private static string Shorten(string value) => value.Length <= 80 ? value : value[..80] + "…";
}
