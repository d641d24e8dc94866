using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Reelay.Billing;
using Reelay.Providers;
using Reelay.Storage.Relational;
using Reelay.Tasks;

namespace Reelay.Storage.Sqlite;

/// <summary>
/// <see cref="ITaskStore"/> on SQLite. SQLite has one writer at a time, so a claim (one UPDATE …
/// RETURNING) is atomic without row locks; every engine write matches the lease token. Statements
/// run on pooled sessions that keep them prepared; writes pass the in-process write gate.
/// </summary>
public sealed class SqliteTaskStore(SqliteDatabase database) : ITaskStore, ITaskMonitor
{
    private const string Unfinished = "('pending', 'submitting', 'running', 'finishing')";

    /// <summary>The query path's statement, made once: an interpolated string here would be built and hashed (to find its prepared statement) anew on every read.</summary>
    private static readonly string GetForOwnerSql = $"SELECT {TaskRows.ClientColumns} FROM tasks WHERE id = $id AND owner_key_id = $owner";

    private readonly System.Collections.Concurrent.ConcurrentQueue<PendingInsert> _inserts = new();

    /// <summary>1 while the commit pump runs.</summary>
    private int _pumping;

    private long _rowsWritten;

    /// <summary>Task rows inserted or changed since start: what tests and operators compare the engine's write rate with.</summary>
    public long RowsWritten => Interlocked.Read(ref _rowsWritten);

    /// <summary>
    /// Group commit: concurrent creates are queued, and one commit pump (<see cref="PumpAsync"/>) takes
    /// every queued insert into each transaction it commits. Each caller is answered only after the
    /// commit that holds its row, so the answer still means "stored durably"; under load one commit
    /// serves many, and a create costs no more than queueing and awaiting its answer. Every caller is
    /// answered within about the busy timeout: stored, or refused with
    /// <see cref="StoreUnavailableException"/> when its row is certainly not stored.
    /// </summary>
    public async Task<CreateResult> CreateAsync(VideoTask task, CreateRules rules, CancellationToken cancellationToken)
    {
        var pending = new PendingInsert(task, rules, Stopwatch.GetTimestamp() + (long)(database.BusyTimeout.TotalSeconds * Stopwatch.Frequency));
        _inserts.Enqueue(pending);
        if (Interlocked.CompareExchange(ref _pumping, 1, 0) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static store => _ = store.PumpAsync(), this, preferLocal: false);
        }

        CreateResult result;
        try
        {
            result = await pending.Done.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client left. If its row is still queued, no later commit may store a task nobody was
            // told of; if a commit already holds it, there is nobody left to tell either way.
            _ = pending.TryAbandon();
            throw;
        }

        if (result.Outcome != CreateOutcome.Replayed)
        {
            return result;
        }

        try
        {
            // Committed before this caller was answered; any key of the account may have made it.
            using var session = await database.RentSessionAsync(cancellationToken);
            var earlier = session.Command($"SELECT {TaskRows.ClientColumns} FROM tasks WHERE id = $id");
            earlier.Parameters.AddWithValue("$id", result.EarlierTaskId);
            return (await TaskRows.ReadAllAsync(earlier, cancellationToken)).SingleOrDefault() is { } stored
                ? result with { Task = stored }
                // The task was deleted since; its key still stands for it until the window ends.
                : result with { Outcome = CreateOutcome.IdempotencyConflict };
        }
        catch (SqliteException e) when (SqliteDatabase.IsUnavailable(e))
        {
            throw database.ReadFailed(e);
        }
    }

    /// <summary>
    /// Commits batches while creates are queued, one pump at a time (<see cref="_pumping"/>): a create
    /// that finds none running starts it. Each batch waits for the write gate no longer than the oldest
    /// queued create may wait; past that, the creates still queued by then are refused.
    /// </summary>
    private async Task PumpAsync()
    {
        do
        {
            try
            {
                while (_inserts.TryPeek(out var oldest))
                {
                    var gate = database.TryEnterWriteNow()
                        ?? await database.TryEnterWriteAsync(Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), oldest.Deadline), CancellationToken.None);
                    if (gate is not { } held)
                    {
                        RefuseOverdue();
                        continue;
                    }

                    using (held)
                    {
                        await CommitQueuedInsertsAsync();
                    }
                }
            }
            finally
            {
                Volatile.Write(ref _pumping, 0);
            }

            // A create queued after the last look, while the pump still ran, did not start another: look again.
        }
        while (!_inserts.IsEmpty && Interlocked.CompareExchange(ref _pumping, 1, 0) == 0);
    }

    /// <summary>Refuses the queued creates whose wait is over: never written, and now never will be. Only the pump dequeues.</summary>
    private void RefuseOverdue()
    {
        var now = Stopwatch.GetTimestamp();
        while (_inserts.TryPeek(out var oldest) && oldest.Deadline <= now && _inserts.TryDequeue(out _))
        {
            if (oldest.TryAbandon())
            {
                oldest.Done.TrySetException(database.QueuedTooLong());
            }
        }
    }

    /// <summary>
    /// Inserts everything queued in one transaction. A row its statement refuses (a constraint) fails
    /// only its caller, as does a refusal by a limit or the balance; the database refusing the
    /// transaction (locked past the batch's deadline, disk full, I/O error) fails every caller in the
    /// batch, and then none of their rows is stored.
    /// </summary>
    private async Task CommitQueuedInsertsAsync()
    {
        // Lets the creates already on their way (queued on the thread pool behind this one) join the
        // batch: a commit costs about the same WAL pages for one row as for many (the table's and each
        // index's last page), so under load a create then writes a third of the WAL bytes and costs about
        // a quarter less CPU (README, Benchmarks); alone, it costs one thread-pool hop.
        await Task.Yield();
        var batch = new List<PendingInsert>();
        var deadline = long.MaxValue;
        while (batch.Count < 512 && _inserts.TryDequeue(out var next))
        {
            if (next.TryTake())
            {
                batch.Add(next);
                deadline = Math.Min(deadline, next.Deadline);
            }
        }

        if (batch.Count == 0)
        {
            return;
        }

        // The commit must not be abandoned half-way because one caller went away.
        var outcomes = new Exception?[batch.Count];
        var results = new CreateResult[batch.Count];
        var books = new BatchBooks();
        var session = await RentForCommitAsync(batch);
        if (session is null)
        {
            return;
        }

        using (session)
        {
            try
            {
                // Waits for another process's writer no later than the earliest caller's deadline, so
                // every caller in the batch is answered within its own busy timeout.
                await database.BeginImmediateAsync(session.Connection, deadline);
                for (var i = 0; i < batch.Count; i++)
                {
                    try
                    {
                        results[i] = await CreateOneAsync(session, batch[i], books);
                    }
                    catch (SqliteException e) when (!SqliteDatabase.IsUnavailable(e) && session.Connection.Handle is { } handle
                        && SQLitePCL.raw.sqlite3_get_autocommit(handle) == 0)
                    {
                        // The statement alone was rolled back (ON CONFLICT ABORT); the transaction and the other rows stand.
                        outcomes[i] = e;
                    }
                }

                await books.WriteAsync(session);
                await session.Command("COMMIT").ExecuteNonQueryAsync();
            }
            catch (Exception e)
            {
                // Checkpoint: nothing of this batch is stored (SQLite may already have rolled back by
                // itself), and every caller in it is answered, whatever went wrong.
                session.Broken = !SqliteDatabase.RollBack(session.Connection);
                var failure = e is SqliteException sqlite && SqliteDatabase.IsUnavailable(sqlite) ? database.WriteFailed(sqlite) : e;
                foreach (var one in batch)
                {
                    one.Done.TrySetException(failure);
                }

                return;
            }
        }

        // Checkpoint: the commit holds every row not refused by its statement; each caller is told so.
        database.WriteSucceeded();
        Interlocked.Add(ref _rowsWritten, results.Count(result => result?.Outcome == CreateOutcome.Created));
        for (var i = 0; i < batch.Count; i++)
        {
            if (outcomes[i] is { } refused)
            {
                batch[i].Done.TrySetException(refused);
            }
            else
            {
                batch[i].Done.TrySetResult(results[i]);
            }
        }
    }

    private async Task<SqliteSession?> RentForCommitAsync(List<PendingInsert> batch)
    {
        try
        {
            return await database.RentWriterSessionAsync(CancellationToken.None);
        }
        catch (Exception e)
        {
            // Whatever stops the commit from starting, every caller taken into it is answered.
            foreach (var one in batch)
            {
                one.Done.TrySetException(e);
            }

            return null;
        }
    }

    /// <summary>
    /// One create inside the group commit's transaction: the idempotency key, the in-flight limits, the
    /// hold (a conditional update of the account row, so creates never overdraw however many run at once:
    /// each one sees the holds of those before it), the ledger row, the row. A refusal leaves nothing of
    /// this create behind and the batch goes on.
    /// </summary>
    private static async Task<CreateResult> CreateOneAsync(SqliteSession session, PendingInsert pending, BatchBooks books)
    {
        var (task, rules) = (pending.Task, pending.Rules);
        if (task.IdempotencyKey is { } idempotencyKey)
        {
            var earlier = session.Command("SELECT task_id, request_hash FROM idempotency_keys WHERE account_id = $account AND key = $key AND created_at > $since");
            earlier.Parameters.AddWithValue("$account", task.AccountId);
            earlier.Parameters.AddWithValue("$key", idempotencyKey);
            earlier.Parameters.AddWithValue("$since", rules.Now - (long)CreateRules.IdempotencyWindow.TotalMilliseconds);
            await using var reader = await earlier.ExecuteReaderAsync();
            if (await reader.ReadAsync())
            {
                var sameRequest = rules.RequestHash is { } hash && ((byte[])reader.GetValue(1)).AsSpan().SequenceEqual(hash);
                return new CreateResult(sameRequest ? CreateOutcome.Replayed : CreateOutcome.IdempotencyConflict, null) { EarlierTaskId = reader.GetString(0) };
            }
        }

        // Counted here rather than before the transaction: parallel creates each see the ones before them.
        if (rules.KeyMaxInFlight is { } keyMax && await CountUnfinishedAsync(session, "$owner", task.OwnerKeyId, keyMax) is var keyCount && keyCount >= keyMax)
        {
            return new CreateResult(CreateOutcome.KeyInFlightLimit, null) { InFlight = keyCount };
        }

        if (rules.AccountMaxInFlight is { } accountMax
            && await CountUnfinishedAsync(session, "(SELECT id FROM api_keys WHERE account_id = $owner)", task.AccountId, accountMax) is var accountCount && accountCount >= accountMax)
        {
            return new CreateResult(CreateOutcome.AccountInFlightLimit, null) { InFlight = accountCount };
        }

        // The first write of this create is its only one that may fail alone (a constraint on the row),
        // leaving the transaction as it was; a failure after it would leave half a create behind, so it
        // fails the whole batch instead (nothing of it is stored). No savepoint is needed, and none is
        // paid for: the holds and ledger rows cannot collide (their keys come from the account row).
        var wrote = false;
        try
        {
            if (task.Held > 0)
            {
                // With a key limit, the key's count is written before the hold's conditional insert.
                wrote = rules.KeyMaxSpendPerDay is not null;
                if (await HoldAsync(session, pending, books) is { } refused)
                {
                    return refused;
                }

                wrote = true;
            }

            Insert(session, task, pending.HoldSeq);
            wrote = true;

            if (task.IdempotencyKey is not null)
            {
                // A row past its window is taken over; a live one was ruled out above, in this transaction.
                var claim = session.Command("""
                    INSERT INTO idempotency_keys (account_id, key, request_hash, task_id, created_at) VALUES ($account, $key, $hash, $task, $now)
                    ON CONFLICT (account_id, key) DO UPDATE SET request_hash = excluded.request_hash, task_id = excluded.task_id, created_at = excluded.created_at
                    """);
                claim.Parameters.AddWithValue("$account", task.AccountId);
                claim.Parameters.AddWithValue("$key", task.IdempotencyKey);
                claim.Parameters.AddWithValue("$hash", rules.RequestHash ?? []);
                claim.Parameters.AddWithValue("$task", task.Id);
                claim.Parameters.AddWithValue("$now", rules.Now);
                await claim.ExecuteNonQueryAsync();
            }

            return new CreateResult(CreateOutcome.Created, task);
        }
        catch (SqliteException e) when (wrote && !SqliteDatabase.IsUnavailable(e))
        {
            throw new InvalidOperationException($"Task {task.Id} could not be stored after its hold was: the batch is rolled back.", e);
        }
    }

    private const string InsertSql = """
            INSERT INTO tasks (id, owner_key_id, mode, model, requested_model, prompt, negative_prompt, aspect_ratio, size,
                duration, seed, images_json, options_json, callback_url, idempotency_key, surface, remixed_from, stage,
                progress, created_at, updated_at, deadline_at, next_at, account_id, held, price_unit, unit_price, hold_seq, cancel_at, webhook_events, trace_parent)
            VALUES ($id, $owner, $mode, $model, $requested_model, $prompt, $negative_prompt, $aspect_ratio, $size,
                $duration, $seed, $images_json, $options_json, $callback_url, $idempotency_key, $surface, $remixed_from, $stage,
                $progress, $created_at, $updated_at, $deadline_at, $next_at, $account_id, $held, $price_unit, $unit_price, $hold_seq, $cancel_at, $webhook_events, $trace_parent)
            """;

    /// <summary>
    /// Holds the task's price on its account, in the batch's books (<see cref="BatchBooks"/>): the account
    /// as this transaction sees it, after the holds of the creates before this one, must cover the price
    /// (balance less open holds, unless unlimited) and stay within today's spend limit. A key with a daily
    /// limit has its own spend checked and counted by a conditional update. The ledger row is appended at
    /// once; the account row is written once for the batch. Null when held; otherwise why not, with
    /// nothing changed.
    /// </summary>
    private static async Task<CreateResult?> HoldAsync(SqliteSession session, PendingInsert pending, BatchBooks books)
    {
        var (task, rules) = (pending.Task, pending.Rules);
        var day = rules.Now / DayMilliseconds;
        var account = await books.GetAsync(session, task.AccountId);
        if (account is null || (!account.Unlimited && account.Balance - account.Held < task.Held))
        {
            return new CreateResult(CreateOutcome.InsufficientCredits, null) { Balance = account?.Balance ?? 0, HeldBefore = account?.Held ?? 0 };
        }

        var spentToday = account.SpendDay == day ? account.SpendToday : 0;
        if (rules.AccountMaxSpendPerDay is { } accountMax && spentToday + task.Held > accountMax)
        {
            return new CreateResult(CreateOutcome.AccountDailySpendLimit, null) { SpentToday = spentToday };
        }

        if (rules.KeyMaxSpendPerDay is { } keyMax)
        {
            // A key's spend is counted while it has a daily limit: the common create, without one, pays nothing for it.
            var key = session.Command("""
                UPDATE api_keys SET spend_today = (CASE WHEN spend_day = $day THEN spend_today ELSE 0 END) + $held, spend_day = $day
                WHERE id = $owner AND (CASE WHEN spend_day = $day THEN spend_today ELSE 0 END) + $held <= $max
                """);
            key.Parameters.AddWithValue("$day", day);
            key.Parameters.AddWithValue("$held", task.Held);
            key.Parameters.AddWithValue("$owner", task.OwnerKeyId);
            key.Parameters.AddWithValue("$max", keyMax);
            if (await key.ExecuteNonQueryAsync() == 0)
            {
                var spent = session.Command("SELECT CASE WHEN spend_day = $day THEN spend_today ELSE 0 END FROM api_keys WHERE id = $owner");
                spent.Parameters.AddWithValue("$day", day);
                spent.Parameters.AddWithValue("$owner", task.OwnerKeyId);
                return new CreateResult(CreateOutcome.KeyDailySpendLimit, null) { SpentToday = await spent.ExecuteScalarAsync() is long s ? s : 0 };
            }
        }

        await AppendLedgerAsync(session, new LedgerRow(task.AccountId, account.Seq + 1, "hold", task.Held, account.Balance, account.Held + task.Held, task.OwnerKeyId, task.Id, task.Model, task.CreatedAt));

        // Counted once its ledger row is in: a row that failed alone leaves the books as they were.
        account.Seq++;
        pending.HoldSeq = account.Seq;
        account.Held += task.Held;
        (account.SpendDay, account.SpendToday) = (day, spentToday + task.Held);
        account.Changed = true;
        return null;
    }

    /// <summary>
    /// The accounts a batch of creates holds on, as its transaction sees them: each row read once, the
    /// holds added up in memory in the order of the batch, and each changed row written once before the
    /// commit. That write is the conditional update that keeps the books: it applies only if the row is
    /// still what was read (its ledger count and holds) and the balance less the holds is not below
    /// zero unless unlimited; otherwise the whole batch fails and nothing of it is stored. The batch holds
    /// the write lock from its BEGIN IMMEDIATE, so no other writer, in this process or another, comes between.
    /// </summary>
    private sealed class BatchBooks
    {
        private readonly Dictionary<string, Books?> _accounts = new(StringComparer.Ordinal);

        public async Task<Books?> GetAsync(SqliteSession session, string accountId)
        {
            if (_accounts.TryGetValue(accountId, out var known))
            {
                return known;
            }

            var read = session.Command("SELECT balance, held, unlimited, ledger_seq, spend_day, spend_today FROM accounts WHERE id = $account");
            read.Parameters.AddWithValue("$account", accountId);
            Books? books = null;
            await using (var reader = await read.ExecuteReaderAsync())
            {
                if (await reader.ReadAsync())
                {
                    books = new Books(accountId, reader.GetInt64(1), reader.GetInt64(3))
                    {
                        Balance = reader.GetInt64(0),
                        Held = reader.GetInt64(1),
                        Unlimited = reader.GetInt64(2) == 1,
                        Seq = reader.GetInt64(3),
                        SpendDay = reader.GetInt64(4),
                        SpendToday = reader.GetInt64(5),
                    };
                }
            }

            _accounts[accountId] = books;
            return books;
        }

        public async Task WriteAsync(SqliteSession session)
        {
            foreach (var books in _accounts.Values)
            {
                if (books is not { Changed: true })
                {
                    continue;
                }

                var write = session.Command("""
                    UPDATE accounts SET held = $held, ledger_seq = $seq, spend_day = $day, spend_today = $spend
                    WHERE id = $account AND ledger_seq = $readSeq AND held = $readHeld AND (unlimited = 1 OR balance - $held >= 0)
                    """);
                write.Parameters.AddWithValue("$held", books.Held);
                write.Parameters.AddWithValue("$seq", books.Seq);
                write.Parameters.AddWithValue("$day", books.SpendDay);
                write.Parameters.AddWithValue("$spend", books.SpendToday);
                write.Parameters.AddWithValue("$account", books.AccountId);
                write.Parameters.AddWithValue("$readSeq", books.ReadSeq);
                write.Parameters.AddWithValue("$readHeld", books.ReadHeld);
                if (await write.ExecuteNonQueryAsync() != 1)
                {
                    throw new InvalidOperationException($"Account '{books.AccountId}' changed under a batch of creates holding on it; the batch is rolled back.");
                }
            }
        }
    }

    /// <summary>One account's row in <see cref="BatchBooks"/>: as read (<see cref="ReadHeld"/>, <see cref="ReadSeq"/>) and as the batch leaves it.</summary>
    private sealed class Books(string accountId, long readHeld, long readSeq)
    {
        public string AccountId { get; } = accountId;
        public long ReadHeld { get; } = readHeld;
        public long ReadSeq { get; } = readSeq;
        public long Balance { get; init; }
        public bool Unlimited { get; init; }
        public long Held { get; set; }
        public long Seq { get; set; }
        public long SpendDay { get; set; }
        public long SpendToday { get; set; }
        public bool Changed { get; set; }
    }

    /// <param name="owners">The key, or the subquery of an account's keys, whose unfinished tasks count.</param>
    private static async Task<int> CountUnfinishedAsync(SqliteSession session, string owners, string owner, int limit)
    {
        // Along the partial index on unfinished rows, per key; LIMIT stops the count at what the limit needs.
        var count = session.Command($"SELECT COUNT(*) FROM (SELECT 1 FROM tasks WHERE owner_key_id IN ({owners}) AND stage IN {Unfinished} LIMIT $limit)");
        count.Parameters.AddWithValue("$owner", owner);
        count.Parameters.AddWithValue("$limit", limit);
        return Convert.ToInt32(await count.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A ledger row as written; amounts are positive but for adjustments.</summary>
    internal sealed record LedgerRow(string AccountId, long Seq, string Kind, long Amount, long BalanceAfter, long HeldAfter, string? KeyId, string? TaskId, string? Model, long At)
    {
        public string? Reason { get; init; }
        public string? Actor { get; init; }
    }

    internal static async Task AppendLedgerAsync(SqliteSession session, LedgerRow row)
    {
        var insert = session.Command("""
            INSERT INTO ledger (account_id, seq, kind, amount, balance_after, held_after, key_id, task_id, model, reason, actor, at)
            VALUES ($account, $seq, $kind, $amount, $balanceAfter, $heldAfter, $key, $task, $model, $reason, $actor, $at)
            """);
        var p = insert.Parameters;
        p.AddWithValue("$account", row.AccountId);
        p.AddWithValue("$seq", row.Seq);
        p.AddWithValue("$kind", row.Kind);
        p.AddWithValue("$amount", row.Amount);
        p.AddWithValue("$balanceAfter", row.BalanceAfter);
        p.AddWithValue("$heldAfter", row.HeldAfter);
        p.AddWithValue("$key", (object?)row.KeyId ?? DBNull.Value);
        p.AddWithValue("$task", (object?)row.TaskId ?? DBNull.Value);
        p.AddWithValue("$model", (object?)row.Model ?? DBNull.Value);
        p.AddWithValue("$reason", (object?)row.Reason ?? DBNull.Value);
        p.AddWithValue("$actor", (object?)row.Actor ?? DBNull.Value);
        p.AddWithValue("$at", row.At);
        await insert.ExecuteNonQueryAsync();
    }

    /// <summary>Milliseconds in a day: daily spend limits count UTC days, numbered from the Unix epoch.</summary>
    internal const long DayMilliseconds = 86_400_000;

    /// <summary>
    /// A create waiting for the group commit, answered with what became of it. Its caller gives up
    /// (abandons) and a commit takes it (takes) by the same compare-and-swap, so a row is never
    /// written after its caller was told it was not.
    /// </summary>
    private sealed class PendingInsert(VideoTask task, CreateRules rules, long deadline)
    {
        private const int Queued = 0, Taken = 1, Abandoned = 2;

        private int _state;

        public VideoTask Task { get; } = task;

        public CreateRules Rules { get; } = rules;

        /// <summary>The number of its hold's ledger row, once held.</summary>
        public long? HoldSeq { get; set; }

        /// <summary>The <see cref="Stopwatch"/> timestamp by which its caller must be answered.</summary>
        public long Deadline { get; } = deadline;

        public TaskCompletionSource<CreateResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool TryTake() => Interlocked.CompareExchange(ref _state, Taken, Queued) == Queued;

        public bool TryAbandon() => Interlocked.CompareExchange(ref _state, Abandoned, Queued) == Queued;
    }

    public async Task<VideoTask?> GetAsync(string id, string ownerKeyId, CancellationToken cancellationToken)
    {
        using var session = await database.RentSessionAsync(cancellationToken);
        var command = session.Command(GetForOwnerSql);
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$owner", ownerKeyId);
        try
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? TaskRows.Read(reader) : null;
        }
        catch (SqliteException e) when (SqliteDatabase.IsUnavailable(e))
        {
            throw database.ReadFailed(e);
        }
    }

    /// <inheritdoc cref="ITaskMonitor.GetAsync"/>
    Task<VideoTask?> ITaskMonitor.GetAsync(string id, CancellationToken cancellationToken) =>
        ReadOneAsync($"SELECT {TaskRows.Columns} FROM tasks WHERE id = $id", cancellationToken, ("$id", id));

    /// <inheritdoc cref="ITaskMonitor.ListAsync"/>
    Task<IReadOnlyList<VideoTask>> ITaskMonitor.ListAsync(TaskFilter filter, CancellationToken cancellationToken)
    {
        // An operator's view, not a hot path.
        var (where, parameters) = TaskRows.OperatorFilter(filter, SqliteDialect.Instance);
        parameters.Add(("$limit", filter.Limit));
        return ReadAsync($"""
            SELECT {TaskRows.ClientColumns} FROM tasks {where}
            ORDER BY created_at DESC, rowid DESC LIMIT $limit
            """, write: false, cancellationToken, [.. parameters]);
    }

    public async Task<IReadOnlyList<VideoTask>> ListAsync(string ownerKeyId, TaskPageRequest page, CancellationToken cancellationToken)
    {
        // Keyset pagination on (created_at, rowid): insertion order even within one millisecond, stable under inserts, no OFFSET scans.
        var sql = page.Ascending
            ? $"""
              SELECT {TaskRows.ClientColumns} FROM tasks WHERE owner_key_id = $owner
                AND ($after IS NULL OR (created_at, rowid) > (SELECT created_at, rowid FROM tasks WHERE id = $after AND owner_key_id = $owner))
              ORDER BY created_at, rowid LIMIT $limit
              """
            : $"""
              SELECT {TaskRows.ClientColumns} FROM tasks WHERE owner_key_id = $owner
                AND ($after IS NULL OR (created_at, rowid) < (SELECT created_at, rowid FROM tasks WHERE id = $after AND owner_key_id = $owner))
              ORDER BY created_at DESC, rowid DESC LIMIT $limit
              """;
        return await ReadAsync(sql, write: false, cancellationToken, ("$owner", ownerKeyId), ("$after", page.After), ("$limit", page.Limit));
    }

    public async Task<VideoTask?> CancelAsync(string id, string ownerKeyId, long now, CancellationToken cancellationToken) =>
        // Clearing the lease fences out any worker still busy with it. Every column comes back: the
        // canceller needs the upstream job to stop and the request's stored images to delete.
        (await EndAsync($"""
            UPDATE tasks SET stage = 'cancelled', error_code = $code, error_message = 'Cancelled by the client.',
                updated_at = $now, completed_at = $now, lease_token = NULL, lease_until = NULL, {ReleaseAll}
            WHERE id = $id AND owner_key_id = $owner AND stage IN {Unfinished}
            RETURNING {TaskRows.Columns}
            """, now, cancellationToken, ("$id", id), ("$owner", ownerKeyId), ("$now", now), ("$code", TaskErrors.Cancelled))).SingleOrDefault();

    public async Task<VideoTask?> DeleteAsync(string id, string ownerKeyId, CancellationToken cancellationToken) =>
        (await ReadAsync(
            $"DELETE FROM tasks WHERE id = $id AND owner_key_id = $owner AND stage IN ('completed', 'failed', 'cancelled') RETURNING {TaskRows.ClientColumns}",
            write: true, cancellationToken, ("$id", id), ("$owner", ownerKeyId))).SingleOrDefault();

    public Task<IReadOnlyList<VideoTask>> ClaimAsync(ClaimRequest claim, CancellationToken cancellationToken)
    {
        var due = claim.Kind switch
        {
            ClaimKind.Dispatch => """
                SELECT id FROM tasks WHERE stage = 'pending' AND next_at <= $now AND (lease_until IS NULL OR lease_until < $now)
                UNION ALL
                SELECT id FROM tasks WHERE stage = 'submitting' AND (lease_until IS NULL OR lease_until < $now)
                """,
            ClaimKind.Poll => "SELECT id FROM tasks WHERE stage = 'running' AND next_at <= $now AND (lease_until IS NULL OR lease_until < $now) ORDER BY next_at",
            ClaimKind.Finish => "SELECT id FROM tasks WHERE stage = 'finishing' AND next_at <= $now AND (lease_until IS NULL OR lease_until < $now) ORDER BY next_at",
            _ => throw new ArgumentOutOfRangeException(nameof(claim)),
        };
        return ReadAsync($"""
            UPDATE tasks SET lease_token = $token, lease_until = $leaseUntil
            WHERE id IN (SELECT id FROM ({due}) LIMIT $limit)
            RETURNING {(claim.Kind == ClaimKind.Dispatch ? TaskRows.Columns : TaskRows.EngineColumns)}
            """, write: true, cancellationToken, ("$now", claim.Now), ("$token", claim.Token), ("$leaseUntil", claim.LeaseUntil), ("$limit", claim.Limit));
    }

    public Task<bool> ExtendLeaseAsync(Lease lease, long leaseUntil, CancellationToken cancellationToken) =>
        UpdateAsync("UPDATE tasks SET lease_until = $leaseUntil WHERE id = $task AND lease_token = $token",
            lease, cancellationToken, ("$leaseUntil", leaseUntil));

    public Task<bool> RecordAttemptAsync(Lease lease, SubmitAttempt attempt, CancellationToken cancellationToken) =>
        UpdateAsync("""
            UPDATE tasks SET stage = 'submitting', attempts = attempts + 1, channel = $channel, provider = $provider,
                upstream_model = $upstreamModel, width = $width, height = $height, route_json = $routeJson
            WHERE id = $task AND lease_token = $token AND stage IN ('pending', 'submitting')
            """, lease, cancellationToken, ("$channel", attempt.Channel), ("$provider", attempt.Provider), ("$upstreamModel", attempt.UpstreamModel),
            ("$width", attempt.Width), ("$height", attempt.Height), ("$routeJson", TaskRows.Json(attempt.Route)));

    public Task<bool> MarkRunningAsync(Lease lease, string upstreamId, long nextPollAt, long now, CancellationToken cancellationToken) =>
        UpdateWithEventAsync(Webhooks.WebhookEvents.Processing, now, """
            UPDATE tasks SET stage = 'running', upstream_id = $upstreamId, next_at = $nextPollAt, updated_at = $now,
                lease_token = NULL, lease_until = NULL
            WHERE id = $task AND lease_token = $token AND stage = 'submitting'
            """, lease, cancellationToken, ("$upstreamId", upstreamId), ("$nextPollAt", nextPollAt), ("$now", now));

    public Task<bool> RetryLaterAsync(Lease lease, long nextAt, IReadOnlyList<RouteStep> route, CancellationToken cancellationToken) =>
        UpdateAsync("""
            UPDATE tasks SET stage = 'pending', next_at = $nextAt, route_json = $routeJson, lease_token = NULL, lease_until = NULL
            WHERE id = $task AND lease_token = $token AND stage IN ('pending', 'submitting')
            """, lease, cancellationToken, ("$nextAt", nextAt), ("$routeJson", TaskRows.Json(route)));

    public Task<bool> SchedulePollAsync(Lease lease, PollUpdate update, CancellationToken cancellationToken) =>
        UpdateWithEventAsync(Webhooks.WebhookEvents.Progress, null, """
            UPDATE tasks SET progress = MAX(progress, $progress), polls = polls + 1, poll_failures = $pollFailures, next_at = $nextPollAt,
                enhanced_prompt = COALESCE($enhancedPrompt, enhanced_prompt), lease_token = NULL, lease_until = NULL
            WHERE id = $task AND lease_token = $token AND stage = 'running'
            """, lease, cancellationToken, ("$progress", update.Progress), ("$pollFailures", update.PollFailures), ("$nextPollAt", update.NextPollAt), ("$enhancedPrompt", update.EnhancedPrompt));

    // MIN: a task already due keeps its place in the line; true whenever the task is running.
    public async Task<bool> NudgePollAsync(string taskId, long now, CancellationToken cancellationToken) =>
        await WriteAsync("UPDATE tasks SET next_at = MIN(next_at, $now) WHERE id = $id AND stage = 'running'",
            cancellationToken, ("$id", taskId), ("$now", now)) == 1;

    // Along ix_tasks_due: only running tasks scheduled later than now are read.
    public Task<int> WakeRunningAsync(string provider, long now, CancellationToken cancellationToken) =>
        WriteAsync("UPDATE tasks SET next_at = $now WHERE stage = 'running' AND next_at > $now AND provider = $provider",
            cancellationToken, ("$provider", provider), ("$now", now));

    public Task<bool> MarkFinishingAsync(Lease lease, string resultLocation, string? enhancedPrompt, long now, CancellationToken cancellationToken) =>
        UpdateAsync("""
            UPDATE tasks SET stage = 'finishing', result_location = $resultLocation, polls = polls + 1, poll_failures = 0,
                progress = MAX(progress, 99), enhanced_prompt = COALESCE($enhancedPrompt, enhanced_prompt),
                next_at = $now, lease_token = NULL, lease_until = NULL
            WHERE id = $task AND lease_token = $token AND stage = 'running'
            """, lease, cancellationToken, ("$resultLocation", resultLocation), ("$enhancedPrompt", enhancedPrompt), ("$now", now));

    public Task<bool> PostponeAsync(Lease lease, long nextAt, CancellationToken cancellationToken) =>
        UpdateAsync("""
            UPDATE tasks SET next_at = $nextAt, lease_token = NULL, lease_until = NULL
            WHERE id = $task AND lease_token = $token AND stage IN ('pending', 'running', 'finishing')
            """, lease, cancellationToken, ("$nextAt", nextAt));

    public Task<bool> DeferFinishAsync(Lease lease, int failures, long nextAt, CancellationToken cancellationToken) =>
        UpdateAsync("""
            UPDATE tasks SET poll_failures = $failures, next_at = $nextAt, lease_token = NULL, lease_until = NULL
            WHERE id = $task AND lease_token = $token AND stage = 'finishing'
            """, lease, cancellationToken, ("$failures", failures), ("$nextAt", nextAt));

    public async Task<bool> CompleteAsync(Lease lease, StoredVideo video, long charge, long? upstreamCost, long now, CancellationToken cancellationToken) =>
        // MIN: a charge is never more than the hold; the rest of the hold is released in the same statement.
        (await EndAsync($"""
            UPDATE tasks SET stage = 'completed', progress = 100, video_key = $videoKey, thumbnail_key = $thumbnailKey,
                width = $width, height = $height, video_duration = $duration, video_bytes = $bytes, upstream_cost = $upstreamCost,
                updated_at = $now, completed_at = $now, lease_token = NULL, lease_until = NULL,
                charged = MIN(held, MAX(0, $charge)), released = held - MIN(held, MAX(0, $charge))
            WHERE id = $task AND lease_token = $token AND stage = 'finishing'
            RETURNING {TaskRows.EngineColumns}
            """, now, cancellationToken, ("$task", lease.TaskId), ("$token", lease.Token), ("$videoKey", video.VideoKey), ("$thumbnailKey", video.ThumbnailKey),
            ("$width", video.Width), ("$height", video.Height), ("$duration", video.DurationSeconds), ("$bytes", video.Bytes),
            ("$upstreamCost", upstreamCost), ("$charge", charge), ("$now", now))).Count == 1;

    public async Task<bool> FailAsync(Lease lease, TaskError failure, long now, CancellationToken cancellationToken) =>
        (await EndAsync($"""
            UPDATE tasks SET stage = 'failed', error_code = $code, error_message = $message,
                updated_at = $now, completed_at = $now, lease_token = NULL, lease_until = NULL, {ReleaseAll}
            WHERE id = $task AND lease_token = $token AND stage IN {Unfinished}
            RETURNING {TaskRows.EngineColumns}
            """, now, cancellationToken, ("$task", lease.TaskId), ("$token", lease.Token), ("$code", failure.Code), ("$message", failure.Message), ("$now", now))).Count == 1;

    public Task ReleaseAsync(Lease lease, CancellationToken cancellationToken) =>
        UpdateAsync("UPDATE tasks SET lease_token = NULL, lease_until = NULL WHERE id = $task AND lease_token = $token", lease, cancellationToken);

    public Task<IReadOnlyList<VideoTask>> ExpireOverdueAsync(long now, CancellationToken cancellationToken) =>
        EndAsync($"""
            UPDATE tasks SET stage = 'failed', error_code = $code,
                error_message = 'The task did not finish within its model''s maximum lifetime.',
                updated_at = $now, completed_at = $now, lease_token = NULL, lease_until = NULL, {ReleaseAll}
            WHERE id IN (SELECT id FROM tasks WHERE stage IN {Unfinished} AND deadline_at < $now)
              AND (lease_until IS NULL OR lease_until < $now)
            RETURNING {TaskRows.Columns}
            """, now, cancellationToken, ("$now", now), ("$code", TaskErrors.Timeout));

    public Task<IReadOnlyList<VideoTask>> CancelOverdueAsync(long now, CancellationToken cancellationToken) =>
        // Along ix_tasks_cancel_at (its WHERE repeated so the planner may use it). The lease is cleared as a
        // client's cancel clears it: the deadline is the client's word, and a worker busy with the task then
        // changes nothing more.
        EndAsync($"""
            UPDATE tasks SET stage = 'cancelled', error_code = $code,
                error_message = 'Cancelled: the task passed the deadline its client set (Cancel-After or timeout).',
                updated_at = $now, completed_at = $now, lease_token = NULL, lease_until = NULL, {ReleaseAll}
            WHERE id IN (SELECT id FROM tasks WHERE cancel_at IS NOT NULL AND stage IN {Unfinished} AND cancel_at <= $now)
            RETURNING {TaskRows.Columns}
            """, now, cancellationToken, ("$now", now), ("$code", TaskErrors.Cancelled));

    /// <summary>The settlement of a task that ends without a result: nothing charged, the whole hold released.</summary>
    private const string ReleaseAll = "charged = 0, released = held";

    /// <summary>
    /// The one way tasks end. <paramref name="sql"/> moves tasks to completed, failed or cancelled —
    /// naming the stages they may come from — sets <c>charged</c> and <c>released</c> (together the
    /// hold), and returns the rows it changed. In the same transaction each ended task's hold leaves its
    /// account: the charge comes off the balance, the hold off the open holds, and a ledger row records
    /// each movement. So a task that ended has settled, exactly once (a second end finds no unfinished
    /// row), and a crash between the two is impossible. Whatever else must happen when a task ends
    /// atomically with it belongs here too.
    /// </summary>
    private async Task<IReadOnlyList<VideoTask>> EndAsync(string sql, long now, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        using var writer = await database.EnterWriterAsync(cancellationToken);
        var session = writer.Session;
        try
        {
            await database.BeginImmediateAsync(session.Connection, Stopwatch.GetTimestamp() + (long)(database.BusyTimeout.TotalSeconds * Stopwatch.Frequency));
            var end = session.Command(sql);
            Bind(end, parameters);
            var ended = await TaskRows.ReadAllAsync(end, cancellationToken);
            foreach (var task in ended)
            {
                await SettleAsync(session, task, now);

                // Checkpoint: the end's webhook event is in the outbox exactly when the end is stored.
                await SqliteWebhookEvents.AddEventAsync(session, task.Id, RelationalWebhookStore.EndEventOf(task.Stage), now);
            }

            await session.Command("COMMIT").ExecuteNonQueryAsync(CancellationToken.None);
            database.WriteSucceeded();
            Interlocked.Add(ref _rowsWritten, ended.Count);
            return ended;
        }
        catch (Exception e)
        {
            session.Broken = !SqliteDatabase.RollBack(session.Connection);
            if (e is SqliteException sqlite && SqliteDatabase.IsUnavailable(sqlite))
            {
                throw database.WriteFailed(sqlite);
            }

            throw;
        }
    }

    /// <summary>Moves an ended task's hold off its account: the charge from the balance, the rest back to what is available.</summary>
    private static async Task SettleAsync(SqliteSession session, VideoTask task, long now)
    {
        if (task.Held <= 0)
        {
            return;
        }

        var (charged, released) = (task.Charged ?? 0, task.Released ?? task.Held);
        var rows = (charged > 0 ? 1 : 0) + (released > 0 ? 1 : 0);
        var day = task.CreatedAt / DayMilliseconds;
        var account = session.Command("""
            UPDATE accounts SET balance = balance - $charged, held = held - $held, ledger_seq = ledger_seq + $rows,
                spend_today = spend_today - CASE WHEN spend_day = $day THEN $released ELSE 0 END
            WHERE id = $account
            RETURNING balance, held, ledger_seq
            """);
        account.Parameters.AddWithValue("$charged", charged);
        account.Parameters.AddWithValue("$held", task.Held);
        account.Parameters.AddWithValue("$rows", rows);
        account.Parameters.AddWithValue("$day", day);
        account.Parameters.AddWithValue("$released", released);
        account.Parameters.AddWithValue("$account", task.AccountId);
        long balance, held, seq;
        await using (var reader = await account.ExecuteReaderAsync())
        {
            if (!await reader.ReadAsync())
            {
                // Accounts are never deleted; ending the task without moving its hold would break the books.
                throw new InvalidDataException($"Task {task.Id} holds credits of account '{task.AccountId}', which does not exist.");
            }

            (balance, held, seq) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
        }

        if (released > 0)
        {
            // MAX: a key's spend is counted only while it has a daily limit, so a hold made before one was set is not in it.
            var key = session.Command("UPDATE api_keys SET spend_today = MAX(0, spend_today - CASE WHEN spend_day = $day THEN $released ELSE 0 END) WHERE id = $owner AND spend_today > 0");
            key.Parameters.AddWithValue("$day", day);
            key.Parameters.AddWithValue("$released", released);
            key.Parameters.AddWithValue("$owner", task.OwnerKeyId);
            await key.ExecuteNonQueryAsync();
        }

        var first = seq - rows + 1;
        var located = session.Command("UPDATE tasks SET settle_seq = $first WHERE id = $id");
        located.Parameters.AddWithValue("$first", first);
        located.Parameters.AddWithValue("$id", task.Id);
        await located.ExecuteNonQueryAsync();
        if (charged > 0)
        {
            await AppendLedgerAsync(session, new LedgerRow(task.AccountId, first, "charge", charged, balance, held + released, task.OwnerKeyId, task.Id, task.Model, now));
        }

        if (released > 0)
        {
            await AppendLedgerAsync(session, new LedgerRow(task.AccountId, seq, "release", released, balance, held, task.OwnerKeyId, task.Id, task.Model, now));
        }
    }

    public async Task<int> CountLocalBacklogAsync(CancellationToken cancellationToken)
    {
        using var session = await database.RentSessionAsync(cancellationToken);
        var command = session.Command($"SELECT COUNT(*) FROM tasks WHERE stage IN {Unfinished} AND (mode = 'test' OR channel = 'local')");
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task<IReadOnlyList<Lease>> LiveLeasesAsync(IReadOnlyCollection<string> taskIds, long now, CancellationToken cancellationToken)
    {
        // One statement however many ids: json_each turns the array into rows the primary key is probed with.
        using var session = await database.RentSessionAsync(cancellationToken);
        var command = session.Command("SELECT id, lease_token FROM tasks WHERE id IN (SELECT value FROM json_each($ids)) AND lease_until > $now");
        command.Parameters.AddWithValue("$ids", TaskRows.Json([.. taskIds]));
        command.Parameters.AddWithValue("$now", now);
        var leases = new List<Lease>();
        try
        {
            using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                leases.Add(new Lease(reader.GetString(0), reader.GetString(1)));
            }
        }
        catch (SqliteException e) when (SqliteDatabase.IsUnavailable(e))
        {
            throw database.ReadFailed(e);
        }

        return leases;
    }

    public async Task<IReadOnlySet<string>> UnfinishedLocalTaskIdsAsync(CancellationToken cancellationToken)
    {
        // The attempt names its provider before the submission that creates the job directory, so every
        // directory the renderer may still read belongs to one of these rows.
        using var session = await database.RentSessionAsync(cancellationToken);
        var command = session.Command($"SELECT id FROM tasks WHERE stage IN {Unfinished} AND provider = $provider");
        command.Parameters.AddWithValue("$provider", ProviderNames.Local);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                ids.Add(reader.GetString(0));
            }
        }
        catch (SqliteException e) when (SqliteDatabase.IsUnavailable(e))
        {
            throw database.ReadFailed(e);
        }

        return ids;
    }

    /// <inheritdoc cref="ITaskMonitor.CensusAsync"/>
    async Task<IReadOnlyList<StageCensus>> ITaskMonitor.CensusAsync(long now, CancellationToken cancellationToken)
    {
        // Along ix_tasks_due, one range per unfinished stage; the finished tasks, however many, are never read.
        using var session = await database.RentSessionAsync(cancellationToken);
        var command = session.Command($"""
            SELECT stage, COUNT(*), COALESCE(SUM(next_at <= $now), 0), COALESCE(SUM(held), 0)
            FROM tasks WHERE stage IN {Unfinished} GROUP BY stage
            """);
        command.Parameters.AddWithValue("$now", now);
        try
        {
            var census = new List<StageCensus>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                census.Add(new StageCensus(TaskRows.ParseStage(reader.GetString(0)), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3)));
            }

            return census;
        }
        catch (SqliteException e) when (SqliteDatabase.IsUnavailable(e))
        {
            throw database.ReadFailed(e);
        }
    }

    public async Task<long?> NextDueAsync(ClaimKind kind, CancellationToken cancellationToken)
    {
        var stage = TaskRows.ToText(kind switch
        {
            ClaimKind.Dispatch => TaskStage.Pending,
            ClaimKind.Poll => TaskStage.Running,
            _ => TaskStage.Finishing,
        });
        using var session = await database.RentSessionAsync(cancellationToken);
        var command = session.Command("SELECT MIN(next_at) FROM tasks WHERE stage = $stage");
        command.Parameters.AddWithValue("$stage", stage);
        try
        {
            return await command.ExecuteScalarAsync(cancellationToken) is long next ? next : null;
        }
        catch (SqliteException e) when (SqliteDatabase.IsUnavailable(e))
        {
            throw database.ReadFailed(e);
        }
    }

    private async Task<VideoTask?> ReadOneAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters) =>
        (await ReadAsync(sql, write: false, cancellationToken, parameters)).SingleOrDefault();

    private async Task<IReadOnlyList<VideoTask>> ReadAsync(string sql, bool write, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        if (!write)
        {
            using var session = await database.RentSessionAsync(cancellationToken);
            var query = session.Command(sql);
            Bind(query, parameters);
            try
            {
                return await TaskRows.ReadAllAsync(query, cancellationToken);
            }
            catch (SqliteException e) when (SqliteDatabase.IsUnavailable(e))
            {
                throw database.ReadFailed(e);
            }
        }

        using var writer = await database.EnterWriterAsync(cancellationToken);
        var command = writer.Session.Command(sql);
        Bind(command, parameters);
        try
        {
            var rows = await TaskRows.ReadAllAsync(command, cancellationToken);
            database.WriteSucceeded();
            Interlocked.Add(ref _rowsWritten, rows.Count);
            return rows;
        }
        catch (SqliteException e) when (SqliteDatabase.IsUnavailable(e))
        {
            throw database.WriteFailed(e);
        }
    }

    private async Task<int> WriteAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        using var writer = await database.EnterWriterAsync(cancellationToken);
        var command = writer.Session.Command(sql);
        Bind(command, parameters);
        try
        {
            var changed = await command.ExecuteNonQueryAsync(cancellationToken);
            database.WriteSucceeded();
            Interlocked.Add(ref _rowsWritten, changed);
            return changed;
        }
        catch (SqliteException e) when (SqliteDatabase.IsUnavailable(e))
        {
            throw database.WriteFailed(e);
        }
    }

    private async Task<bool> UpdateAsync(string sql, Lease lease, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        using var writer = await database.EnterWriterAsync(cancellationToken);
        var command = writer.Session.Command(sql);
        Bind(command, parameters);
        command.Parameters.AddWithValue("$task", lease.TaskId);
        command.Parameters.AddWithValue("$token", lease.Token);
        try
        {
            var changed = await command.ExecuteNonQueryAsync(cancellationToken);
            database.WriteSucceeded();
            Interlocked.Add(ref _rowsWritten, changed);
            return changed == 1;
        }
        catch (SqliteException e) when (SqliteDatabase.IsUnavailable(e))
        {
            throw database.WriteFailed(e);
        }
    }

    /// <summary>
    /// A fenced update (as <see cref="UpdateAsync"/>) and, when it changed the task, the webhook event it
    /// causes, in one transaction: an event is in the outbox exactly when its change is stored.
    /// </summary>
    private async Task<bool> UpdateWithEventAsync(string eventType, long? now, string sql, Lease lease, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        using var writer = await database.EnterWriterAsync(cancellationToken);
        var session = writer.Session;
        try
        {
            await database.BeginImmediateAsync(session.Connection, Stopwatch.GetTimestamp() + (long)(database.BusyTimeout.TotalSeconds * Stopwatch.Frequency));
            var command = session.Command(sql);
            Bind(command, parameters);
            command.Parameters.AddWithValue("$task", lease.TaskId);
            command.Parameters.AddWithValue("$token", lease.Token);
            var changed = await command.ExecuteNonQueryAsync(CancellationToken.None);
            if (changed == 1)
            {
                await SqliteWebhookEvents.AddEventAsync(session, lease.TaskId, eventType, now);
            }

            await session.Command("COMMIT").ExecuteNonQueryAsync(CancellationToken.None);
            database.WriteSucceeded();
            Interlocked.Add(ref _rowsWritten, changed);
            return changed == 1;
        }
        catch (Exception e)
        {
            session.Broken = !SqliteDatabase.RollBack(session.Connection);
            if (e is SqliteException sqlite && SqliteDatabase.IsUnavailable(sqlite))
            {
                throw database.WriteFailed(sqlite);
            }

            throw;
        }
    }

    private static void Bind(Microsoft.Data.Sqlite.SqliteCommand command, (string Name, object? Value)[] parameters)
    {
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
    }

    /// <summary>The insert's parameters, in the order <see cref="Insert"/> binds them (SQLite numbers them so, from 1).</summary>
    private static readonly string[] InsertParameters =
    [
        "$id", "$owner", "$mode", "$model", "$requested_model", "$prompt", "$negative_prompt", "$aspect_ratio", "$size",
        "$duration", "$seed", "$images_json", "$options_json", "$callback_url", "$idempotency_key", "$surface", "$remixed_from",
        "$stage", "$progress", "$created_at", "$updated_at", "$deadline_at", "$next_at",
        "$account_id", "$held", "$price_unit", "$unit_price", "$hold_seq", "$cancel_at", "$webhook_events", "$trace_parent",
    ];

    /// <summary>
    /// Inserts a new task's row with the session's prepared statement, binding each value by its number.
    /// The create's hottest statement skips the ADO.NET layer: Microsoft.Data.Sqlite looks every parameter
    /// up by name (converted to UTF-8 and searched for on each execution) and boxes each number, which
    /// cost about a tenth of a create's CPU (README, Benchmarks). A refusal throws its
    /// <see cref="SqliteException"/> as the command would.
    /// </summary>
    private static void Insert(SqliteSession session, VideoTask task, long? holdSeq)
    {
        var insert = new RowBinder(session.Statement(InsertSql, InsertParameters));
        insert.Text(task.Id);
        insert.Text(task.OwnerKeyId);
        insert.Text(TaskRows.ToText(task.Mode));
        insert.Text(task.Model);
        insert.Text(task.RequestedModel);
        insert.Text(task.Prompt);
        insert.Text(task.NegativePrompt);
        insert.Text(task.AspectRatio);
        insert.Text(task.Size);
        insert.Number(task.Duration);
        insert.Number(task.Seed);
        insert.Text(TaskRows.Json(task.Images));
        insert.Text(TaskRows.Json(task.Options));
        insert.Text(task.CallbackUrl);
        insert.Text(task.IdempotencyKey);
        insert.Text(TaskRows.ToText(task.Surface));
        insert.Text(task.RemixedFrom);
        insert.Text(TaskRows.ToText(task.Stage));
        insert.Number(task.Progress);
        insert.Number(task.CreatedAt);
        insert.Number(task.UpdatedAt);
        insert.Number(task.DeadlineAt);
        insert.Number(task.NextAt);
        insert.Text(task.AccountId);
        insert.Number(task.Held);
        insert.Text(task.PriceUnit is { } unit ? Price.UnitText(unit) : null);
        insert.Number(task.UnitPrice);
        insert.Number(holdSeq);
        insert.Number(task.CancelAt);
        insert.Text(task.WebhookEvents is { } events ? TaskRows.Json(events) : null);
        insert.Text(task.TraceParent);
        insert.Execute(session.Connection);
    }

    /// <summary>Binds a prepared statement's parameters in their order, then runs it once and resets it for the next row.</summary>
    private struct RowBinder(SQLitePCL.sqlite3_stmt statement)
    {
        private int _next;

        public void Text(string? value)
        {
            var index = ++_next;
            _ = value is null ? SQLitePCL.raw.sqlite3_bind_null(statement, index) : SQLitePCL.raw.sqlite3_bind_text16(statement, index, value);
        }

        public void Number(long? value)
        {
            var index = ++_next;
            _ = value is { } number ? SQLitePCL.raw.sqlite3_bind_int64(statement, index, number) : SQLitePCL.raw.sqlite3_bind_null(statement, index);
        }

        public readonly void Execute(SqliteConnection connection)
        {
            var rc = SQLitePCL.raw.sqlite3_step(statement);
            try
            {
                if (rc != SQLitePCL.raw.SQLITE_DONE)
                {
                    // Read before the reset, which keeps the code but may change the message.
                    SqliteException.ThrowExceptionForRC(rc, connection.Handle);
                }
            }
            finally
            {
                _ = SQLitePCL.raw.sqlite3_reset(statement);
                _ = SQLitePCL.raw.sqlite3_clear_bindings(statement);
            }
        }
    }
}
