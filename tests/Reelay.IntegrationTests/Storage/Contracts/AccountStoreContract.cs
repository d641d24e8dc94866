using Reelay.Accounts;
using Reelay.Tasks;

namespace Reelay.IntegrationTests.Storage.Contracts;

/// <summary>
/// What every <see cref="IAccountStore"/> must do: credits move only with a ledger row, in one transaction with
/// the balance; rows are numbered without gaps however many moves run at once; no adjustment takes the
/// available credits below zero; the ledger cannot be rewritten, not even by hand.
/// </summary>
public abstract class AccountStoreContract : StoreContract
{
    [Fact]
    public async Task MoveCredits_TwentyTopUpsAtOnce_BalanceIsTheirSumAndRowsAreNumberedOneToTwenty()
    {
        var ct = TestContext.Current.CancellationToken;
        var (accountId, _) = await AccountWithKeyAsync(0, ct);

        var moves = await Task.WhenAll(Enumerable.Range(1, 20).Select(i =>
            Task.Run(() => Stores.Accounts.MoveCreditsAsync(accountId, new CreditMove(LedgerKind.TopUp, i, "top-up " + i, "admin", Now()), ct), ct)));

        Assert.All(moves, m => Assert.NotNull(m.Entry));
        var ledger = await Stores.Accounts.LedgerAsync(accountId, new LedgerQuery(100), ct);
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), ledger.Select(e => e.Sequence));
        Assert.Equal(210, (await Stores.Accounts.GetAsync(accountId, ct))!.Balance);
        Assert.Equal(210, ledger[^1].BalanceAfter);
    }

    [Fact]
    public async Task MoveCredits_AdjustmentBelowWhatIsAvailable_RefusedAndNothingMoves()
    {
        var ct = TestContext.Current.CancellationToken;
        var owner = await AccountWithKeyAsync(500, ct);
        Assert.Equal(CreateOutcome.Created, (await Stores.Tasks.CreateAsync(NewTask(owner, held: 300), new CreateRules(null, Now()), ct)).Outcome);

        var refused = await Stores.Accounts.MoveCreditsAsync(owner.AccountId, new CreditMove(LedgerKind.Adjust, -201, "too much", "admin", Now()), ct);
        var allowed = await Stores.Accounts.MoveCreditsAsync(owner.AccountId, new CreditMove(LedgerKind.Adjust, -200, "just enough", "admin", Now()), ct);

        Assert.True(refused.Refused);
        Assert.Null(refused.Entry);
        Assert.Equal((300L, 300L), (allowed.Account!.Balance, allowed.Account.Held));
        Assert.Equal(3, allowed.Entry!.Sequence);
    }

    [Fact]
    public async Task Ledger_RowChangedOrDeletedByHand_TheDatabaseRefuses()
    {
        var ct = TestContext.Current.CancellationToken;
        var (accountId, _) = await AccountWithKeyAsync(100, ct);
        await using var connection = Stores.Connect();

        foreach (var sql in (string[])["UPDATE ledger SET amount = 1000000", "DELETE FROM ledger"])
        {
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            var refused = await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => command.ExecuteNonQueryAsync(ct));
            Assert.Contains("append-only", refused.Message, StringComparison.Ordinal);
        }

        Assert.Equal(100, Assert.Single(await Stores.Accounts.LedgerAsync(accountId, new LedgerQuery(10), ct)).Amount);
    }

    [Fact]
    public async Task Revoke_ThenUpdate_RevokedAccountIsNoLongerChanged()
    {
        var ct = TestContext.Current.CancellationToken;
        var (accountId, _) = await AccountWithKeyAsync(0, ct);
        var account = (await Stores.Accounts.GetAsync(accountId, ct))!;
        var renamed = await Stores.Accounts.UpdateAsync(account with { Name = "Acme", Limits = new AccessLimits { MaxInFlight = 3, AllowedModels = ["grok-video-3"] } }, Now(), ct);

        Assert.Equal(("Acme", 3), (renamed!.Name, renamed.Limits.MaxInFlight));
        Assert.Equal(["grok-video-3"], renamed.Limits.AllowedModels!);
        Assert.NotNull(await Stores.Accounts.RevokeAsync(accountId, Now(), ct));
        Assert.Null(await Stores.Accounts.RevokeAsync(accountId, Now(), ct));
        Assert.Null(await Stores.Accounts.UpdateAsync(account with { Name = "Other" }, Now(), ct));
        Assert.Single(await Stores.Accounts.ListAsync(new AccountQuery(10, NameContains: "acm", Revoked: true), ct));
        Assert.Empty(await Stores.Accounts.ListAsync(new AccountQuery(10, Revoked: false), ct));
    }

    [Fact]
    public async Task Usage_ByModelAndDay_CountsWhatWasHeldAndCharged()
    {
        var ct = TestContext.Current.CancellationToken;
        var owner = await AccountWithKeyAsync(1_000, ct);
        await Stores.Tasks.CreateAsync(NewTask(owner, held: 100), new CreateRules(null, Now()), ct);
        var cancelled = (await Stores.Tasks.CreateAsync(NewTask(owner, held: 50), new CreateRules(null, Now()), ct)).Task!;
        await Stores.Tasks.CancelAsync(cancelled.Id, owner.KeyId, Now(), ct);

        var usage = await Stores.Accounts.UsageAsync(new UsageQuery(Now() - 60_000, Now() + 60_000, UsageGrouping.Model, ByDay: true) { AccountId = owner.AccountId }, ct);

        var row = Assert.Single(usage);
        Assert.Equal((DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), "grok-video-3", 2, 0, 1, 1, 100L, 0L),
            (row.Day, row.Group, row.Tasks, row.Completed, row.Failed, row.Unfinished, row.Held, row.Charged));
    }
}

public sealed class SqliteAccountStoreContract : AccountStoreContract
{
    protected override Task<StoreBackend> CreateBackendAsync(CancellationToken cancellationToken) => StoreBackend.SqliteAsync(cancellationToken);
}

public sealed class PostgresAccountStoreContract : AccountStoreContract
{
    protected override Task<StoreBackend> CreateBackendAsync(CancellationToken cancellationToken) => StoreBackend.PostgresAsync(cancellationToken);
}
