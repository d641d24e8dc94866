using Reelay.Accounts;
using Reelay.Channels;
using Reelay.Keys;

namespace Reelay.IntegrationTests.Storage.Contracts;

/// <summary>What every <see cref="IKeyStore"/> must do: keys found by their hash, of live accounts only; revocation final.</summary>
public abstract class KeyStoreContract : StoreContract
{
    [Fact]
    public async Task FindByHash_KeyOfARevokedAccount_ReadsAsRevokedWithTheAccountsLimits()
    {
        var ct = TestContext.Current.CancellationToken;
        var now = Now();
        var account = new Account(Account.NewId(), "acct", 0, 0, false, now, now, null) { Limits = new AccessLimits { RequestsPerMinute = 30 } };
        var (key, secret) = ApiKey.Issue("k", KeyMode.Test, now, account.Id);
        await Stores.Keys.InsertWithAccountAsync(key, account, ct);

        var found = await Stores.Keys.FindByHashAsync(key.Hash, ct);
        await Stores.Accounts.RevokeAsync(account.Id, now, ct);
        var afterRevoke = await Stores.Keys.FindByHashAsync(key.Hash, ct);
        var (late, _) = ApiKey.Issue("late", KeyMode.Live, now, account.Id);

        Assert.Equal((key.Id, KeyMode.Test, account.Id, 30, (long?)null), (found!.Id, found.Mode, found.AccountId, found.AccountLimits.RequestsPerMinute, found.RevokedAt));
        Assert.NotNull(afterRevoke!.RevokedAt);
        Assert.False(await Stores.Keys.InsertAsync(late, ct));
        Assert.NotEmpty(secret);
    }

    [Fact]
    public async Task List_KeysAndAdminKeys_PagedAndFilteredApart()
    {
        var ct = TestContext.Current.CancellationToken;
        var (accountId, first) = await AccountWithKeyAsync(0, ct);
        var (second, _) = ApiKey.Issue("second", KeyMode.Test, Now() + 1, accountId);
        Assert.True(await Stores.Keys.InsertAsync(second, ct));
        var (admin, _) = ApiKey.Issue("ops", KeyMode.Admin, Now());
        Assert.True(await Stores.Keys.InsertAsync(admin, ct));

        var page1 = await Stores.Keys.ListAsync(new KeyQuery(1, AccountId: accountId), ct);
        var page2 = await Stores.Keys.ListAsync(new KeyQuery(1, page1[0].Id, AccountId: accountId), ct);
        var tests = await Stores.Keys.ListAsync(new KeyQuery(10, Mode: KeyMode.Test, Revoked: false), ct);
        var admins = await Stores.Keys.ListAsync(new KeyQuery(10, Mode: KeyMode.Admin), ct);
        var revoked = await Stores.Keys.RevokeAsync(admin.Id, Now(), ct);

        Assert.Equal([first, second.Id], [page1[0].Id, page2[0].Id]);
        Assert.Equal([second.Id], tests.Select(k => k.Id));
        Assert.Equal([admin.Id], admins.Select(k => k.Id));
        Assert.Equal(KeyMode.Admin, revoked!.Mode);
        Assert.NotNull((await Stores.Keys.FindByHashAsync(admin.Hash, ct))!.RevokedAt);
    }
}

/// <summary>What every <see cref="IChannelStore"/> must do: names unique without case, keys stored encrypted and read back in clear.</summary>
public abstract class ChannelStoreContract : StoreContract
{
    private static ChannelOptions Channel(string name) => new()
    {
        Name = name,
        Provider = "xai",
        BaseUrl = "https://api.x.ai",
        ApiKey = "xai-secret-" + name,
        Models = ["grok-imagine-video"],
        Priority = 2,
        Weight = 3,
        SubmitsPerMinute = 60,
        PollsPerMinute = 120,
        PollInterval = TimeSpan.FromSeconds(7),
        Project = "proj",
    };

    [Fact]
    public async Task Insert_NameTakenInAnotherCase_RefusedAndTheFirstStays()
    {
        var ct = TestContext.Current.CancellationToken;

        Assert.True(await Stores.Channels.InsertAsync(Channel("Main"), Now(), ct));
        Assert.False(await Stores.Channels.InsertAsync(Channel("main"), Now(), ct));

        var stored = Assert.Single(await Stores.Channels.ListAsync(ct));
        Assert.Equal(("Main", "xai-secret-Main", 3, TimeSpan.FromSeconds(7), "proj", true), (stored.Name, stored.ApiKey, stored.Weight, stored.PollInterval, stored.Project, stored.Enabled));
    }

    [Fact]
    public async Task UpdateAndDelete_ByNameInAnyCase_ChangeTheOneChannel()
    {
        var ct = TestContext.Current.CancellationToken;
        await Stores.Channels.InsertAsync(Channel("Main"), Now(), ct);
        var changed = Channel("MAIN");
        changed.Enabled = false;
        changed.ApiKey = "rotated";

        Assert.True(await Stores.Channels.UpdateAsync(changed, Now(), ct));
        var stored = Assert.Single(await Stores.Channels.ListAsync(ct));
        Assert.Equal((false, "rotated"), (stored.Enabled, stored.ApiKey));
        // Only ciphertext is stored: the key is not in the row as written.
        var secret = Assert.Single(await ((Reelay.Secrets.ISecretHolder)Stores.Channels).ReadProtectedAsync(ct));
        Assert.DoesNotContain("rotated", secret.Protected, StringComparison.Ordinal);
        Assert.True(await Stores.Channels.DeleteAsync("main", ct));
        Assert.Empty(await Stores.Channels.ListAsync(ct));
    }
}

public sealed class SqliteKeyStoreContract : KeyStoreContract
{
    protected override Task<StoreBackend> CreateBackendAsync(CancellationToken cancellationToken) => StoreBackend.SqliteAsync(cancellationToken);
}

public sealed class PostgresKeyStoreContract : KeyStoreContract
{
    protected override Task<StoreBackend> CreateBackendAsync(CancellationToken cancellationToken) => StoreBackend.PostgresAsync(cancellationToken);
}

public sealed class SqliteChannelStoreContract : ChannelStoreContract
{
    protected override Task<StoreBackend> CreateBackendAsync(CancellationToken cancellationToken) => StoreBackend.SqliteAsync(cancellationToken);
}

public sealed class PostgresChannelStoreContract : ChannelStoreContract
{
    protected override Task<StoreBackend> CreateBackendAsync(CancellationToken cancellationToken) => StoreBackend.PostgresAsync(cancellationToken);
}
