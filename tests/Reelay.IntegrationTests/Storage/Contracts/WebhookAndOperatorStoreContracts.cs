using Reelay.Audit;
using Reelay.Billing;
using Reelay.Catalog;
using Reelay.Tasks;
using Reelay.Webhooks;

namespace Reelay.IntegrationTests.Storage.Contracts;

/// <summary>What every <see cref="IWebhookStore"/> must do: deliveries leased to one notifier at a time, tries logged, secrets made once.</summary>
public abstract class WebhookStoreContract : StoreContract
{
    private async Task<string> AccountWithEndpointsAsync(int endpoints, CancellationToken ct)
    {
        var owner = await AccountWithKeyAsync(0, ct);
        for (var i = 0; i < endpoints; i++)
        {
            await Stores.Webhooks.InsertEndpointAsync(new WebhookEndpoint("we_" + Guid.NewGuid().ToString("N"), owner.AccountId, $"https://hooks.example/{i}", null, null, true, null, Now(), Now()), ct);
        }

        // A cancel is an end: its event goes to every endpoint of the account.
        var task = (await Stores.Tasks.CreateAsync(NewTask(owner), new CreateRules(null, Now()), ct)).Task!;
        Assert.NotNull(await Stores.Tasks.CancelAsync(task.Id, owner.KeyId, Now(), ct));
        return task.Id;
    }

    [Fact]
    public async Task Claim_TwoNotifiersAtOnce_EachDeliveryLeasedToOne()
    {
        var ct = TestContext.Current.CancellationToken;
        await AccountWithEndpointsAsync(12, ct);

        async Task<List<long>> NotifierAsync(string token)
        {
            var mine = new List<long>();
            while ((await Stores.Webhooks.ClaimAsync(Now(), token, Now() + 60_000, 2, ct)) is { Count: > 0 } batch)
            {
                mine.AddRange(batch.Select(d => d.Id));
            }

            return mine;
        }

        var both = await Task.WhenAll(Task.Run(() => NotifierAsync("a"), ct), Task.Run(() => NotifierAsync("b"), ct));

        Assert.Empty(both[0].Intersect(both[1]));
        Assert.Equal(12, both[0].Concat(both[1]).Distinct().Count());
    }

    [Fact]
    public async Task Record_DeliveredTry_LoggedAndNotClaimedAgain()
    {
        var ct = TestContext.Current.CancellationToken;
        var taskId = await AccountWithEndpointsAsync(1, ct);
        var delivery = Assert.Single(await Stores.Webhooks.ClaimAsync(Now(), "n", Now() + 60_000, 10, ct));

        Assert.True(await Stores.Webhooks.RecordAsync(delivery, new DeliveryOutcome(DeliveryState.Delivered, new WebhookAttempt(1, Now(), 200, 12, null), null), Now(), ct));
        Assert.False(await Stores.Webhooks.RecordAsync(delivery with { LeaseToken = "someone-else" }, new DeliveryOutcome(DeliveryState.Failed, new WebhookAttempt(1, Now(), 500, 12, null), null), Now(), ct));

        Assert.Empty(await Stores.Webhooks.ClaimAsync(Now(), "n2", Now() + 60_000, 10, ct));
        var log = Assert.Single(await Stores.Webhooks.ListDeliveriesAsync(taskId, null, 10, ct));
        Assert.Equal((DeliveryState.Delivered, WebhookEvents.Cancelled, 1, 200), (log.State, log.EventType, log.Attempts, Assert.Single(log.Tries).StatusCode));
    }

    [Fact]
    public async Task Backlog_DeliveredRetryingAndUntried_CountsOnlyThePendingByWhetherTheirTryIsDue()
    {
        var ct = TestContext.Current.CancellationToken;
        await AccountWithEndpointsAsync(3, ct);
        Assert.Equal(new WebhookBacklog(3, 0), await Stores.Webhooks.BacklogAsync(Now(), ct));

        var claimed = await Stores.Webhooks.ClaimAsync(Now(), "n", Now() + 60_000, 10, ct);
        Assert.Equal(3, claimed.Count);
        Assert.True(await Stores.Webhooks.RecordAsync(claimed[0], new DeliveryOutcome(DeliveryState.Delivered, new WebhookAttempt(1, Now(), 200, 12, null), null), Now(), ct));
        var retryAt = Now() + 60_000;
        Assert.True(await Stores.Webhooks.RecordAsync(claimed[1], new DeliveryOutcome(DeliveryState.Pending, new WebhookAttempt(1, Now(), 503, 12, "503"), retryAt), Now(), ct));

        // The third is still being tried: due. The second waits for its retry until retryAt, then is due again.
        Assert.Equal(new WebhookBacklog(1, 1), await Stores.Webhooks.BacklogAsync(Now(), ct));
        Assert.Equal(new WebhookBacklog(2, 0), await Stores.Webhooks.BacklogAsync(retryAt, ct));
    }

    [Fact]
    public async Task SigningSecrets_AskedTwiceThenRotated_OneSecretThenTheNewWithThePrevious()
    {
        var ct = TestContext.Current.CancellationToken;
        var (accountId, _) = await AccountWithKeyAsync(0, ct);

        var first = await Stores.Webhooks.SigningSecretsAsync(accountId, Now(), ct);
        var again = await Stores.Webhooks.SigningSecretsAsync(accountId, Now(), ct);
        var rotated = await Stores.Webhooks.RotateSecretAsync(accountId, Now(), Now() + 60_000, ct);
        var after = await Stores.Webhooks.SigningSecretsAsync(accountId, Now(), ct);

        Assert.Equal(first.Secrets, again.Secrets);
        Assert.Equal([rotated, first.Secrets[0]], after.Secrets);
    }
}

/// <summary>What the operator's stores must do, on every backend: prices and catalog entries keyed by name without case, the audit log newest first.</summary>
public abstract class OperatorStoresContract : StoreContract
{
    [Fact]
    public async Task Prices_UpsertInAnotherCase_OneRowWithTheLatestPrice()
    {
        var ct = TestContext.Current.CancellationToken;
        await Stores.Prices.UpsertAsync(new StoredPrice("Grok-Video-3", new Price(PriceUnit.Second, 50_000), Now()), ct);
        await Stores.Prices.UpsertAsync(new StoredPrice("grok-video-3", new Price(PriceUnit.Video, 70_000) { Sizes = new Dictionary<string, long> { ["1080P"] = 90_000 } }, Now()), ct);

        var price = Assert.Single(await Stores.Prices.ListAsync(ct));
        Assert.Equal((PriceUnit.Video, 70_000L, 90_000L), (price.Price.Unit, price.Price.Amount, price.Price.Sizes["1080P"]));
        Assert.True(await Stores.Prices.DeleteAsync("GROK-VIDEO-3", ct));
        Assert.Empty(await Stores.Prices.ListAsync(ct));
    }

    [Fact]
    public async Task Catalog_UpsertThenDelete_EntryRoundTripsItsOptions()
    {
        var ct = TestContext.Current.CancellationToken;
        await Stores.Catalog.UpsertAsync(new StoredModel("house-model", new ModelOptions { Aliases = ["hm"], Sizes = ["720P"], Description = "ours" }, Now()), ct);

        var entry = Assert.Single(await Stores.Catalog.ListAsync(ct));
        Assert.Equal(("house-model", "ours", "hm"), (entry.Name, entry.Options.Description, Assert.Single(entry.Options.Aliases)));
        Assert.True(await Stores.Catalog.DeleteAsync("HOUSE-model", ct));
        Assert.False(await Stores.Catalog.DeleteAsync("house-model", ct));
    }

    [Fact]
    public async Task Audit_WrittenInOrder_ListedNewestFirstAndFiltered()
    {
        var ct = TestContext.Current.CancellationToken;
        for (var i = 0; i < 5; i++)
        {
            await Stores.Audit.WriteAsync(new AuditEntry(Now(), i % 2 == 0 ? "admin" : "ops", "key.create", "key", "key_" + i, null, "{}") { Note = "n" + i }, ct);
        }

        var all = await Stores.Audit.ListAsync(new AuditQuery(10), ct);
        var byOps = await Stores.Audit.ListAsync(new AuditQuery(10, Actor: "ops"), ct);
        var older = await Stores.Audit.ListAsync(new AuditQuery(2, Before: all[1].Id), ct);

        Assert.Equal(["key_4", "key_3", "key_2", "key_1", "key_0"], all.Select(e => e.TargetId));
        Assert.Equal(["key_3", "key_1"], byOps.Select(e => e.TargetId));
        Assert.Equal(["key_2", "key_1"], older.Select(e => e.TargetId));
    }
}

public sealed class SqliteWebhookStoreContract : WebhookStoreContract
{
    protected override Task<StoreBackend> CreateBackendAsync(CancellationToken cancellationToken) => StoreBackend.SqliteAsync(cancellationToken);
}

public sealed class PostgresWebhookStoreContract : WebhookStoreContract
{
    protected override Task<StoreBackend> CreateBackendAsync(CancellationToken cancellationToken) => StoreBackend.PostgresAsync(cancellationToken);
}

public sealed class SqliteOperatorStoresContract : OperatorStoresContract
{
    protected override Task<StoreBackend> CreateBackendAsync(CancellationToken cancellationToken) => StoreBackend.SqliteAsync(cancellationToken);
}

public sealed class PostgresOperatorStoresContract : OperatorStoresContract
{
    protected override Task<StoreBackend> CreateBackendAsync(CancellationToken cancellationToken) => StoreBackend.PostgresAsync(cancellationToken);
}
