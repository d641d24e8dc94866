using System.Data.Common;
using Dapper;
using Npgsql;
using Reelay.Billing;
using Reelay.Providers;
using Reelay.Storage.Relational;
using Reelay.Tasks;

namespace Reelay.Storage.Postgres;

/// <summary>
/// <see cref="ITaskStore"/> on PostgreSQL, for several instances sharing one database. A claim is one
/// <c>UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING</c>: concurrent claimers of any
/// instance lock disjoint rows and never wait for each other. Leases are stamped and compared on the
/// database's clock (<see cref="PostgresDatabase.NowMs"/>), so instances whose clocks disagree still agree
/// on whether a lease is live; every engine write matches the lease token. Due times (<c>next_at</c>,
/// deadlines) stay the engine's Unix ms, as the engine schedules them.
/// </summary>
public sealed class PostgresTaskStore(PostgresDatabase database, TimeProvider time) : ITaskStore, ITaskMonitor
{
    private const string Unfinished = "('pending', 'submitting', 'running', 'finishing')";
    private const string NowMs = PostgresDatabase.NowMs;

    private static readonly string GetForOwnerSql = $"SELECT {TaskRows.ClientColumns} FROM tasks WHERE id = @id AND owner_key_id = @owner";

    private const string InsertSql = """
        INSERT INTO tasks (id, owner_key_id, mode, model, requested_model, prompt, negative_prompt, aspect_ratio, size,
            duration, seed, images_json, options_json, callback_url, idempotency_key, surface, remixed_from, stage,
            progress, created_at, updated_at, deadline_at, next_at, account_id, held, price_unit, unit_price, hold_seq, cancel_at, webhook_events, trace_parent)
        VALUES (@id, @owner, @mode, @model, @requested_model, @prompt, @negative_prompt, @aspect_ratio, @size,
            @duration, @seed, @images_json, @options_json, @callback_url, @idempotency_key, @surface, @remixed_from, @stage,
            @progress, @created_at, @updated_at, @deadline_at, @next_at, @account_id, @held, @price_unit, @unit_price, @hold_seq, @cancel_at, @webhook_events, @trace_parent)
        """;

    /// <summary>Milliseconds in a day: daily spend limits count UTC days, numbered from the Unix epoch.</summary>
    private const long DayMilliseconds = 86_400_000;

    /// <summary>
    /// One transaction per create (PostgreSQL runs them side by side; there is no single writer to batch
    /// behind): the idempotency key, the account row locked, the in-flight limits, the hold and its ledger
    /// row, the task row. A refusal rolls the transaction back, so nothing of the create is left.
    /// </summary>
    public async Task<CreateResult> CreateAsync(VideoTask task, CreateRules rules, CancellationToken cancellationToken)
    {
        CreateResult result;
        try
        {
            await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken);
            await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
            {
                result = await CreateOneAsync(connection, transaction, task, rules, cancellationToken);
                if (result.Outcome == CreateOutcome.Created)
                {
                    // Checkpoint: the task, its hold and its ledger row are stored together before the caller is told.
                    await transaction.CommitAsync(CancellationToken.None);
                    database.Succeeded();
                    return result;
                }

                await transaction.RollbackAsync(CancellationToken.None);
            }

            if (result.Outcome != CreateOutcome.Replayed)
            {
                return result;
            }

            // Committed before this caller's key claim lost to it; any key of the account may have made it.
            var earlier = (await ReadTasksAsync(connection, $"SELECT {TaskRows.ClientColumns} FROM tasks WHERE id = @id", new { id = result.EarlierTaskId }, null, cancellationToken)).SingleOrDefault();
            return earlier is not null
                ? result with { Task = earlier }
                // The task was deleted since; its key still stands for it until the window ends.
                : result with { Outcome = CreateOutcome.IdempotencyConflict };
        }
        catch (Exception e) when (PostgresDatabase.IsUnavailable(e))
        {
            throw database.Unavailable(e);
        }
    }

    private static async Task<CreateResult> CreateOneAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, VideoTask task, CreateRules rules, CancellationToken cancellationToken)
    {
        if (task.IdempotencyKey is { } idempotencyKey)
        {
            // The key is claimed first, by the primary key: of two creates racing with one key, the second's
            // insert waits for the first to commit and then finds its row, so exactly one task is made. A row
            // past its window is taken over by the same statement.
            var claimed = await connection.ExecuteScalarAsync<string?>(new CommandDefinition("""
                INSERT INTO idempotency_keys (account_id, key, request_hash, task_id, created_at) VALUES (@account, @key, @hash, @task, @now)
                ON CONFLICT (account_id, key) DO UPDATE SET request_hash = excluded.request_hash, task_id = excluded.task_id, created_at = excluded.created_at
                WHERE idempotency_keys.created_at <= @since
                RETURNING task_id
                """, new
            {
                account = task.AccountId,
                key = idempotencyKey,
                hash = rules.RequestHash ?? [],
                task = task.Id,
                now = rules.Now,
                since = rules.Now - (long)CreateRules.IdempotencyWindow.TotalMilliseconds,
            }, transaction, cancellationToken: cancellationToken));
            if (claimed is null)
            {
                var earlier = await connection.QuerySingleAsync<IdempotencyRow>(new CommandDefinition(
                    "SELECT task_id AS TaskId, request_hash AS RequestHash FROM idempotency_keys WHERE account_id = @account AND key = @key",
                    new { account = task.AccountId, key = idempotencyKey }, transaction, cancellationToken: cancellationToken));
                var sameRequest = rules.RequestHash is { } hash && earlier.RequestHash.AsSpan().SequenceEqual(hash);
                return new CreateResult(sameRequest ? CreateOutcome.Replayed : CreateOutcome.IdempotencyConflict, null) { EarlierTaskId = earlier.TaskId };
            }
        }

        // The account row is locked for the rest of the transaction: the creates of one account take turns
        // (as SQLite's one writer makes every create take its turn), so each one's in-flight counts and hold
        // see the creates committed before it, and parallel creates cannot get past a limit or overdraw together.
        var limited = task.Held > 0 || rules.KeyMaxInFlight is not null || rules.AccountMaxInFlight is not null;
        var account = limited
            ? await connection.QuerySingleOrDefaultAsync<AccountBooks>(new CommandDefinition(
                "SELECT balance AS Balance, held AS Held, unlimited AS Unlimited, ledger_seq AS Seq, spend_day AS SpendDay, spend_today AS SpendToday FROM accounts WHERE id = @account FOR UPDATE",
                new { account = task.AccountId }, transaction, cancellationToken: cancellationToken))
            : null;

        if (rules.KeyMaxInFlight is { } keyMax
            && await CountUnfinishedAsync(connection, transaction, "@owner", task.OwnerKeyId, keyMax, cancellationToken) is var keyCount && keyCount >= keyMax)
        {
            return new CreateResult(CreateOutcome.KeyInFlightLimit, null) { InFlight = keyCount };
        }

        if (rules.AccountMaxInFlight is { } accountMax
            && await CountUnfinishedAsync(connection, transaction, "(SELECT id FROM api_keys WHERE account_id = @owner)", task.AccountId, accountMax, cancellationToken) is var accountCount
            && accountCount >= accountMax)
        {
            return new CreateResult(CreateOutcome.AccountInFlightLimit, null) { InFlight = accountCount };
        }

        long? holdSeq = null;
        if (task.Held > 0)
        {
            var day = rules.Now / DayMilliseconds;
            if (account is null || (account.Unlimited != 1 && account.Balance - account.Held < task.Held))
            {
                return new CreateResult(CreateOutcome.InsufficientCredits, null) { Balance = account?.Balance ?? 0, HeldBefore = account?.Held ?? 0 };
            }

            var spentToday = account.SpendDay == day ? account.SpendToday : 0;
            if (rules.AccountMaxSpendPerDay is { } accountDayMax && spentToday + task.Held > accountDayMax)
            {
                return new CreateResult(CreateOutcome.AccountDailySpendLimit, null) { SpentToday = spentToday };
            }

            if (rules.KeyMaxSpendPerDay is { } keyDayMax)
            {
                // A key's spend is counted while it has a daily limit: the common create, without one, pays nothing for it.
                var counted = await connection.ExecuteAsync(new CommandDefinition("""
                    UPDATE api_keys SET spend_today = (CASE WHEN spend_day = @day THEN spend_today ELSE 0 END) + @held, spend_day = @day
                    WHERE id = @owner AND (CASE WHEN spend_day = @day THEN spend_today ELSE 0 END) + @held <= @max
                    """, new { day, held = task.Held, owner = task.OwnerKeyId, max = keyDayMax }, transaction, cancellationToken: cancellationToken));
                if (counted == 0)
                {
                    var spent = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                        "SELECT CASE WHEN spend_day = @day THEN spend_today ELSE 0 END FROM api_keys WHERE id = @owner",
                        new { day, owner = task.OwnerKeyId }, transaction, cancellationToken: cancellationToken));
                    return new CreateResult(CreateOutcome.KeyDailySpendLimit, null) { SpentToday = spent ?? 0 };
                }
            }

            // The conditional update that keeps the books: it holds only what the balance less the open holds
            // covers (unless unlimited). The row is locked by this transaction, so it applies to the row as read.
            var seq = await connection.ExecuteScalarAsync<long?>(new CommandDefinition("""
                UPDATE accounts SET held = held + @held, ledger_seq = ledger_seq + 1, spend_day = @day, spend_today = @spend
                WHERE id = @account AND (unlimited = 1 OR balance - held >= @held)
                RETURNING ledger_seq
                """, new { held = task.Held, day, spend = spentToday + task.Held, account = task.AccountId }, transaction, cancellationToken: cancellationToken))
                ?? throw new InvalidOperationException($"Account '{task.AccountId}' no longer covers the hold of task {task.Id} under its own row lock.");
            await AppendLedgerAsync(connection, transaction, new LedgerRow(task.AccountId, seq, "hold", task.Held, account.Balance, account.Held + task.Held, task.OwnerKeyId, task.Id, task.Model, task.CreatedAt), cancellationToken);
            holdSeq = seq;
        }

        await connection.ExecuteAsync(new CommandDefinition(InsertSql, InsertValues(task, holdSeq), transaction, cancellationToken: cancellationToken));
        return new CreateResult(CreateOutcome.Created, task);
    }

    /// <param name="owners">The key, or the subquery of an account's keys, whose unfinished tasks count.</param>
    private static async Task<int> CountUnfinishedAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string owners, string owner, int limit, CancellationToken cancellationToken) =>
        // Along the partial index on unfinished rows; LIMIT stops the count at what the limit needs.
        (int)await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            $"SELECT COUNT(*) FROM (SELECT 1 FROM tasks WHERE owner_key_id IN ({owners}) AND stage IN {Unfinished} LIMIT @limit) AS unfinished",
            new { owner, limit }, transaction, cancellationToken: cancellationToken));

    /// <summary>A ledger row as written; amounts are positive but for adjustments.</summary>
    private sealed record LedgerRow(string AccountId, long Seq, string Kind, long Amount, long BalanceAfter, long HeldAfter, string? KeyId, string? TaskId, string? Model, long At);

    private static Task<int> AppendLedgerAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, LedgerRow row, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO ledger (account_id, seq, kind, amount, balance_after, held_after, key_id, task_id, model, at)
            VALUES (@AccountId, @Seq, @Kind, @Amount, @BalanceAfter, @HeldAfter, @KeyId, @TaskId, @Model, @At)
            """, row, transaction, cancellationToken: cancellationToken));

    public async Task<VideoTask?> GetAsync(string id, string ownerKeyId, CancellationToken cancellationToken) =>
        (await ReadAsync(GetForOwnerSql, new { id, owner = ownerKeyId }, cancellationToken)).SingleOrDefault();

    /// <inheritdoc cref="ITaskMonitor.GetAsync"/>
    async Task<VideoTask?> ITaskMonitor.GetAsync(string id, CancellationToken cancellationToken) =>
        (await ReadAsync($"SELECT {TaskRows.Columns} FROM tasks WHERE id = @id", new { id }, cancellationToken)).SingleOrDefault();

    /// <inheritdoc cref="ITaskMonitor.ListAsync"/>
    Task<IReadOnlyList<VideoTask>> ITaskMonitor.ListAsync(TaskFilter filter, CancellationToken cancellationToken)
    {
        var (where, values) = TaskRows.OperatorFilter(filter, database.Dialect);
        var parameters = new DynamicParameters();
        parameters.Add("limit", filter.Limit);
        foreach (var (name, value) in values)
        {
            parameters.Add(name, value);
        }

        return ReadAsync($"""
            SELECT {TaskRows.ClientColumns} FROM tasks {where}
            ORDER BY created_at DESC, seq DESC LIMIT @limit
            """, parameters, cancellationToken);
    }

    public Task<IReadOnlyList<VideoTask>> ListAsync(string ownerKeyId, TaskPageRequest page, CancellationToken cancellationToken)
    {
        // Keyset pagination on (created_at, seq): insertion order even within one millisecond, stable under inserts, no OFFSET scans.
        var sql = page.Ascending
            ? $"""
              SELECT {TaskRows.ClientColumns} FROM tasks WHERE owner_key_id = @owner
                AND (@after IS NULL OR (created_at, seq) > (SELECT created_at, seq FROM tasks WHERE id = @after AND owner_key_id = @owner))
              ORDER BY created_at, seq LIMIT @limit
              """
            : $"""
              SELECT {TaskRows.ClientColumns} FROM tasks WHERE owner_key_id = @owner
                AND (@after IS NULL OR (created_at, seq) < (SELECT created_at, seq FROM tasks WHERE id = @after AND owner_key_id = @owner))
              ORDER BY created_at DESC, seq DESC LIMIT @limit
              """;
        return ReadAsync(sql, new { owner = ownerKeyId, after = page.After, limit = page.Limit }, cancellationToken);
    }

    public async Task<VideoTask?> CancelAsync(string id, string ownerKeyId, long now, CancellationToken cancellationToken) =>
        // Clearing the lease fences out any worker still busy with it. A task that ended first keeps its end:
        // the update waits for the row lock of a concurrent end and then finds the stage no longer unfinished.
        (await EndAsync($"""
            UPDATE tasks SET stage = 'cancelled', error_code = @code, error_message = 'Cancelled by the client.',
                updated_at = @now, completed_at = @now, lease_token = NULL, lease_until = NULL, {ReleaseAll}
            WHERE id = @id AND owner_key_id = @owner AND stage IN {Unfinished}
            RETURNING {TaskRows.Columns}
            """, now, new { id, owner = ownerKeyId, now, code = TaskErrors.Cancelled }, cancellationToken)).SingleOrDefault();

    public async Task<VideoTask?> DeleteAsync(string id, string ownerKeyId, CancellationToken cancellationToken) =>
        (await WriteTasksAsync(
            $"DELETE FROM tasks WHERE id = @id AND owner_key_id = @owner AND stage IN ('completed', 'failed', 'cancelled') RETURNING {TaskRows.ClientColumns}",
            new { id, owner = ownerKeyId }, cancellationToken)).SingleOrDefault();

    public Task<IReadOnlyList<VideoTask>> ClaimAsync(ClaimRequest claim, CancellationToken cancellationToken)
    {
        var due = claim.Kind switch
        {
            // Submitting tasks whose lease ran out belong to a worker that died mid-submit: due whatever their next_at.
            ClaimKind.Dispatch => "((stage = 'pending' AND next_at <= @now) OR stage = 'submitting')",
            ClaimKind.Poll => "stage = 'running' AND next_at <= @now",
            ClaimKind.Finish => "stage = 'finishing' AND next_at <= @now",
            _ => throw new ArgumentOutOfRangeException(nameof(claim)),
        };
        // Checkpoint: one statement takes the lease. SKIP LOCKED: rows another claimer is stamping right now
        // are passed over, not waited for; FOR UPDATE re-reads each row it locks, so a lease stamped by a
        // claimer that committed first is seen as live and the row is left alone. The lease runs as long as
        // the engine asked (LeaseUntil - Now), from the database's clock.
        return WriteTasksAsync($"""
            UPDATE tasks SET lease_token = @token, lease_until = {NowMs} + @leaseMs
            WHERE id IN (
                SELECT id FROM tasks WHERE {due} AND (lease_until IS NULL OR lease_until < {NowMs})
                ORDER BY next_at LIMIT @limit FOR UPDATE SKIP LOCKED)
            RETURNING {(claim.Kind == ClaimKind.Dispatch ? TaskRows.Columns : TaskRows.EngineColumns)}
            """, new { now = claim.Now, token = claim.Token, leaseMs = Math.Max(0, claim.LeaseUntil - claim.Now), limit = claim.Limit }, cancellationToken);
    }

    public Task<bool> ExtendLeaseAsync(Lease lease, long leaseUntil, CancellationToken cancellationToken) =>
        // The engine names the new expiry on its clock; what it means is "this long from now", measured on the database's.
        UpdateAsync($"UPDATE tasks SET lease_until = {NowMs} + @leaseMs WHERE id = @task AND lease_token = @token",
            new { task = lease.TaskId, token = lease.Token, leaseMs = Math.Max(0, leaseUntil - time.GetUtcNow().ToUnixTimeMilliseconds()) }, cancellationToken);

    public Task<bool> RecordAttemptAsync(Lease lease, SubmitAttempt attempt, CancellationToken cancellationToken) =>
        // Checkpoint: the attempt is stored (and counted) before the upstream is called; a worker without the lease records nothing.
        UpdateAsync("""
            UPDATE tasks SET stage = 'submitting', attempts = attempts + 1, channel = @channel, provider = @provider,
                upstream_model = @upstreamModel, width = @width, height = @height, route_json = @routeJson
            WHERE id = @task AND lease_token = @token AND stage IN ('pending', 'submitting')
            """, new
        {
            task = lease.TaskId,
            token = lease.Token,
            channel = attempt.Channel,
            provider = attempt.Provider,
            upstreamModel = attempt.UpstreamModel,
            width = attempt.Width,
            height = attempt.Height,
            routeJson = TaskRows.Json(attempt.Route),
        }, cancellationToken);

    public Task<bool> MarkRunningAsync(Lease lease, string upstreamId, long nextPollAt, long now, CancellationToken cancellationToken) =>
        UpdateWithEventAsync(Webhooks.WebhookEvents.Processing, now, lease.TaskId, """
            UPDATE tasks SET stage = 'running', upstream_id = @upstreamId, next_at = @nextPollAt, updated_at = @now,
                lease_token = NULL, lease_until = NULL
            WHERE id = @task AND lease_token = @token AND stage = 'submitting'
            """, new { task = lease.TaskId, token = lease.Token, upstreamId, nextPollAt, now }, cancellationToken);

    public Task<bool> RetryLaterAsync(Lease lease, long nextAt, IReadOnlyList<RouteStep> route, CancellationToken cancellationToken) =>
        UpdateAsync("""
            UPDATE tasks SET stage = 'pending', next_at = @nextAt, route_json = @routeJson, lease_token = NULL, lease_until = NULL
            WHERE id = @task AND lease_token = @token AND stage IN ('pending', 'submitting')
            """, new { task = lease.TaskId, token = lease.Token, nextAt, routeJson = TaskRows.Json(route) }, cancellationToken);

    public Task<bool> SchedulePollAsync(Lease lease, PollUpdate update, CancellationToken cancellationToken) =>
        UpdateWithEventAsync(Webhooks.WebhookEvents.Progress, null, lease.TaskId, """
            UPDATE tasks SET progress = GREATEST(progress, @progress), polls = polls + 1, poll_failures = @pollFailures, next_at = @nextPollAt,
                enhanced_prompt = COALESCE(@enhancedPrompt, enhanced_prompt), lease_token = NULL, lease_until = NULL
            WHERE id = @task AND lease_token = @token AND stage = 'running'
            """, new { task = lease.TaskId, token = lease.Token, progress = update.Progress, pollFailures = update.PollFailures, nextPollAt = update.NextPollAt, enhancedPrompt = update.EnhancedPrompt },
            cancellationToken);

    // LEAST: a task already due keeps its place in the line; true whenever the task is running.
    public async Task<bool> NudgePollAsync(string taskId, long now, CancellationToken cancellationToken) =>
        await ExecuteAsync("UPDATE tasks SET next_at = LEAST(next_at, @now) WHERE id = @id AND stage = 'running'", new { id = taskId, now }, cancellationToken) == 1;

    // Along ix_tasks_due: only running tasks scheduled later than now are read.
    public Task<int> WakeRunningAsync(string provider, long now, CancellationToken cancellationToken) =>
        ExecuteAsync("UPDATE tasks SET next_at = @now WHERE stage = 'running' AND next_at > @now AND provider = @provider", new { provider, now }, cancellationToken);

    public Task<bool> MarkFinishingAsync(Lease lease, string resultLocation, string? enhancedPrompt, long now, CancellationToken cancellationToken) =>
        UpdateAsync("""
            UPDATE tasks SET stage = 'finishing', result_location = @resultLocation, polls = polls + 1, poll_failures = 0,
                progress = GREATEST(progress, 99), enhanced_prompt = COALESCE(@enhancedPrompt, enhanced_prompt),
                next_at = @now, lease_token = NULL, lease_until = NULL
            WHERE id = @task AND lease_token = @token AND stage = 'running'
            """, new { task = lease.TaskId, token = lease.Token, resultLocation, enhancedPrompt, now }, cancellationToken);

    public Task<bool> PostponeAsync(Lease lease, long nextAt, CancellationToken cancellationToken) =>
        UpdateAsync("""
            UPDATE tasks SET next_at = @nextAt, lease_token = NULL, lease_until = NULL
            WHERE id = @task AND lease_token = @token AND stage IN ('pending', 'running', 'finishing')
            """, new { task = lease.TaskId, token = lease.Token, nextAt }, cancellationToken);

    public Task<bool> DeferFinishAsync(Lease lease, int failures, long nextAt, CancellationToken cancellationToken) =>
        UpdateAsync("""
            UPDATE tasks SET poll_failures = @failures, next_at = @nextAt, lease_token = NULL, lease_until = NULL
            WHERE id = @task AND lease_token = @token AND stage = 'finishing'
            """, new { task = lease.TaskId, token = lease.Token, failures, nextAt }, cancellationToken);

    public async Task<bool> CompleteAsync(Lease lease, StoredVideo video, long charge, long? upstreamCost, long now, CancellationToken cancellationToken) =>
        // LEAST: a charge is never more than the hold; the rest of the hold is released in the same statement.
        (await EndAsync($"""
            UPDATE tasks SET stage = 'completed', progress = 100, video_key = @videoKey, thumbnail_key = @thumbnailKey,
                width = @width, height = @height, video_duration = @duration, video_bytes = @bytes, upstream_cost = @upstreamCost,
                updated_at = @now, completed_at = @now, lease_token = NULL, lease_until = NULL,
                charged = LEAST(held, GREATEST(0, @charge)), released = held - LEAST(held, GREATEST(0, @charge))
            WHERE id = @task AND lease_token = @token AND stage = 'finishing'
            RETURNING {TaskRows.EngineColumns}
            """, now, new
        {
            task = lease.TaskId,
            token = lease.Token,
            videoKey = video.VideoKey,
            thumbnailKey = video.ThumbnailKey,
            width = video.Width,
            height = video.Height,
            duration = video.DurationSeconds,
            bytes = video.Bytes,
            upstreamCost,
            charge,
            now,
        }, cancellationToken)).Count == 1;

    public async Task<bool> FailAsync(Lease lease, TaskError failure, long now, CancellationToken cancellationToken) =>
        (await EndAsync($"""
            UPDATE tasks SET stage = 'failed', error_code = @code, error_message = @message,
                updated_at = @now, completed_at = @now, lease_token = NULL, lease_until = NULL, {ReleaseAll}
            WHERE id = @task AND lease_token = @token AND stage IN {Unfinished}
            RETURNING {TaskRows.EngineColumns}
            """, now, new { task = lease.TaskId, token = lease.Token, code = failure.Code, message = failure.Message, now }, cancellationToken)).Count == 1;

    public Task ReleaseAsync(Lease lease, CancellationToken cancellationToken) =>
        UpdateAsync("UPDATE tasks SET lease_token = NULL, lease_until = NULL WHERE id = @task AND lease_token = @token", new { task = lease.TaskId, token = lease.Token }, cancellationToken);

    public Task<IReadOnlyList<VideoTask>> ExpireOverdueAsync(long now, CancellationToken cancellationToken) =>
        // A leased task is left to its worker until the lease runs out on the database's clock; rows another
        // instance's sweep is ending right now are skipped, not waited for.
        EndAsync($"""
            UPDATE tasks SET stage = 'failed', error_code = @code,
                error_message = 'The task did not finish within its model''s maximum lifetime.',
                updated_at = @now, completed_at = @now, lease_token = NULL, lease_until = NULL, {ReleaseAll}
            WHERE id IN (SELECT id FROM tasks WHERE stage IN {Unfinished} AND deadline_at < @now
                AND (lease_until IS NULL OR lease_until < {NowMs}) FOR UPDATE SKIP LOCKED)
            RETURNING {TaskRows.Columns}
            """, now, new { now, code = TaskErrors.Timeout }, cancellationToken);

    public Task<IReadOnlyList<VideoTask>> CancelOverdueAsync(long now, CancellationToken cancellationToken) =>
        // Along ix_tasks_cancel_at (its WHERE repeated so the planner may use it). The lease is cleared as a
        // client's cancel clears it: the deadline is the client's word.
        EndAsync($"""
            UPDATE tasks SET stage = 'cancelled', error_code = @code,
                error_message = 'Cancelled: the task passed the deadline its client set (Cancel-After or timeout).',
                updated_at = @now, completed_at = @now, lease_token = NULL, lease_until = NULL, {ReleaseAll}
            WHERE id IN (SELECT id FROM tasks WHERE cancel_at IS NOT NULL AND stage IN {Unfinished} AND cancel_at <= @now FOR UPDATE SKIP LOCKED)
            RETURNING {TaskRows.Columns}
            """, now, new { now, code = TaskErrors.Cancelled }, cancellationToken);

    /// <summary>The settlement of a task that ends without a result: nothing charged, the whole hold released.</summary>
    private const string ReleaseAll = "charged = 0, released = held";

    /// <summary>
    /// The one way tasks end. <paramref name="sql"/> moves tasks to completed, failed or cancelled — naming
    /// the stages they may come from — sets <c>charged</c> and <c>released</c> (together the hold), and
    /// returns the rows it changed. In the same transaction each ended task's hold leaves its account and
    /// its end's webhook event enters the outbox: a task that ended has settled, exactly once.
    /// </summary>
    private Task<IReadOnlyList<VideoTask>> EndAsync(string sql, long now, object parameters, CancellationToken cancellationToken) =>
        database.TransactAsync<IReadOnlyList<VideoTask>>(async (connection, transaction) =>
        {
            var ended = await ReadTasksAsync(connection, sql, parameters, transaction, cancellationToken);
            foreach (var task in ended)
            {
                await SettleAsync(connection, transaction, task, now, cancellationToken);

                // Checkpoint: the end's webhook event is in the outbox exactly when the end is stored.
                await PostgresWebhookEvents.AddEventAsync(connection, transaction, task.Id, RelationalWebhookStore.EndEventOf(task.Stage), now, cancellationToken);
            }

            return ended;
        }, cancellationToken);

    /// <summary>Moves an ended task's hold off its account: the charge from the balance, the rest back to what is available.</summary>
    private static async Task SettleAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, VideoTask task, long now, CancellationToken cancellationToken)
    {
        if (task.Held <= 0)
        {
            return;
        }

        var (charged, released) = (task.Charged ?? 0, task.Released ?? task.Held);
        var rows = (charged > 0 ? 1 : 0) + (released > 0 ? 1 : 0);
        var day = task.CreatedAt / DayMilliseconds;
        var after = await connection.QuerySingleOrDefaultAsync<SettledBooks>(new CommandDefinition("""
            UPDATE accounts SET balance = balance - @charged, held = held - @held, ledger_seq = ledger_seq + @rows,
                spend_today = spend_today - CASE WHEN spend_day = @day THEN @released ELSE 0 END
            WHERE id = @account
            RETURNING balance AS Balance, held AS Held, ledger_seq AS Seq
            """, new { charged, held = task.Held, rows, day, released, account = task.AccountId }, transaction, cancellationToken: cancellationToken))
            // Accounts are never deleted; ending the task without moving its hold would break the books.
            ?? throw new InvalidDataException($"Task {task.Id} holds credits of account '{task.AccountId}', which does not exist.");

        if (released > 0)
        {
            // GREATEST: a key's spend is counted only while it has a daily limit, so a hold made before one was set is not in it.
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE api_keys SET spend_today = GREATEST(0, spend_today - CASE WHEN spend_day = @day THEN @released ELSE 0 END) WHERE id = @owner AND spend_today > 0",
                new { day, released, owner = task.OwnerKeyId }, transaction, cancellationToken: cancellationToken));
        }

        var first = after.Seq - rows + 1;
        await connection.ExecuteAsync(new CommandDefinition("UPDATE tasks SET settle_seq = @first WHERE id = @id", new { first, id = task.Id }, transaction, cancellationToken: cancellationToken));
        if (charged > 0)
        {
            await AppendLedgerAsync(connection, transaction, new LedgerRow(task.AccountId, first, "charge", charged, after.Balance, after.Held + released, task.OwnerKeyId, task.Id, task.Model, now), cancellationToken);
        }

        if (released > 0)
        {
            await AppendLedgerAsync(connection, transaction, new LedgerRow(task.AccountId, after.Seq, "release", released, after.Balance, after.Held, task.OwnerKeyId, task.Id, task.Model, now), cancellationToken);
        }
    }

    public Task<int> CountLocalBacklogAsync(CancellationToken cancellationToken) =>
        database.ReadAsync(async connection => (int)await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            $"SELECT COUNT(*) FROM tasks WHERE stage IN {Unfinished} AND (mode = 'test' OR channel = 'local')", cancellationToken: cancellationToken)), cancellationToken);

    public async Task<IReadOnlyList<Lease>> LiveLeasesAsync(IReadOnlyCollection<string> taskIds, long now, CancellationToken cancellationToken)
    {
        if (taskIds.Count == 0)
        {
            return [];
        }

        // Live on the database's clock, whatever this instance's says.
        var rows = await database.ReadAsync(connection => connection.QueryAsync<(string Id, string Token)>(new CommandDefinition(
            $"SELECT id, lease_token FROM tasks WHERE id = ANY(@ids) AND lease_until > {NowMs}", new { ids = taskIds.ToArray() }, cancellationToken: cancellationToken)), cancellationToken);
        return [.. rows.Select(row => new Lease(row.Id, row.Token))];
    }

    public async Task<IReadOnlySet<string>> UnfinishedLocalTaskIdsAsync(CancellationToken cancellationToken)
    {
        // The attempt names its provider before the submission that creates the job directory.
        var ids = await database.ReadAsync(connection => connection.QueryAsync<string>(new CommandDefinition(
            $"SELECT id FROM tasks WHERE stage IN {Unfinished} AND provider = @provider", new { provider = ProviderNames.Local }, cancellationToken: cancellationToken)), cancellationToken);
        return ids.ToHashSet(StringComparer.Ordinal);
    }

    /// <inheritdoc cref="ITaskMonitor.CensusAsync"/>
    async Task<IReadOnlyList<StageCensus>> ITaskMonitor.CensusAsync(long now, CancellationToken cancellationToken)
    {
        var rows = await database.ReadAsync(connection => connection.QueryAsync<(string Stage, long Count, long Due, long Held)>(new CommandDefinition($"""
            SELECT stage, COUNT(*), COUNT(*) FILTER (WHERE next_at <= @now), COALESCE(SUM(held), 0)::bigint
            FROM tasks WHERE stage IN {Unfinished} GROUP BY stage
            """, new { now }, cancellationToken: cancellationToken)), cancellationToken);
        return [.. rows.Select(row => new StageCensus(TaskRows.ParseStage(row.Stage), row.Count, row.Due, row.Held))];
    }

    public Task<long?> NextDueAsync(ClaimKind kind, CancellationToken cancellationToken)
    {
        var stage = TaskRows.ToText(kind switch
        {
            ClaimKind.Dispatch => TaskStage.Pending,
            ClaimKind.Poll => TaskStage.Running,
            _ => TaskStage.Finishing,
        });
        return database.ReadAsync(connection => connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT MIN(next_at) FROM tasks WHERE stage = @stage", new { stage }, cancellationToken: cancellationToken)), cancellationToken);
    }

    private Task<IReadOnlyList<VideoTask>> ReadAsync(string sql, object parameters, CancellationToken cancellationToken) =>
        database.ReadAsync<IReadOnlyList<VideoTask>>(async connection => await ReadTasksAsync(connection, sql, parameters, null, cancellationToken), cancellationToken);

    private Task<IReadOnlyList<VideoTask>> WriteTasksAsync(string sql, object parameters, CancellationToken cancellationToken) =>
        database.WriteAsync<IReadOnlyList<VideoTask>>(async connection => await ReadTasksAsync(connection, sql, parameters, null, cancellationToken), cancellationToken);

    private static async Task<List<VideoTask>> ReadTasksAsync(NpgsqlConnection connection, string sql, object? parameters, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        await using var reader = await connection.ExecuteReaderAsync(new CommandDefinition(sql, parameters, transaction, cancellationToken: cancellationToken));
        return await TaskRows.ReadAllAsync((DbDataReader)reader, cancellationToken);
    }

    private Task<int> ExecuteAsync(string sql, object parameters, CancellationToken cancellationToken) =>
        database.WriteAsync(connection => connection.ExecuteAsync(new CommandDefinition(sql, parameters, cancellationToken: cancellationToken)), cancellationToken);

    private async Task<bool> UpdateAsync(string sql, object parameters, CancellationToken cancellationToken) =>
        await ExecuteAsync(sql, parameters, cancellationToken) == 1;

    /// <summary>A fenced update and, when it changed the task, the webhook event it causes, in one transaction.</summary>
    private Task<bool> UpdateWithEventAsync(string eventType, long? now, string taskId, string sql, object parameters, CancellationToken cancellationToken) =>
        database.TransactAsync(async (connection, transaction) =>
        {
            var changed = await connection.ExecuteAsync(new CommandDefinition(sql, parameters, transaction, cancellationToken: cancellationToken));
            if (changed == 1)
            {
                // Checkpoint: the event is in the outbox exactly when its change is stored.
                await PostgresWebhookEvents.AddEventAsync(connection, transaction, taskId, eventType, now, cancellationToken);
            }

            return changed == 1;
        }, cancellationToken);

    private sealed class IdempotencyRow
    {
        public string TaskId { get; set; } = "";
        public byte[] RequestHash { get; set; } = [];
    }

    private sealed class AccountBooks
    {
        public long Balance { get; set; }
        public long Held { get; set; }
        public int Unlimited { get; set; }
        public long Seq { get; set; }
        public long SpendDay { get; set; }
        public long SpendToday { get; set; }
    }

    private sealed class SettledBooks
    {
        public long Balance { get; set; }
        public long Held { get; set; }
        public long Seq { get; set; }
    }

    /// <summary>The values a new task is inserted with, named as <c>InsertSql</c> names them.</summary>
    private static object InsertValues(VideoTask task, long? holdSeq) => new
    {
        id = task.Id,
        owner = task.OwnerKeyId,
        mode = TaskRows.ToText(task.Mode),
        model = task.Model,
        requested_model = task.RequestedModel,
        prompt = task.Prompt,
        negative_prompt = task.NegativePrompt,
        aspect_ratio = task.AspectRatio,
        size = task.Size,
        duration = task.Duration,
        seed = task.Seed,
        images_json = TaskRows.Json(task.Images),
        options_json = TaskRows.Json(task.Options),
        callback_url = task.CallbackUrl,
        idempotency_key = task.IdempotencyKey,
        surface = TaskRows.ToText(task.Surface),
        remixed_from = task.RemixedFrom,
        stage = TaskRows.ToText(task.Stage),
        progress = task.Progress,
        created_at = task.CreatedAt,
        updated_at = task.UpdatedAt,
        deadline_at = task.DeadlineAt,
        next_at = task.NextAt,
        account_id = task.AccountId,
        held = task.Held,
        price_unit = task.PriceUnit is { } unit ? Price.UnitText(unit) : null,
        unit_price = task.UnitPrice,
        hold_seq = holdSeq,
        cancel_at = task.CancelAt,
        webhook_events = task.WebhookEvents is { } events ? TaskRows.Json(events) : null,
        trace_parent = task.TraceParent,
    };
}
