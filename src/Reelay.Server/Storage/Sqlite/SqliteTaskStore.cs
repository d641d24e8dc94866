using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Reelay.Providers;
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
    private static readonly string GetForOwnerSql = $"SELECT {SqliteTaskRows.ClientColumns} FROM tasks WHERE id = $id AND owner_key_id = $owner";

    private readonly System.Collections.Concurrent.ConcurrentQueue<PendingInsert> _inserts = new();

    private long _rowsWritten;

    /// <summary>Task rows inserted or changed since start: what tests and operators compare the engine's write rate with.</summary>
    public long RowsWritten => Interlocked.Read(ref _rowsWritten);

    /// <summary>
    /// Group commit: concurrent creates are queued, and whoever holds the write gate next commits
    /// every queued insert in one transaction. Each caller is answered only after the commit that
    /// holds its row, so the answer still means "stored durably"; under load one commit serves many.
    /// Every caller is answered within about the busy timeout: stored, or refused with
    /// <see cref="StoreUnavailableException"/> when its row is certainly not stored.
    /// </summary>
    public async Task<(VideoTask Task, bool Created)> CreateAsync(VideoTask task, CancellationToken cancellationToken)
    {
        var pending = new PendingInsert(task, Stopwatch.GetTimestamp() + (long)(database.BusyTimeout.TotalSeconds * Stopwatch.Frequency));
        _inserts.Enqueue(pending);

        // The gate free this instant (no write load): commit at once, with no wait to set up.
        if (database.TryEnterWriteNow() is { } free)
        {
            using (free)
            {
                await CommitQueuedInsertsAsync();
            }
        }

        while (!pending.Done.Task.IsCompleted)
        {
            using var stopEntering = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var entering = database.WaitWriteGateAsync(Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), pending.Deadline), stopEntering.Token);
            if (!entering.IsCompleted && await Task.WhenAny(entering, pending.Done.Task) != entering)
            {
                // Another caller's commit answered this one: stop queueing for the gate. Under load
                // this is how most creates end, so it throws nothing.
                await stopEntering.CancelAsync();
                await ReleaseIfEnteredAsync(entering);
                break;
            }

            bool entered;
            try
            {
                entered = await entering;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The client left. If its row is still queued, no later commit may store a task nobody
                // was told of; if a commit already holds it, there is nobody left to tell either way.
                _ = pending.TryAbandon();
                throw;
            }

            if (!entered)
            {
                if (pending.TryAbandon())
                {
                    // Still queued at its deadline: never written, and now never will be.
                    throw database.QueuedTooLong();
                }

                // A commit in flight holds the row; it ends by the earliest deadline in its batch, which is at most this one.
                break;
            }

            using (database.HeldWriteGate())
            {
                if (!pending.Done.Task.IsCompleted)
                {
                    await CommitQueuedInsertsAsync();
                }
            }
        }

        if (await pending.Done.Task.WaitAsync(cancellationToken))
        {
            return (task, true);
        }

        try
        {
            using var session = await database.RentSessionAsync(cancellationToken);
            var earlier = session.Command($"SELECT {SqliteTaskRows.ClientColumns} FROM tasks WHERE owner_key_id = $owner AND idempotency_key = $key");
            earlier.Parameters.AddWithValue("$owner", task.OwnerKeyId);
            earlier.Parameters.AddWithValue("$key", task.IdempotencyKey);
            return ((await SqliteTaskRows.ReadAllAsync(earlier, cancellationToken)).Single(), false);
        }
        catch (SqliteException e) when (SqliteDatabase.IsUnavailable(e))
        {
            throw database.ReadFailed(e);
        }
    }

    private async Task ReleaseIfEnteredAsync(Task<bool> entering)
    {
        // The wait may have won the race with the withdrawal: then the gate is held and must be let go.
        // Awaited without throwing: a withdrawn wait is cancelled, and that is the common case.
        await ((Task)entering).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (entering.IsCompletedSuccessfully && entering.Result)
        {
            database.HeldWriteGate().Dispose();
        }
    }

    /// <summary>
    /// Inserts everything queued in one transaction. A row its statement refuses (a constraint) fails
    /// only its caller; the database refusing the transaction (locked past the batch's deadline, disk
    /// full, I/O error) fails every caller in the batch, and then none of their rows is stored.
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
        var inserted = new bool[batch.Count];
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
                        inserted[i] = await InsertAsync(session, batch[i].Task) == 1;
                    }
                    catch (SqliteException e) when (!SqliteDatabase.IsUnavailable(e) && session.Connection.Handle is { } handle
                        && SQLitePCL.raw.sqlite3_get_autocommit(handle) == 0)
                    {
                        // The statement alone was rolled back (ON CONFLICT ABORT); the transaction and the other rows stand.
                        outcomes[i] = e;
                    }
                }

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
        Interlocked.Add(ref _rowsWritten, inserted.Count(stored => stored));
        for (var i = 0; i < batch.Count; i++)
        {
            if (outcomes[i] is { } refused)
            {
                batch[i].Done.TrySetException(refused);
            }
            else
            {
                batch[i].Done.TrySetResult(inserted[i]);
            }
        }
    }

    private async Task<SqliteSession?> RentForCommitAsync(List<PendingInsert> batch)
    {
        try
        {
            return await database.RentSessionAsync(CancellationToken.None);
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

    private static Task<int> InsertAsync(SqliteSession session, VideoTask task)
    {
        var insert = session.Command(InsertSql, keepParameters: true);
        SqliteTaskRows.BindInsert(insert, task);
        return insert.ExecuteNonQueryAsync();
    }

    // The unique index on (owner, idempotency key) decides a race between two identical requests.
    private const string InsertSql = """
            INSERT INTO tasks (id, owner_key_id, mode, model, requested_model, prompt, negative_prompt, aspect_ratio, size,
                duration, seed, images_json, options_json, callback_url, idempotency_key, surface, remixed_from, stage,
                progress, created_at, updated_at, deadline_at, next_at)
            VALUES ($id, $owner, $mode, $model, $requested_model, $prompt, $negative_prompt, $aspect_ratio, $size,
                $duration, $seed, $images_json, $options_json, $callback_url, $idempotency_key, $surface, $remixed_from, $stage,
                $progress, $created_at, $updated_at, $deadline_at, $next_at)
            ON CONFLICT (owner_key_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
            """;

    /// <summary>
    /// A create waiting for the group commit; true once stored, false when an earlier task holds its
    /// idempotency key. Its caller gives up (abandons) and a commit takes it (takes) by the same
    /// compare-and-swap, so a row is never written after its caller was told it was not.
    /// </summary>
    private sealed class PendingInsert(VideoTask task, long deadline)
    {
        private const int Queued = 0, Taken = 1, Abandoned = 2;

        private int _state;

        public VideoTask Task { get; } = task;

        /// <summary>The <see cref="Stopwatch"/> timestamp by which its caller must be answered.</summary>
        public long Deadline { get; } = deadline;

        public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

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
            return await reader.ReadAsync(cancellationToken) ? SqliteTaskRows.Read(reader) : null;
        }
        catch (SqliteException e) when (SqliteDatabase.IsUnavailable(e))
        {
            throw database.ReadFailed(e);
        }
    }

    /// <inheritdoc cref="ITaskMonitor.GetAsync"/>
    Task<VideoTask?> ITaskMonitor.GetAsync(string id, CancellationToken cancellationToken) =>
        ReadOneAsync($"SELECT {SqliteTaskRows.Columns} FROM tasks WHERE id = $id", cancellationToken, ("$id", id));

    public async Task<IReadOnlyList<VideoTask>> ListAsync(string ownerKeyId, TaskPageRequest page, CancellationToken cancellationToken)
    {
        // Keyset pagination on (created_at, rowid): insertion order even within one millisecond, stable under inserts, no OFFSET scans.
        var sql = page.Ascending
            ? $"""
              SELECT {SqliteTaskRows.ClientColumns} FROM tasks WHERE owner_key_id = $owner
                AND ($after IS NULL OR (created_at, rowid) > (SELECT created_at, rowid FROM tasks WHERE id = $after AND owner_key_id = $owner))
              ORDER BY created_at, rowid LIMIT $limit
              """
            : $"""
              SELECT {SqliteTaskRows.ClientColumns} FROM tasks WHERE owner_key_id = $owner
                AND ($after IS NULL OR (created_at, rowid) < (SELECT created_at, rowid FROM tasks WHERE id = $after AND owner_key_id = $owner))
              ORDER BY created_at DESC, rowid DESC LIMIT $limit
              """;
        return await ReadAsync(sql, write: false, cancellationToken, ("$owner", ownerKeyId), ("$after", page.After), ("$limit", page.Limit));
    }

    public async Task<VideoTask?> CancelAsync(string id, string ownerKeyId, long now, CancellationToken cancellationToken) =>
        // Clearing the lease fences out any worker still busy with it.
        (await ReadAsync($"""
            UPDATE tasks SET stage = 'cancelled', error_code = $code, error_message = 'Cancelled by the client.',
                updated_at = $now, completed_at = $now, lease_token = NULL, lease_until = NULL
            WHERE id = $id AND owner_key_id = $owner AND stage IN {Unfinished}
            RETURNING {SqliteTaskRows.ClientColumns}
            """, write: true, cancellationToken, ("$id", id), ("$owner", ownerKeyId), ("$now", now), ("$code", TaskErrors.Cancelled))).SingleOrDefault();

    public async Task<VideoTask?> DeleteAsync(string id, string ownerKeyId, CancellationToken cancellationToken) =>
        (await ReadAsync(
            $"DELETE FROM tasks WHERE id = $id AND owner_key_id = $owner AND stage IN ('completed', 'failed', 'cancelled') RETURNING {SqliteTaskRows.ClientColumns}",
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
            RETURNING {(claim.Kind == ClaimKind.Dispatch ? SqliteTaskRows.Columns : SqliteTaskRows.EngineColumns)}
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
            ("$width", attempt.Width), ("$height", attempt.Height), ("$routeJson", SqliteTaskRows.Json(attempt.Route)));

    public Task<bool> MarkRunningAsync(Lease lease, string upstreamId, long nextPollAt, long now, CancellationToken cancellationToken) =>
        UpdateAsync("""
            UPDATE tasks SET stage = 'running', upstream_id = $upstreamId, next_at = $nextPollAt, updated_at = $now,
                lease_token = NULL, lease_until = NULL
            WHERE id = $task AND lease_token = $token AND stage = 'submitting'
            """, lease, cancellationToken, ("$upstreamId", upstreamId), ("$nextPollAt", nextPollAt), ("$now", now));

    public Task<bool> RetryLaterAsync(Lease lease, long nextAt, IReadOnlyList<RouteStep> route, CancellationToken cancellationToken) =>
        UpdateAsync("""
            UPDATE tasks SET stage = 'pending', next_at = $nextAt, route_json = $routeJson, lease_token = NULL, lease_until = NULL
            WHERE id = $task AND lease_token = $token AND stage IN ('pending', 'submitting')
            """, lease, cancellationToken, ("$nextAt", nextAt), ("$routeJson", SqliteTaskRows.Json(route)));

    public Task<bool> SchedulePollAsync(Lease lease, PollUpdate update, CancellationToken cancellationToken) =>
        UpdateAsync("""
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

    public Task<bool> CompleteAsync(Lease lease, StoredVideo video, long now, CancellationToken cancellationToken) =>
        UpdateAsync("""
            UPDATE tasks SET stage = 'completed', progress = 100, video_key = $videoKey, thumbnail_key = $thumbnailKey,
                width = $width, height = $height, video_duration = $duration, video_bytes = $bytes,
                updated_at = $now, completed_at = $now, lease_token = NULL, lease_until = NULL
            WHERE id = $task AND lease_token = $token AND stage = 'finishing'
            """, lease, cancellationToken, ("$videoKey", video.VideoKey), ("$thumbnailKey", video.ThumbnailKey), ("$width", video.Width),
            ("$height", video.Height), ("$duration", video.DurationSeconds), ("$bytes", video.Bytes), ("$now", now));

    public Task<bool> FailAsync(Lease lease, TaskError failure, long now, CancellationToken cancellationToken) =>
        UpdateAsync($"""
            UPDATE tasks SET stage = 'failed', error_code = $code, error_message = $message,
                updated_at = $now, completed_at = $now, lease_token = NULL, lease_until = NULL
            WHERE id = $task AND lease_token = $token AND stage IN {Unfinished}
            """, lease, cancellationToken, ("$code", failure.Code), ("$message", failure.Message), ("$now", now));

    public Task ReleaseAsync(Lease lease, CancellationToken cancellationToken) =>
        UpdateAsync("UPDATE tasks SET lease_token = NULL, lease_until = NULL WHERE id = $task AND lease_token = $token", lease, cancellationToken);

    public Task<IReadOnlyList<VideoTask>> ExpireOverdueAsync(long now, CancellationToken cancellationToken) =>
        ReadAsync($"""
            UPDATE tasks SET stage = 'failed', error_code = $code,
                error_message = 'The task did not finish within its model''s maximum lifetime.',
                updated_at = $now, completed_at = $now, lease_token = NULL, lease_until = NULL
            WHERE id IN (SELECT id FROM tasks WHERE stage IN {Unfinished} AND deadline_at < $now)
              AND (lease_until IS NULL OR lease_until < $now)
            RETURNING {SqliteTaskRows.Columns}
            """, write: true, cancellationToken, ("$now", now), ("$code", TaskErrors.Timeout));

    public async Task<int> CountUnfinishedAsync(string ownerKeyId, int limit, CancellationToken cancellationToken)
    {
        // Served by the partial index on unfinished rows; LIMIT stops the count at what admission needs.
        using var session = await database.RentSessionAsync(cancellationToken);
        var command = session.Command($"SELECT COUNT(*) FROM (SELECT 1 FROM tasks WHERE owner_key_id = $owner AND stage IN {Unfinished} LIMIT $limit)");
        command.Parameters.AddWithValue("$owner", ownerKeyId);
        command.Parameters.AddWithValue("$limit", limit);
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
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
        command.Parameters.AddWithValue("$ids", SqliteTaskRows.Json([.. taskIds]));
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

    public async Task<long?> NextDueAsync(ClaimKind kind, CancellationToken cancellationToken)
    {
        var stage = SqliteTaskRows.ToText(kind switch
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
        using var session = await database.RentSessionAsync(cancellationToken);
        var command = session.Command(sql);
        Bind(command, parameters);
        if (!write)
        {
            try
            {
                return await SqliteTaskRows.ReadAllAsync(command, cancellationToken);
            }
            catch (SqliteException e) when (SqliteDatabase.IsUnavailable(e))
            {
                throw database.ReadFailed(e);
            }
        }

        using var gate = await database.EnterWriteAsync(cancellationToken);
        try
        {
            var rows = await SqliteTaskRows.ReadAllAsync(command, cancellationToken);
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
        using var session = await database.RentSessionAsync(cancellationToken);
        var command = session.Command(sql);
        Bind(command, parameters);
        using var gate = await database.EnterWriteAsync(cancellationToken);
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
        using var session = await database.RentSessionAsync(cancellationToken);
        var command = session.Command(sql);
        Bind(command, parameters);
        command.Parameters.AddWithValue("$task", lease.TaskId);
        command.Parameters.AddWithValue("$token", lease.Token);
        using var gate = await database.EnterWriteAsync(cancellationToken);
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

    private static void Bind(Microsoft.Data.Sqlite.SqliteCommand command, (string Name, object? Value)[] parameters)
    {
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
    }
}
