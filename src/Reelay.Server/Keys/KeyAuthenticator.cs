using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Reelay.Keys;

/// <summary>
/// Turns an <c>Authorization: Bearer</c> secret, with or without its <c>sk-</c> prefix, into a
/// <see cref="Caller"/>. Secrets are hashed first, so lookups and comparisons never touch the secret
/// itself; hashes are compared in constant time. Lookups are cached briefly so the hot path does
/// no I/O; revocation through this instance takes effect at once.
/// </summary>
public sealed class KeyAuthenticator
{
    /// <summary>How long a looked-up key is trusted without asking the store again (bounds revocation delay across instances).</summary>
    private static readonly TimeSpan CacheLifetime = TimeSpan.FromSeconds(10);

    /// <summary>How every issued secret begins (<c>sk-live-…</c>, <c>sk-test-…</c>, <c>sk-admin-…</c>).</summary>
    private const string SecretPrefix = "sk-";

    private readonly IKeyStore _store;
    private readonly TimeProvider _time;
    private readonly byte[] _adminHash;
    private readonly ConcurrentDictionary<string, CachedKey> _cache = new(StringComparer.Ordinal);

    public KeyAuthenticator(IKeyStore store, TimeProvider time, IOptions<KeyOptions> options)
    {
        _store = store;
        _time = time;
        _adminHash = Hash(options.Value.AdminKey!);
    }

    /// <summary>
    /// SHA-256 of the secret as spelled with its <c>sk-</c> prefix, whether or not the client sent it: clients
    /// of new-api-style gateways strip <c>sk-</c> from keys, and both spellings must be one key — one hash,
    /// so one store lookup and one cache entry. Keys have always been issued with the prefix, so the hashes
    /// already stored are of this spelling; an admin key set without it is matched the same way.
    /// </summary>
    public static byte[] Hash(string secret) =>
        SHA256.HashData(Encoding.UTF8.GetBytes(secret.StartsWith(SecretPrefix, StringComparison.Ordinal) ? secret : SecretPrefix + secret));

    public bool IsAdmin(string secret) => CryptographicOperations.FixedTimeEquals(Hash(secret), _adminHash);

    /// <summary>The active key for the secret — a client key, or a named admin key (<see cref="KeyMode.Admin"/>) — or null.</summary>
    public async ValueTask<ApiKey?> FindClientKeyAsync(string secret, CancellationToken cancellationToken)
    {
        var hash = Hash(secret);
        var cacheKey = Convert.ToBase64String(hash);
        var now = _time.GetUtcNow();
        if (_cache.TryGetValue(cacheKey, out var cached) && cached.Until > now)
        {
            return cached.Key;
        }

        var key = await _store.FindByHashAsync(hash, cancellationToken);
        if (key is not null && (key.RevokedAt is not null || !CryptographicOperations.FixedTimeEquals(key.Hash, hash)))
        {
            key = null;
        }

        if (_cache.Count > 100_000)
        {
            // Unknown secrets are cached too; a flood of them must not grow memory without bound.
            _cache.Clear();
        }

        _cache[cacheKey] = new CachedKey(key, now + CacheLifetime);
        return key;
    }

    /// <summary>Drops a revoked key from the cache so it answers 401 at once.</summary>
    public void Forget(ApiKey key) => _cache.TryRemove(Convert.ToBase64String(key.Hash), out _);

    private sealed record CachedKey(ApiKey? Key, DateTimeOffset Until);
}
