using Reelay.Accounts;
using Reelay.Keys;
using Reelay.Providers;
using Reelay.Tasks;
using Reelay.Webhooks;

namespace Reelay.IntegrationTests.Storage.Contracts;

/// <summary>
/// What every <see cref="ITaskStore"/> / <see cref="ITaskMonitor"/> must do, whatever the database: the
/// engine's rules (leases, fencing, attempts before the upstream call, one end and one settlement per task)
/// and the ledger's (holds in the insert's transaction, never an overdraft, the outbox written with the
/// change). One subclass per backend; each test gets a clean database, and its books are checked at the end.
/// Time is real time: leases are measured on the database's clock where the backend has one.
/// </summary>
public abstract class TaskStoreContract : StoreContract
{
    [Fact]
    public async Task Create_ThenGet_OwnerSeesTheTaskAndAnotherKeyDoesNot()
    {
        var ct = TestContext.Current.CancellationToken;
        var owner = await AccountWithKeyAsync(0, ct);
        var other = await AccountWithKeyAsync(0, ct);
        var task = await CreatedAsync(NewTask(owner), ct);

        var read = await Stores.Tasks.GetAsync(task.Id, owner.KeyId, ct);

        Assert.NotNull(read);
        Assert.Equal((task.Prompt, task.AspectRatio, TaskStage.Pending, owner.AccountId), (read.Prompt, read.AspectRatio, read.Stage, read.AccountId));
        // Client reads leave the request's images out.
        Assert.Empty(read.Images);
        Assert.Equal(task.Images, (await Stores.Monitor.GetAsync(task.Id, ct))!.Images);
        Assert.Null(await Stores.Tasks.GetAsync(task.Id, other.KeyId, ct));
    }

    [Fact]
    public async Task List_ManyInOneMillisecond_PagesInInsertionOrderWithoutGapsOrRepeats()
    {
        var ct = TestContext.Current.CancellationToken;
        var owner = await AccountWithKeyAsync(0, ct);
        var now = Now();
        var ids = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            var task = NewTask(owner) with { CreatedAt = now };
            ids.Add((await CreatedAsync(task, ct)).Id);
        }

        var seen = new List<string>();
        string? after = null;
        for (var page = 0; page < 4; page++)
        {
            var rows = await Stores.Tasks.ListAsync(owner.KeyId, new TaskPageRequest(3, after, Ascending: true), ct);
            seen.AddRange(rows.Select(r => r.Id));
            after = rows.Count > 0 ? rows[^1].Id : after;
        }

        Assert.Equal(ids, seen);
        var newestFirst = await Stores.Tasks.ListAsync(owner.KeyId, new TaskPageRequest(10, null, Ascending: false), ct);
        Assert.Equal(Enumerable.Reverse(ids), newestFirst.Select(t => t.Id));
    }

    [Fact]
    public async Task OperatorList_ByAccountStageAndPage_ReturnsOnlyThoseNewestFirst()
    {
        var ct = TestContext.Current.CancellationToken;
        var owner = await AccountWithKeyAsync(0, ct);
        var other = await AccountWithKeyAsync(0, ct);
        var now = Now();
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add((await CreatedAsync(NewTask(owner) with { CreatedAt = now }, ct)).Id);
        }

        await CreatedAsync(NewTask(other) with { CreatedAt = now }, ct);
        Assert.NotNull(await Stores.Tasks.CancelAsync(ids[1], owner.KeyId, Now(), ct));

        var pending = await Stores.Monitor.ListAsync(new TaskFilter(10) { AccountId = owner.AccountId, Stages = [TaskStage.Pending] }, ct);
        var ended = await Stores.Monitor.ListAsync(new TaskFilter(10) { KeyId = owner.KeyId, Stages = [TaskStage.Cancelled, TaskStage.Failed] }, ct);
        var page = await Stores.Monitor.ListAsync(new TaskFilter(2, After: ids[3]) { AccountId = owner.AccountId, From = now, To = now + 1 }, ct);

        Assert.Equal([ids[3], ids[2], ids[0]], pending.Select(t => t.Id));
        Assert.Equal([ids[1]], ended.Select(t => t.Id));
        Assert.Equal([ids[2], ids[1]], page.Select(t => t.Id));
    }

    [Fact]
    public async Task Claim_TwoConcurrentClaimers_EveryTaskLeasedToExactlyOne()
    {
        var ct = TestContext.Current.CancellationToken;
        var owner = await AccountWithKeyAsync(0, ct);
        for (var i = 0; i < 40; i++)
        {
            await CreatedAsync(NewTask(owner), ct);
        }

        // Two claimers of small batches racing until nothing is left, as two instances' dispatchers do.
        async Task<List<string>> ClaimerAsync(string token)
        {
            var mine = new List<string>();
            while (true)
            {
                var batch = await ClaimAsync(ClaimKind.Dispatch, token, TimeSpan.FromMinutes(5), ct, limit: 3);
                if (batch.Count == 0)
                {
                    return mine;
                }

                Assert.All(batch, t => Assert.Equal(token, t.LeaseToken));
                mine.AddRange(batch.Select(t => t.Id));
            }
        }

        var both = await Task.WhenAll(Task.Run(() => ClaimerAsync("a"), ct), Task.Run(() => ClaimerAsync("b"), ct));

        Assert.Empty(both[0].Intersect(both[1]));
        Assert.Equal(40, both[0].Concat(both[1]).Distinct().Count());
    }

    [Fact]
    public async Task Claim_LeaseLiveThenExpired_TakenAgainOnlyAfterExpiry()
    {
        var ct = TestContext.Current.CancellationToken;
        var owner = await AccountWithKeyAsync(0, ct);
        var task = await CreatedAsync(NewTask(owner), ct);
        var lease = TimeSpan.FromMilliseconds(400);

        var first = await ClaimAsync(ClaimKind.Dispatch, "first", lease, ct);
        var whileLive = await ClaimAsync(ClaimKind.Dispatch, "second", lease, ct);
        // The lease's length is the point of this test: time itself must pass (on both clocks; they are one here).
        await Task.Delay(lease + TimeSpan.FromMilliseconds(150), ct);
        var afterExpiry = await ClaimAsync(ClaimKind.Dispatch, "second", lease, ct);

        Assert.Equal(task.Id, Assert.Single(first).Id);
        Assert.Empty(whileLive);
        Assert.Equal("second", Assert.Single(afterExpiry).LeaseToken);
    }

    [Fact]
    public async Task FencedWrites_AfterTheLeaseWasTakenOver_ChangeNothing()
    {
        var ct = TestContext.Current.CancellationToken;
        var owner = await AccountWithKeyAsync(1_000, ct);
        var task = await CreatedAsync(NewTask(owner, held: 100), ct);
        var lost = new Lease(task.Id, Assert.Single(await ClaimAsync(ClaimKind.Dispatch, "lost", TimeSpan.FromMilliseconds(200), ct)).LeaseToken!);
        await Task.Delay(TimeSpan.FromMilliseconds(350), ct);
        var current = new Lease(task.Id, Assert.Single(await ClaimAsync(ClaimKind.Dispatch, "current", TimeSpan.FromMinutes(5), ct)).LeaseToken!);
        var attempt = new SubmitAttempt("xai-main", "xai", "grok-imagine-video", 1280, 720, []);

        Assert.False(await Stores.Tasks.RecordAttemptAsync(lost, attempt, ct));
        Assert.False(await Stores.Tasks.ExtendLeaseAsync(lost, Now() + 60_000, ct));
        Assert.False(await Stores.Tasks.FailAsync(lost, new TaskError("upstream_error", "late"), Now(), ct));
        Assert.False(await Stores.Tasks.RetryLaterAsync(lost, Now(), [], ct));

        Assert.True(await Stores.Tasks.RecordAttemptAsync(current, attempt, ct));
        var stored = (await Stores.Monitor.GetAsync(task.Id, ct))!;
        Assert.Equal((TaskStage.Submitting, 1, "current", "xai-main"), (stored.Stage, stored.Attempts, stored.LeaseToken, stored.Channel));
        Assert.Null(stored.Charged);
    }

    [Fact]
    public async Task Lifecycle_SubmitPollFinishComplete_ChargesOnceAndReleasesTheRest()
    {
        var ct = TestContext.Current.CancellationToken;
        var owner = await AccountWithKeyAsync(1_000, ct);
        var task = await CreatedAsync(NewTask(owner, held: 100), ct);
        var minute = TimeSpan.FromMinutes(1);

        var dispatch = new Lease(task.Id, Assert.Single(await ClaimAsync(ClaimKind.Dispatch, "d", minute, ct)).LeaseToken!);
        // Checkpoint under test: the attempt is stored before the upstream is called.
        Assert.True(await Stores.Tasks.RecordAttemptAsync(dispatch, new SubmitAttempt("xai-main", "xai", "grok-imagine-video", 1280, 720, []), ct));
        Assert.Equal(1, (await Stores.Monitor.GetAsync(task.Id, ct))!.Attempts);
        Assert.True(await Stores.Tasks.MarkRunningAsync(dispatch, "up-1", Now(), Now(), ct));
        Assert.False(await Stores.Tasks.MarkRunningAsync(dispatch, "up-1", Now(), Now(), ct));

        var poll = new Lease(task.Id, Assert.Single(await ClaimAsync(ClaimKind.Poll, "p", minute, ct)).LeaseToken!);
        Assert.True(await Stores.Tasks.SchedulePollAsync(poll, new PollUpdate(40, 0, Now(), "enhanced"), ct));
        poll = new Lease(task.Id, Assert.Single(await ClaimAsync(ClaimKind.Poll, "p2", minute, ct)).LeaseToken!);
        Assert.True(await Stores.Tasks.SchedulePollAsync(poll, new PollUpdate(20, 0, Now(), null), ct));
        Assert.Equal(40, (await Stores.Monitor.GetAsync(task.Id, ct))!.Progress);
        poll = new Lease(task.Id, Assert.Single(await ClaimAsync(ClaimKind.Poll, "p3", minute, ct)).LeaseToken!);
        Assert.True(await Stores.Tasks.MarkFinishingAsync(poll, "https://upstream.example/v.mp4", null, Now(), ct));

        var finish = new Lease(task.Id, Assert.Single(await ClaimAsync(ClaimKind.Finish, "f", minute, ct)).LeaseToken!);
        var video = new StoredVideo("videos/v.mp4", "thumbs/v.jpg", 1280, 720, 6.0, 12345);
        Assert.True(await Stores.Tasks.CompleteAsync(finish, video, 60, null, Now(), ct));
        Assert.False(await Stores.Tasks.CompleteAsync(finish, video, 60, null, Now(), ct));

        var done = (await Stores.Monitor.GetAsync(task.Id, ct))!;
        Assert.Equal((TaskStage.Completed, 100, 60L, 40L, "enhanced", 1280), (done.Stage, done.Progress, done.Charged, done.Released, done.EnhancedPrompt, done.Width));
        var account = (await Stores.Accounts.GetAsync(owner.AccountId, ct))!;
        Assert.Equal((940L, 0L), (account.Balance, account.Held));
        Assert.Equal([LedgerKind.Hold, LedgerKind.Charge, LedgerKind.Release], (await Stores.Accounts.TaskLedgerAsync(task.Id, ct)).Select(e => e.Kind));
    }

    [Fact]
    public async Task Create_FiftyAtOnceAgainstABalanceCoveringTen_ExactlyTenHeld()
    {
        var ct = TestContext.Current.CancellationToken;
        var owner = await AccountWithKeyAsync(10 * 250, ct);

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(() => Stores.Tasks.CreateAsync(NewTask(owner, held: 250), new CreateRules(null, Now()), ct), ct)));

        Assert.Equal(10, results.Count(r => r.Outcome == CreateOutcome.Created));
        Assert.Equal(40, results.Count(r => r.Outcome == CreateOutcome.InsufficientCredits));
        var account = (await Stores.Accounts.GetAsync(owner.AccountId, ct))!;
        Assert.Equal((2_500L, 2_500L), (account.Balance, account.Held));
        Assert.Equal(11, (await Stores.Accounts.LedgerAsync(owner.AccountId, new LedgerQuery(100), ct)).Count);
    }

    [Fact]
    public async Task Create_TwentyAtOnceWithOneIdempotencyKey_OneTaskAndEveryOtherCallerGetsIt()
    {
        var ct = TestContext.Current.CancellationToken;
        var owner = await AccountWithKeyAsync(100_000, ct);
        byte[] hash = [7, 7, 7];

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ =>
            Task.Run(() => Stores.Tasks.CreateAsync(NewTask(owner, held: 100, idempotencyKey: "order-42"), new CreateRules(hash, Now()), ct), ct)));

        var created = Assert.Single(results, r => r.Outcome == CreateOutcome.Created);
        Assert.All(results.Where(r => r != created), r => Assert.Equal((CreateOutcome.Replayed, created.Task!.Id), (r.Outcome, r.Task?.Id)));
        Assert.Equal(100, (await Stores.Accounts.GetAsync(owner.AccountId, ct))!.Held);

        var conflict = await Stores.Tasks.CreateAsync(NewTask(owner, held: 100, idempotencyKey: "order-42"), new CreateRules([9], Now()), ct);
        Assert.Equal((CreateOutcome.IdempotencyConflict, created.Task!.Id), (conflict.Outcome, conflict.EarlierTaskId));
    }

    [Fact]
    public async Task Create_ParallelPastAKeysInFlightLimit_OnlyTheLimitStored()
    {
        var ct = TestContext.Current.CancellationToken;
        var owner = await AccountWithKeyAsync(0, ct);
        var rules = new CreateRules(null, Now()) { KeyMaxInFlight = 3 };

        var results = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => Task.Run(() => Stores.Tasks.CreateAsync(NewTask(owner), rules, ct), ct)));

        Assert.Equal(3, results.Count(r => r.Outcome == CreateOutcome.Created));
        Assert.All(results.Where(r => r.Outcome != CreateOutcome.Created), r => Assert.Equal((CreateOutcome.KeyInFlightLimit, 3), (r.Outcome, r.InFlight)));
    }

    [Fact]
    public async Task Cancel_RacingAFailure_TheTaskEndsOnceAndSettlesOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        var owner = await AccountWithKeyAsync(10_000, ct);
        var tasks = new List<(VideoTask Task, Lease Lease)>();
        for (var i = 0; i < 10; i++)
        {
            var task = await CreatedAsync(NewTask(owner, held: 100), ct);
            var claimed = Assert.Single(await ClaimAsync(ClaimKind.Dispatch, "w" + i, TimeSpan.FromMinutes(1), ct, limit: 1));
            tasks.Add((task, new Lease(claimed.Id, claimed.LeaseToken!)));
        }

        var outcomes = await Task.WhenAll(tasks.Select(async t =>
        {
            var cancel = Task.Run(() => Stores.Tasks.CancelAsync(t.Lease.TaskId, owner.KeyId, Now(), ct), ct);
            var fail = Task.Run(() => Stores.Tasks.FailAsync(t.Lease, new TaskError("upstream_error", "boom"), Now(), ct), ct);
            return ((await cancel) is not null ? 1 : 0) + (await fail ? 1 : 0);
        }));

        Assert.All(outcomes, ended => Assert.Equal(1, ended));
        Assert.Equal((10_000L, 0L), ((await Stores.Accounts.GetAsync(owner.AccountId, ct))!.Balance, (await Stores.Accounts.GetAsync(owner.AccountId, ct))!.Held));
    }

    [Fact]
    public async Task ExpireOverdue_PastTheDeadline_FailsUnleasedTasksAndLeavesLeasedOnes()
    {
        var ct = TestContext.Current.CancellationToken;
        var owner = await AccountWithKeyAsync(1_000, ct);
        // The earlier due of the two is claimed alone: a worker holds it past its deadline.
        var leased = await CreatedAsync(NewTask(owner, held: 100, deadlineAt: Now() - 1_000) with { NextAt = Now() - 10_000 }, ct);
        var free = await CreatedAsync(NewTask(owner, held: 100, deadlineAt: Now() - 1_000), ct);
        Assert.Equal(leased.Id, Assert.Single(await ClaimAsync(ClaimKind.Dispatch, "busy", TimeSpan.FromMinutes(5), ct, limit: 1)).Id);

        var expired = await Stores.Tasks.ExpireOverdueAsync(Now(), ct);

        Assert.Equal([free.Id], expired.Select(t => t.Id));
        Assert.Equal((TaskStage.Failed, TaskErrors.Timeout), (expired[0].Stage, expired[0].Error?.Code));
        Assert.Equal(TaskStage.Pending, (await Stores.Monitor.GetAsync(leased.Id, ct))!.Stage);
    }

    [Fact]
    public async Task MarkRunning_TaskWithACallbackUrl_TheEventIsInTheOutboxWithTheChange()
    {
        var ct = TestContext.Current.CancellationToken;
        var owner = await AccountWithKeyAsync(0, ct);
        var task = await CreatedAsync(NewTask(owner, callbackUrl: "https://client.example/hook"), ct);
        var lease = new Lease(task.Id, Assert.Single(await ClaimAsync(ClaimKind.Dispatch, "d", TimeSpan.FromMinutes(1), ct)).LeaseToken!);
        Assert.Empty(await Stores.Webhooks.ClaimAsync(Now(), "n0", Now() + 60_000, 10, ct));

        Assert.True(await Stores.Tasks.RecordAttemptAsync(lease, new SubmitAttempt("xai-main", "xai", "grok-imagine-video", 1280, 720, []), ct));
        Assert.True(await Stores.Tasks.MarkRunningAsync(lease, "up-1", Now() + 60_000, Now(), ct));

        var delivery = Assert.Single(await Stores.Webhooks.ClaimAsync(Now(), "n1", Now() + 60_000, 10, ct));
        Assert.Equal((WebhookEvents.Processing, task.Id, "https://client.example/hook"), (delivery.EventType, delivery.TaskId, delivery.Url));
    }

    [Fact]
    public async Task Census_UnfinishedTasks_CountedPerStageWithWhatTheyHold()
    {
        var ct = TestContext.Current.CancellationToken;
        var owner = await AccountWithKeyAsync(1_000, ct);
        await CreatedAsync(NewTask(owner, held: 100), ct);
        await CreatedAsync(NewTask(owner, held: 50) with { NextAt = Now() + 3_600_000 }, ct);

        var census = await Stores.Monitor.CensusAsync(Now(), ct);

        var pending = Assert.Single(census);
        Assert.Equal((TaskStage.Pending, 2L, 1L, 150L), (pending.Stage, pending.Count, pending.Due, pending.Held));
        Assert.NotNull(await Stores.Tasks.NextDueAsync(ClaimKind.Dispatch, ct));
        Assert.Null(await Stores.Tasks.NextDueAsync(ClaimKind.Poll, ct));
    }
}

/// <summary>The task store contract on the embedded SQLite file.</summary>
public sealed class SqliteTaskStoreContract : TaskStoreContract
{
    protected override Task<StoreBackend> CreateBackendAsync(CancellationToken cancellationToken) => StoreBackend.SqliteAsync(cancellationToken);

    /// <summary>
    /// Creates (the group commit) and the engine's writes take turns on one connection, so neither finds
    /// the pages the other just wrote missing from its cache: after a warm-up, thirty rounds of a create
    /// and a lease extension read next to no page from the file. Were the extensions written on pooled
    /// connections, every commit after one would read the table's and its indexes' pages again.
    /// </summary>
    [Fact]
    public async Task Writes_CreatesAndEngineUpdatesTakingTurns_WriterReadsNoPageAgain()
    {
        var ct = TestContext.Current.CancellationToken;
        var owner = await AccountWithKeyAsync(0, ct);
        for (var i = 0; i < 300; i++)
        {
            await Stores.Tasks.CreateAsync(NewTask(owner) with { Prompt = $"filler {i} " + new string('x', 200) }, new CreateRules(null, Now()), ct);
        }

        var claimed = await Stores.Tasks.ClaimAsync(new ClaimRequest(ClaimKind.Dispatch, Now(), "lease-1", Now() + 60_000, 1), ct);
        var lease = new Lease(Assert.Single(claimed).Id, "lease-1");

        async Task RoundAsync(int i)
        {
            Assert.Equal(CreateOutcome.Created, (await Stores.Tasks.CreateAsync(NewTask(owner) with { Prompt = $"round {i}" }, new CreateRules(null, Now()), ct)).Outcome);
            Assert.True(await Stores.Tasks.ExtendLeaseAsync(lease, Now() + 60_000 + i, ct));
        }

        await RoundAsync(0);
        var before = await WriterCacheMissesAsync(ct);
        for (var i = 1; i <= 30; i++)
        {
            await RoundAsync(i);
        }

        var read = await WriterCacheMissesAsync(ct) - before;
        Assert.True(read < 10, $"the writer read {read} pages from the file in 30 rounds of a create and an engine write");
    }

    /// <summary>Pages the writer's connection has read from the file since it opened (<c>SQLITE_DBSTATUS_CACHE_MISS</c>).</summary>
    private async Task<int> WriterCacheMissesAsync(CancellationToken ct)
    {
        using var writer = await Stores.Sqlite!.EnterWriterAsync(ct);
        Assert.Equal(SQLitePCL.raw.SQLITE_OK, SQLitePCL.raw.sqlite3_db_status(writer.Session.Connection.Handle, 8 /* SQLITE_DBSTATUS_CACHE_MISS */, out var misses, out _, 0));
        return misses;
    }

    /// <summary>
    /// The insert binds its row by number on a statement the session keeps: a row its statement refuses
    /// fails its own create with SQLite's constraint error, the rows committed with it stand with every
    /// column as given, and the statement is ready for the next row.
    /// </summary>
    [Fact]
    public async Task Create_RowRefusedByItsStatementAmongConcurrentCreates_OnlyThatCreateFailsAndTheOthersAreStoredWhole()
    {
        var ct = TestContext.Current.CancellationToken;
        var owner = await AccountWithKeyAsync(0, ct);
        var first = NewTask(owner, callbackUrl: "https://hooks.example.com/reelay") with
        {
            NegativePrompt = "blurry", Seed = 4_294_967_295, Options = new Dictionary<string, string> { ["style"] = "anime" },
            TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        };
        var twin = NewTask(owner) with { Id = first.Id, Prompt = "the same id again" };
        var others = Enumerable.Range(0, 12).Select(i => NewTask(owner) with { Prompt = $"beside the twin {i}" }).ToList();

        var creates = others.Take(6).Append(first).Append(twin).Concat(others.Skip(6))
            .Select(task => Task.Run(() => Stores.Tasks.CreateAsync(task, new CreateRules(null, Now()), ct), ct)).ToList();
        await Task.WhenAll(creates.Select(create => create.ContinueWith(_ => { }, ct)));

        var refused = Assert.Single(creates, create => create.IsFaulted);
        var error = Assert.IsType<Microsoft.Data.Sqlite.SqliteException>(refused.Exception!.InnerException);
        Assert.Equal(19, error.SqliteErrorCode); // SQLITE_CONSTRAINT
        Assert.All(creates.Where(create => !create.IsFaulted), create => Assert.Equal(CreateOutcome.Created, create.Result.Outcome));
        foreach (var task in others)
        {
            Assert.Equal(task.Prompt, (await Stores.Tasks.GetAsync(task.Id, owner.KeyId, ct))?.Prompt);
        }

        var stored = (await Stores.Monitor.GetAsync(first.Id, ct))!;
        if (stored.Prompt == first.Prompt)
        {
            Assert.Equal(
                (first.NegativePrompt, first.Seed, first.CallbackUrl, first.TraceParent, "anime", first.Duration, first.Size),
                (stored.NegativePrompt, stored.Seed, stored.CallbackUrl, stored.TraceParent, stored.Options["style"], stored.Duration, stored.Size));
        }
        else
        {
            Assert.Equal((twin.Prompt, null, null), (stored.Prompt, stored.NegativePrompt, stored.Seed));
        }

        await CreatedAsync(NewTask(owner), ct);
    }

    /// <summary>
    /// Creates queued behind a writer of this process that holds the write gate past the busy timeout are
    /// each refused by their own deadline, none of them stored later; the next create after it is stored.
    /// </summary>
    [Fact]
    public async Task Create_WriteGateHeldPastTheBusyTimeout_EachRefusedInTimeNoneStoredAndTheNextStored()
    {
        var ct = TestContext.Current.CancellationToken;
        var busyTimeout = TimeSpan.FromMilliseconds(500);
        await using var backend = await StoreBackend.SqliteAsync(ct, new Reelay.Storage.Sqlite.StorageOptions { BusyTimeout = busyTimeout });
        var owner = await AccountWithKeyAsync(backend, 0, ct);
        var queued = Enumerable.Range(0, 8).Select(i => NewTask(owner) with { Prompt = $"behind the gate {i}" }).ToList();

        var started = System.Diagnostics.Stopwatch.StartNew();
        var creates = new List<Task<CreateResult>>();
        using (await backend.Sqlite!.EnterWriteAsync(ct))
        {
            creates.AddRange(queued.Select(task => Task.Run(() => backend.Tasks.CreateAsync(task, new CreateRules(null, Now()), ct), ct)));
            // Bounded, so that a create left waiting fails the test instead of hanging it.
            await Task.WhenAll(creates.Select(create => create.ContinueWith(_ => { }, ct))).WaitAsync(busyTimeout + TimeSpan.FromSeconds(10), ct);
        }

        var answeredAfter = started.Elapsed;
        Assert.All(creates, create => Assert.IsType<Reelay.Storage.StoreUnavailableException>(create.Exception?.InnerException));
        Assert.InRange(answeredAfter, busyTimeout * 0.9, busyTimeout + TimeSpan.FromSeconds(3));
        var next = NewTask(owner);
        Assert.Equal(CreateOutcome.Created, (await backend.Tasks.CreateAsync(next, new CreateRules(null, Now()), ct)).Outcome);
        foreach (var task in queued)
        {
            Assert.Null(await backend.Monitor.GetAsync(task.Id, ct));
        }

        Assert.NotNull(await backend.Monitor.GetAsync(next.Id, ct));
    }

    /// <summary>A create whose client leaves while it is queued is never stored; the creates after it are.</summary>
    [Fact]
    public async Task Create_ClientLeavesWhileQueued_NotStoredAndTheNextIsStored()
    {
        var ct = TestContext.Current.CancellationToken;
        var owner = await AccountWithKeyAsync(0, ct);
        var left = NewTask(owner);
        Task<CreateResult> leaving;
        using (var client = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            using (await Stores.Sqlite!.EnterWriteAsync(ct))
            {
                leaving = Task.Run(() => Stores.Tasks.CreateAsync(left, new CreateRules(null, Now()), client.Token), ct);
                await Task.Delay(100, ct);
                await client.CancelAsync();
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leaving);
            }
        }

        await CreatedAsync(NewTask(owner), ct);
        Assert.Null(await Stores.Monitor.GetAsync(left.Id, ct));
    }
}

/// <summary>The task store contract on a real PostgreSQL server, plus what only a shared database's clock can promise.</summary>
public sealed class PostgresTaskStoreContract : TaskStoreContract
{
    protected override Task<StoreBackend> CreateBackendAsync(CancellationToken cancellationToken) => StoreBackend.PostgresAsync(cancellationToken);

    [Fact]
    public async Task Claim_InstanceClockTenMinutesAhead_LiveLeaseIsNotTaken()
    {
        var ct = TestContext.Current.CancellationToken;
        var owner = await AccountWithKeyAsync(0, ct);
        var task = await CreatedAsync(NewTask(owner), ct);
        Assert.Single(await ClaimAsync(ClaimKind.Dispatch, "first", TimeSpan.FromMinutes(1), ct));

        // Another instance whose clock runs ten minutes fast: by its clock the lease ran out long ago.
        var ahead = Now() + 600_000;
        var stolen = await ClaimAsync(ClaimKind.Dispatch, "fast-clock", TimeSpan.FromMinutes(1), ct, now: ahead);

        Assert.Empty(stolen);
        Assert.Equal("first", Assert.Single(await Stores.Tasks.LiveLeasesAsync([task.Id], ahead, ct)).Token);
        Assert.Empty(await Stores.Tasks.ExpireOverdueAsync(ahead, ct));
    }
}
