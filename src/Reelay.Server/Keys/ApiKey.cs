using System.Security.Cryptography;
using Reelay.Accounts;

namespace Reelay.Keys;

/// <summary>Whether a key's requests reach real upstreams (<c>live</c>) or the free local renderer (<c>test</c>), or manage the gateway (<c>admin</c>).</summary>
public enum KeyMode
{
    Live,
    Test,

    /// <summary>A named admin key: the admin routes, like the bootstrap key, and no client route.</summary>
    Admin,
}

/// <summary>A client key as stored: only the hash of the secret is kept.</summary>
/// <param name="Id">Public id (<c>key_…</c>), used in admin routes and as the owner of tasks.</param>
/// <param name="Name">Operator's label.</param>
/// <param name="Mode">live or test.</param>
/// <param name="Prefix">The first characters of the secret, to recognise it in lists.</param>
/// <param name="Hash">SHA-256 of the secret.</param>
/// <param name="CreatedAt">Unix ms.</param>
/// <param name="RevokedAt">Unix ms, or null while active (a key of a revoked account reads as revoked when it was looked up by its secret).</param>
public sealed record ApiKey(string Id, string Name, KeyMode Mode, string Prefix, byte[] Hash, long CreatedAt, long? RevokedAt)
{
    /// <summary>The account whose balance and limits the key uses; empty for admin keys.</summary>
    public string AccountId { get; init; } = "";

    /// <summary>The key's own limits, narrowing its account's.</summary>
    public AccessLimits Limits { get; init; } = AccessLimits.None;

    /// <summary>The account's limits as they were when the key was looked up by its secret (empty in lists).</summary>
    public AccessLimits AccountLimits { get; init; } = AccessLimits.None;

    public string? Notes { get; init; }

    /// <summary>A new key of <paramref name="accountId"/> and its secret (<c>sk-test-…</c> / <c>sk-live-…</c> / <c>sk-admin-…</c>): the secret is shown once and only its hash is kept.</summary>
    public static (ApiKey Key, string Secret) Issue(string name, KeyMode mode, long now, string accountId = "")
    {
        var secret = $"sk-{ModeText(mode)}-{Base62.NewSecret()}";
        var id = (mode == KeyMode.Admin ? "adm_" : "key_") + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        var key = new ApiKey(id, name, mode, secret[..12], KeyAuthenticator.Hash(secret), now, null) { AccountId = accountId };
        return (key, secret);
    }

    /// <summary><c>live</c>, <c>test</c> or <c>admin</c>, as the API and the database spell the mode.</summary>
    public static string ModeText(KeyMode mode) => mode switch
    {
        KeyMode.Test => "test",
        KeyMode.Admin => "admin",
        _ => "live",
    };
}

/// <summary>Who is calling: set by the key filter, read by handlers.</summary>
/// <param name="KeyId">The key's id; tasks are owned by it. <c>admin</c> for the bootstrap admin key.</param>
/// <param name="Mode">live, test or admin.</param>
public sealed record Caller(string KeyId, KeyMode Mode)
{
    /// <summary>The caller of an admin route with the bootstrap key.</summary>
    public static readonly Caller Admin = new("admin", KeyMode.Admin);

    /// <summary>The account the key spends from; empty for admin callers.</summary>
    public string AccountId { get; init; } = "";

    /// <summary>The key's own limits.</summary>
    public AccessLimits KeyLimits { get; init; } = AccessLimits.None;

    /// <summary>Its account's limits.</summary>
    public AccessLimits AccountLimits { get; init; } = AccessLimits.None;

    /// <summary>The caller a client key stands for.</summary>
    public static Caller For(ApiKey key) => new(key.Id, key.Mode)
    {
        AccountId = key.AccountId,
        KeyLimits = key.Limits,
        AccountLimits = key.AccountLimits,
    };

    /// <summary>Whether both the key and its account allow the model.</summary>
    public bool AllowsModel(string model, string? alias = null) => KeyLimits.AllowsModel(model, alias) && AccountLimits.AllowsModel(model, alias);

    /// <summary>The key's default <c>callback_url</c>, else its account's.</summary>
    public string? DefaultCallbackUrl => KeyLimits.CallbackUrl ?? AccountLimits.CallbackUrl;
}

/// <summary>Which keys a list shows, oldest first, a page at a time.</summary>
/// <param name="Revoked">true: revoked ones only; false: active ones only; null: both.</param>
/// <param name="After">Id of the last key of the previous page.</param>
public sealed record KeyQuery(int Limit, string? After = null, string? AccountId = null, KeyMode? Mode = null, bool? Revoked = null);

/// <summary>Key storage, shaped by what authentication and the admin API do. Admin keys live apart from client keys.</summary>
public interface IKeyStore
{
    /// <summary>Stores a client key of an existing account, or a named admin key; false when the account does not exist or is revoked.</summary>
    Task<bool> InsertAsync(ApiKey key, CancellationToken cancellationToken);

    /// <summary>Stores a new account and its first key together (the one-key account of <c>POST /admin/keys</c>).</summary>
    Task InsertWithAccountAsync(ApiKey key, Account account, CancellationToken cancellationToken);

    /// <summary>The client key or admin key with this hash, with its account's limits and revocation.</summary>
    Task<ApiKey?> FindByHashAsync(byte[] hash, CancellationToken cancellationToken);

    /// <summary>A client key by id; null when none.</summary>
    Task<ApiKey?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>Every client key, oldest first.</summary>
    Task<IReadOnlyList<ApiKey>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Client keys (or admin keys, with <see cref="KeyMode.Admin"/>) matching the query.</summary>
    Task<IReadOnlyList<ApiKey>> ListAsync(KeyQuery query, CancellationToken cancellationToken);

    /// <summary>Replaces an active client key's name, limits and notes; null when there is none.</summary>
    Task<ApiKey?> UpdateAsync(ApiKey key, CancellationToken cancellationToken);

    /// <summary>Marks the key (client or admin) revoked; returns it, or null when no such active key exists.</summary>
    Task<ApiKey?> RevokeAsync(string id, long revokedAt, CancellationToken cancellationToken);
}
