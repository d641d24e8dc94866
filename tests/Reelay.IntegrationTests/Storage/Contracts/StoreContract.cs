using Reelay.Accounts;
using Reelay.Keys;
using Reelay.Tasks;

namespace Reelay.IntegrationTests.Storage.Contracts;

/// <summary>
/// The frame of every store contract suite (an abstract class of facts per store interface, one subclass per
/// backend, as Wolverine's compliance suites are built): each test gets a clean database of the backend, and
/// the books are checked when it ends. The helpers speak the domain: an account with credits and a key, a task.
/// </summary>
public abstract class StoreContract : IAsyncLifetime
{
    private StoreBackend? _stores;

    protected StoreBackend Stores => _stores ?? throw new InvalidOperationException("Not initialised.");

    /// <summary>A clean backend: migrated, empty.</summary>
    protected abstract Task<StoreBackend> CreateBackendAsync(CancellationToken cancellationToken);

    public async ValueTask InitializeAsync() => _stores = await CreateBackendAsync(TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_stores is not null)
        {
            await _stores.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    protected static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>An account with <paramref name="balance"/> micro-credits (a top-up on its ledger) and one live key in it.</summary>
    protected Task<(string AccountId, string KeyId)> AccountWithKeyAsync(long balance, CancellationToken ct) => AccountWithKeyAsync(Stores, balance, ct);

    /// <summary>As <see cref="AccountWithKeyAsync(long, CancellationToken)"/>, in a backend a test made for itself.</summary>
    protected static async Task<(string AccountId, string KeyId)> AccountWithKeyAsync(StoreBackend stores, long balance, CancellationToken ct)
    {
        var now = Now();
        var account = await stores.Accounts.CreateAsync(new Account(Account.NewId(), "acct", 0, 0, false, now, now, null),
            balance > 0 ? new CreditMove(LedgerKind.TopUp, balance, "test credits", "admin", now) : null, ct);
        var (key, _) = ApiKey.Issue("key", KeyMode.Live, now, account.Id);
        Assert.True(await stores.Keys.InsertAsync(key, ct));
        return (account.Id, key.Id);
    }

    protected static VideoTask NewTask((string AccountId, string KeyId) owner, long held = 0, string? idempotencyKey = null, long? deadlineAt = null, string? callbackUrl = null)
    {
        var now = Now();
        return new VideoTask
        {
            Id = "grok:" + Guid.NewGuid().ToString("D"),
            OwnerKeyId = owner.KeyId,
            AccountId = owner.AccountId,
            Mode = KeyMode.Live,
            Model = "grok-video-3",
            RequestedModel = "grok-video-3",
            Prompt = "a lighthouse at dusk",
            AspectRatio = "16:9",
            Size = "720P",
            Duration = 6,
            Images = ["https://images.example/one.png"],
            IdempotencyKey = idempotencyKey,
            CallbackUrl = callbackUrl,
            Stage = TaskStage.Pending,
            CreatedAt = now,
            UpdatedAt = now,
            NextAt = now,
            DeadlineAt = deadlineAt ?? now + 3_600_000,
            Held = held,
            UnitPrice = held,
        };
    }

    protected async Task<VideoTask> CreatedAsync(VideoTask task, CancellationToken ct, CreateRules? rules = null)
    {
        var result = await Stores.Tasks.CreateAsync(task, rules ?? new CreateRules([1, 2, 3], Now()), ct);
        Assert.Equal(CreateOutcome.Created, result.Outcome);
        return result.Task!;
    }

    protected Task<IReadOnlyList<VideoTask>> ClaimAsync(ClaimKind kind, string token, TimeSpan lease, CancellationToken ct, long? now = null, int limit = 100)
    {
        var at = now ?? Now();
        return Stores.Tasks.ClaimAsync(new ClaimRequest(kind, at, token, at + (long)lease.TotalMilliseconds, limit), ct);
    }

}
