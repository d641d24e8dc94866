using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace Reelay.Keys;

/// <summary>
/// Turns an <c>Authorization: Bearer</c> secret, with or without its <c>sk-</c> prefix, into a
/// <see cref="Caller"/>. Secrets are hashed first, so lookups and comparisons never touch the secret
/// itself; hashes are compared in constant time. Lookups are cached briefly so the hot path does
/// no I/O; revocation takes effect at once through this instance, and on the others as soon as
/// <see cref="IKeyChanges"/> tells them (without a shared bus, within <see cref="CacheLifetime"/>). The
/// caches are bounded, and a flood of unknown secrets cannot push valid keys out of theirs.
/// </summary>
public sealed class KeyAuthenticator : IDisposable
{
    /// <summary>How long a looked-up key is trusted without asking the store again (bounds revocation delay across instances).</summary>
    private static readonly TimeSpan CacheLifetime = TimeSpan.FromSeconds(10);

    /// <summary>How every issued secret begins (<c>sk-live-…</c>, <c>sk-test-…</c>, <c>sk-admin-…</c>).</summary>
    private const string SecretPrefix = "sk-";

    /// <summary>
    /// How long an unknown (or revoked) secret is answered without asking the store again: short, since
    /// these are what a flood of guesses is made of, and they must not hold memory long.
    /// </summary>
    private static readonly TimeSpan UnknownLifetime = TimeSpan.FromSeconds(2);

    private readonly IKeyStore _store;
    private readonly TimeProvider _time;
    private readonly IKeyChanges _changes;
    private readonly byte[] _adminHash;

    // Two caches, each bounded, evicting the least recently used: valid keys in one, unknown secrets in
    // the other, so a flood of unknown secrets evicts only other unknown secrets, never a valid key.
    private readonly MemoryCache _known;
    private readonly MemoryCache _unknown;

    public KeyAuthenticator(IKeyStore store, TimeProvider time, IOptions<KeyOptions> options, IKeyChanges changes)
        : this(store, time, options, changes, KeyCacheLimits.Default)
    {
    }

    internal KeyAuthenticator(IKeyStore store, TimeProvider time, IOptions<KeyOptions> options, IKeyChanges changes, KeyCacheLimits limits)
    {
        _store = store;
        _time = time;
        _changes = changes;
        _adminHash = Hash(options.Value.AdminKey!);
        _known = new MemoryCache(new MemoryCacheOptions { SizeLimit = limits.KnownKeys });
        _unknown = new MemoryCache(new MemoryCacheOptions { SizeLimit = limits.UnknownSecrets });
        changes.Subscribe(hash => _known.Remove(new HashKey(hash)));
    }

    /// <summary>
    /// SHA-256 of the secret as spelled with its <c>sk-</c> prefix, whether or not the client sent it: clients
    /// of new-api-style gateways strip <c>sk-</c> from keys, and both spellings must be one key — one hash,
    /// so one store lookup and one cache entry. Keys have always been issued with the prefix, so the hashes
    /// already stored are of this spelling; an admin key set without it is matched the same way.
    /// </summary>
    public static byte[] Hash(string secret) =>
        SHA256.HashData(Encoding.UTF8.GetBytes(secret.StartsWith(SecretPrefix, StringComparison.Ordinal) ? secret : SecretPrefix + secret));

    /// <summary>
    /// Who sends the secret, with one hash for both questions: the configured admin key
    /// (<c>Admin</c> true, no <c>Key</c>), an active key, or neither.
    /// </summary>
    public async ValueTask<(bool Admin, ApiKey? Key)> IdentifyAsync(string secret, CancellationToken cancellationToken)
    {
        var hash = Hash(secret);
        return CryptographicOperations.FixedTimeEquals(hash, _adminHash) ? (true, null) : (false, await FindByHashAsync(hash, cancellationToken));
    }

    /// <summary>The active key for the secret — a client key, or a named admin key (<see cref="KeyMode.Admin"/>) — or null.</summary>
    public ValueTask<ApiKey?> FindClientKeyAsync(string secret, CancellationToken cancellationToken) => FindByHashAsync(Hash(secret), cancellationToken);

    private async ValueTask<ApiKey?> FindByHashAsync(byte[] hash, CancellationToken cancellationToken)
    {
        var cacheKey = new HashKey(hash);
        var now = _time.GetUtcNow();
        if (_known.TryGetValue(cacheKey, out var known) && known is CachedKey { } cached && cached.Until > now)
        {
            return cached.Key;
        }

        if (_unknown.TryGetValue(cacheKey, out var unknown) && unknown is DateTimeOffset until && until > now)
        {
            return null;
        }

        var key = await _store.FindByHashAsync(hash, cancellationToken);
        if (key is not null && (key.RevokedAt is not null || !CryptographicOperations.FixedTimeEquals(key.Hash, hash)))
        {
            key = null;
        }

        // Size 1 per entry: the limits count entries. A full cache turns the new entry away and evicts its
        // least recently used 5 % in the background, making room for the next ones.
        if (key is null)
        {
            _known.Remove(cacheKey);
            using var entry = _unknown.CreateEntry(cacheKey);
            entry.Value = now + UnknownLifetime;
            entry.Size = 1;
        }
        else
        {
            using var entry = _known.CreateEntry(cacheKey);
            entry.Value = new CachedKey(key, now + CacheLifetime);
            entry.Size = 1;
        }

        return key;
    }

    /// <summary>
    /// Drops a revoked or changed key from the cache, here and on every other instance, so its next request
    /// reads the store. Completes once the other instances have been sent the notice: an admin answered
    /// "revoked" can rely on the key being refused everywhere.
    /// </summary>
    public Task ForgetAsync(ApiKey key)
    {
        _known.Remove(new HashKey(key.Hash));
        return _changes.PublishAsync(key.Hash);
    }

    public void Dispose()
    {
        _known.Dispose();
        _unknown.Dispose();
    }

    /// <summary>A SHA-256 as a cache key: compared by value, no string made of it.</summary>
    private readonly record struct HashKey(ulong A, ulong B, ulong C, ulong D)
    {
        public HashKey(ReadOnlySpan<byte> hash)
            : this(BitConverter.ToUInt64(hash), BitConverter.ToUInt64(hash[8..]), BitConverter.ToUInt64(hash[16..]), BitConverter.ToUInt64(hash[24..]))
        {
        }
    }

    private sealed record CachedKey(ApiKey Key, DateTimeOffset Until);
}

/// <summary>How many entries each key cache holds before it evicts the least recently used.</summary>
/// <param name="KnownKeys">Valid client keys.</param>
/// <param name="UnknownSecrets">Secrets the store did not know (or knew as revoked).</param>
internal sealed record KeyCacheLimits(int KnownKeys, int UnknownSecrets)
{
    /// <summary>Every key of a large deployment stays cached; guesses get a tenth of that (each entry ~200 bytes).</summary>
    public static readonly KeyCacheLimits Default = new(100_000, 10_000);
}
