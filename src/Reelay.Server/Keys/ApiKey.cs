using System.Security.Cryptography;

namespace Reelay.Keys;

/// <summary>Whether a key's requests reach real upstreams (<c>live</c>) or the free local renderer (<c>test</c>).</summary>
public enum KeyMode
{
    Live,
    Test,
}

/// <summary>A client key as stored: only the hash of the secret is kept.</summary>
/// <param name="Id">Public id (<c>key_…</c>), used in admin routes and as the owner of tasks.</param>
/// <param name="Name">Operator's label.</param>
/// <param name="Mode">live or test.</param>
/// <param name="Prefix">The first characters of the secret, to recognise it in lists.</param>
/// <param name="Hash">SHA-256 of the secret.</param>
/// <param name="CreatedAt">Unix ms.</param>
/// <param name="RevokedAt">Unix ms, or null while active.</param>
public sealed record ApiKey(string Id, string Name, KeyMode Mode, string Prefix, byte[] Hash, long CreatedAt, long? RevokedAt)
{
    /// <summary>A new key and its secret (<c>sk-test-…</c> / <c>sk-live-…</c>): the secret is shown once and only its hash is kept.</summary>
    public static (ApiKey Key, string Secret) Issue(string name, KeyMode mode, long now)
    {
        var secret = $"sk-{ModeText(mode)}-{Base62.NewSecret()}";
        var key = new ApiKey("key_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)), name, mode, secret[..12], KeyAuthenticator.Hash(secret), now, null);
        return (key, secret);
    }

    /// <summary><c>live</c> or <c>test</c>, as the API and the database spell the mode.</summary>
    public static string ModeText(KeyMode mode) => mode == KeyMode.Test ? "test" : "live";
}

/// <summary>Who is calling: set by the key filter, read by handlers.</summary>
/// <param name="KeyId">The key's id; tasks are owned by it.</param>
/// <param name="Mode">live or test.</param>
public sealed record Caller(string KeyId, KeyMode Mode)
{
    /// <summary>The caller of an admin route.</summary>
    public static readonly Caller Admin = new("admin", KeyMode.Live);
}

/// <summary>Key storage, shaped by what authentication and the admin API do.</summary>
public interface IKeyStore
{
    Task InsertAsync(ApiKey key, CancellationToken cancellationToken);

    Task<ApiKey?> FindByHashAsync(byte[] hash, CancellationToken cancellationToken);

    Task<IReadOnlyList<ApiKey>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Marks the key revoked; returns it, or null when no such active key exists.</summary>
    Task<ApiKey?> RevokeAsync(string id, long revokedAt, CancellationToken cancellationToken);
}
