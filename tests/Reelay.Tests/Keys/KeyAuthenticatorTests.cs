using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Reelay.Accounts;
using Reelay.Keys;
using Reelay.Storage.Relational;
using Reelay.Storage.Sqlite;

namespace Reelay.Tests.Keys;

/// <summary>
/// The key caches over a real SQLite key store. What a cache holds is observed through revocation
/// done in the store alone (as another instance does it): a key still accepted after that was
/// answered from this instance's cache; one refused was looked up again.
/// </summary>
public sealed class KeyAuthenticatorTests : IAsyncDisposable
{
    private static readonly KeyCacheLimits SmallLimits = new(KnownKeys: 50, UnknownSecrets: 20);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "reelay-keys-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));
    private readonly SqliteDatabase _database;
    private readonly RelationalKeyStore _store;

    public KeyAuthenticatorTests()
    {
        Directory.CreateDirectory(_dir);
        _database = new SqliteDatabase(Path.Combine(_dir, "reelay.db"), new StorageOptions(), _time, NullLogger<SqliteDatabase>.Instance);
        _store = new RelationalKeyStore(_database);
    }

    public ValueTask DisposeAsync()
    {
        _database.Dispose();
        Directory.Delete(_dir, recursive: true);
        return ValueTask.CompletedTask;
    }

    private KeyAuthenticator NewAuthenticator() =>
        new(_store, _time, Options.Create(new KeyOptions { AdminKey = "sk-admin-" + Guid.NewGuid().ToString("N") }), new SingleInstanceKeyChanges(), SmallLimits);

    private async Task<List<(ApiKey Key, string Secret)>> IssueAsync(int count, CancellationToken ct)
    {
        var keys = new List<(ApiKey, string)>();
        for (var i = 0; i < count; i++)
        {
            // Each key in an account of its own, as POST /admin/keys makes them: a key without one is never found.
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            var account = new Account(Account.NewId(), "a" + i, 0, 0, false, now, now, null);
            var (key, secret) = ApiKey.Issue("k" + i, KeyMode.Test, now, account.Id);
            await _store.InsertWithAccountAsync(key, account, ct);
            keys.Add((key, secret));
        }

        return keys;
    }

    [Fact]
    public async Task FindClientKey_FloodOfUnknownSecretsFarPastBothLimits_ValidKeysStayCached()
    {
        var ct = TestContext.Current.CancellationToken;
        await _database.MigrateAsync(ct);
        using var authenticator = NewAuthenticator();
        var valid = await IssueAsync(SmallLimits.KnownKeys, ct);
        foreach (var (key, secret) in valid)
        {
            Assert.Equal(key.Id, (await authenticator.FindClientKeyAsync(secret, ct))?.Id);
        }

        // Revoked in the store only: from here on, only the cache can still accept these secrets.
        foreach (var (key, _) in valid)
        {
            Assert.NotNull(await _store.RevokeAsync(key.Id, _time.GetUtcNow().ToUnixTimeMilliseconds(), ct));
        }

        var flood = 100 * (SmallLimits.KnownKeys + SmallLimits.UnknownSecrets);
        for (var i = 0; i < flood; i++)
        {
            Assert.Null(await authenticator.FindClientKeyAsync("sk-test-unknown" + i, ct));
        }

        foreach (var (key, secret) in valid)
        {
            Assert.Equal(key.Id, (await authenticator.FindClientKeyAsync(secret, ct))?.Id);
        }

        // Once the cached lookups are stale the store is asked again, and says revoked.
        _time.Advance(TimeSpan.FromSeconds(11));
        foreach (var (_, secret) in valid)
        {
            Assert.Null(await authenticator.FindClientKeyAsync(secret, ct));
        }
    }

    [Fact]
    public async Task FindClientKey_MoreValidKeysThanTheLimit_EvictsSomeAndAsksTheStoreForThem()
    {
        var ct = TestContext.Current.CancellationToken;
        await _database.MigrateAsync(ct);
        using var authenticator = NewAuthenticator();
        var valid = await IssueAsync(3 * SmallLimits.KnownKeys, ct);
        foreach (var (_, secret) in valid)
        {
            Assert.NotNull(await authenticator.FindClientKeyAsync(secret, ct));
        }

        foreach (var (key, _) in valid)
        {
            await _store.RevokeAsync(key.Id, _time.GetUtcNow().ToUnixTimeMilliseconds(), ct);
        }

        var stillAccepted = 0;
        foreach (var (_, secret) in valid)
        {
            stillAccepted += await authenticator.FindClientKeyAsync(secret, ct) is null ? 0 : 1;
        }

        // Bounded: no more keys answered from memory than the cache may hold.
        Assert.InRange(stillAccepted, 0, SmallLimits.KnownKeys);
    }

    [Fact]
    public async Task Forget_RevokedThroughThisInstance_RefusedAtOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        await _database.MigrateAsync(ct);
        using var authenticator = NewAuthenticator();
        var (key, secret) = (await IssueAsync(1, ct))[0];
        Assert.NotNull(await authenticator.FindClientKeyAsync(secret, ct));

        var revoked = await _store.RevokeAsync(key.Id, _time.GetUtcNow().ToUnixTimeMilliseconds(), ct);
        await authenticator.ForgetAsync(revoked!);

        Assert.Null(await authenticator.FindClientKeyAsync(secret, ct));
    }
}
