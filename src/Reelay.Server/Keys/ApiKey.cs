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
public sealed record ApiKey(string Id, string Name, KeyMode Mode, string Prefix, byte[] Hash, long CreatedAt, long? RevokedAt);

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
