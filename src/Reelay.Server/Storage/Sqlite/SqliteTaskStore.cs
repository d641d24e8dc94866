using Microsoft.Data.Sqlite;
using Reelay.Tasks;

namespace Reelay.Storage.Sqlite;

/// <summary>
/// <see cref="ITaskStore"/> on SQLite. SQLite has one writer at a time, so a claim (one UPDATE …
/// RETURNING) is atomic without row locks; every engine write matches the lease token. Statements
/// run on pooled sessions that keep them prepared; writes pass the in-process write gate.
/// </summary>
public sealed class SqliteTaskStore(SqliteDatabase database) : ITaskStore
{
    private const string Unfinished = "('pending', 'submitting', 'running', 'finishing')";

    private readonly System.Collections.Concurrent.ConcurrentQueue<PendingInsert> _inserts = new();

    private long _rowsWritten;

    /// <summary>Task rows inserted or changed since start: what tests and operators compare the engine's write rate with.</summary>
    public long RowsWritten => Interlocked.Read(ref _rowsWritten);

    /// <summary>
    /// Group commit: concurrent creates are queued, and whoever holds the write gate next commits
    /// every queued insert in one transaction. Each caller is answered only after the commit that
    /// holds its row, so the answer still means "stored durably"; under load one commit serves many.
    /// </summary>
    public async Task<(VideoTask Task, bool Created)> CreateAsync(VideoTask task, CancellationToken cancellationToken)
    {
        var pending = new PendingInsert(task);
        _inserts.Enqueue(pending);
        SqliteDatabase.WriteGate gate;
        try
        {
            gate = await database.EnterWriteAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The client left before its row was written: a later commit must not store a task nobody was told of.
            pending.Abandoned = true;
            throw;
        }

        using (gate)
        {
            if (!pending.Done.Task.IsCompleted)
            {
                await CommitQueuedInsertsAsync();
            }
        }

        if (await pending.Done.Task)
        {
            return (task, true);
        }

        using var session = await database.RentSessionAsync(cancellationToken);
        var earlier = session.Command($"SELECT {SqliteTaskRows.ClientColumns} FROM tasks WHERE owner_key_id = $owner AND idempotency_key = $key");
        earlier.Parameters.AddWithValue("$owner", task.OwnerKeyId);
        earlier.Parameters.AddWithValue("$key", task.IdempotencyKey);
        return ((await SqliteTaskRows.ReadAllAsync(earlier, cancellationToken)).Single(), false);
    }

    /// <summary>Inserts everything queued in one transaction; on failure, each row alone so one bad row fails only its caller.</summary>
    private async Task CommitQueuedInsertsAsync()
    {
        var batch = new List<PendingInsert>();
        while (batch.Count < 512 && _inserts.TryDequeue(out var next))
        {
            if (!next.Abandoned)
            {
                batch.Add(next);
            }
        }

        if (batch.Count == 0)
        {
            return;
        }

        // The commit must not be abandoned half-way because one caller went away.
        using var session = await database.RentSessionAsync(CancellationToken.None);
        try
        {
            await session.Command("BEGIN IMMEDIATE").ExecuteNonQueryAsync();
            var inserted = new bool[batch.Count];
            for (var i = 0; i < batch.Count; i++)
            {
                inserted[i] = await InsertAsync(session, batch[i].Task) == 1;
            }

            await session.Command("COMMIT").ExecuteNonQueryAsync();
            Interlocked.Add(ref _rowsWritten, inserted.Count(stored => stored));
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Done.TrySetResult(inserted[i]);
            }
        }
        catch (SqliteException)
        {
            await session.Command("ROLLBACK").ExecuteNonQueryAsync();
            foreach (var one in batch)
            {
                try
                {
                    var stored = await InsertAsync(session, one.Task) == 1;
                    Interlocked.Add(ref _rowsWritten, stored ? 1 : 0);
                    one.Done.TrySetResult(stored);
                }
                catch (SqliteException e)
                {
                    one.Done.TrySetException(e);
                }
            }
        }
    }

    private static Task<int> InsertAsync(SqliteSession session, VideoTask task)
    {
        // The unique index on (owner, idempotency key) decides a race between two identical requests.
        var insert = session.Command("""
            INSERT INTO tasks (id, owner_key_id, mode, model, requested_model, prompt, negative_prompt, aspect_ratio, size,
                duration, seed, images_json, options_json, callback_url, idempotency_key, surface, remixed_from, stage,
                progress, created_at, updated_at, deadline_at, next_at)
            VALUES ($id, $owner, $mode, $model, $requested_model, $prompt, $negative_prompt, $aspect_ratio, $size,
                $duration, $seed, $images_json, $options_json, $callback_url, $idempotency_key, $surface, $remixed_from, $stage,
                $progress, $created_at, $updated_at, $deadline_at, $next_at)
            ON CONFLICT (owner_key_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
            """);
        SqliteTaskRows.BindInsert(insert, task);
        return insert.ExecuteNonQueryAsync();
    }

    /// <summary>A create waiting for the group commit; true once stored, false when an earlier task holds its idempotency key.</summary>
    private sealed class PendingInsert(VideoTask task)
    {
        public VideoTask Task { get; } = task;

        public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public volatile bool Abandoned;
    }

    public async Task<VideoTask?> GetAsync(string id, string ownerKeyId, CancellationToken cancellationToken)
    {
        using var session = await database.RentSessionAsync(cancellationToken);
        var command = session.Command($"SELECT {SqliteTaskRows.ClientColumns} FROM tasks WHERE id = $id AND owner_key_id = $owner");
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$owner", ownerKeyId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? SqliteTaskRows.Read(reader) : null;
    }

    public Task<VideoTask?> GetAnyAsync(string id, CancellationToken cancellationToken) =>
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
            UPDATE tasks SET stage = 'cancelled', error_code = 'cancelled', error_message = 'Cancelled by the client.',
                updated_at = $now, completed_at = $now, lease_token = NULL, lease_until = NULL
            WHERE id = $id AND owner_key_id = $owner AND stage IN {Unfinished}
            RETURNING {SqliteTaskRows.ClientColumns}
            """, write: true, cancellationToken, ("$id", id), ("$owner", ownerKeyId), ("$now", now))).SingleOrDefault();

    public async Task<VideoTask?> DeleteAsync(string id, string ownerKeyId, CancellationToken cancellationToken) =>
        (await ReadAsync(
            $"DELETE FROM tasks WHERE id = $id AND owner_key_id = $owner AND stage IN ('completed', 'failed', 'cancelled') RETURNING {SqliteTaskRows.ClientColumns}",
            write: true, cancellationToken, ("$id", id), ("$owner", ownerKeyId))).SingleOrDefault();

    public Task<IReadOnlyList<VideoTask>> ClaimAsync(ClaimKind kind, long now, string token, long leaseUntil, int limit, CancellationToken cancellationToken)
    {
        var due = kind switch
        {
            ClaimKind.Dispatch => """
                SELECT id FROM tasks WHERE stage = 'pending' AND next_at <= $now AND (lease_until IS NULL OR lease_until < $now)
                UNION ALL
                SELECT id FROM tasks WHERE stage = 'submitting' AND (lease_until IS NULL OR lease_until < $now)
                """,
            ClaimKind.Poll => "SELECT id FROM tasks WHERE stage = 'running' AND next_at <= $now AND (lease_until IS NULL OR lease_until < $now) ORDER BY next_at",
            ClaimKind.Finish => "SELECT id FROM tasks WHERE stage = 'finishing' AND next_at <= $now AND (lease_until IS NULL OR lease_until < $now) ORDER BY next_at",
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        return ReadAsync($"""
            UPDATE tasks SET lease_token = $token, lease_until = $leaseUntil
            WHERE id IN (SELECT id FROM ({due}) LIMIT $limit)
            RETURNING {SqliteTaskRows.Columns}
            """, write: true, cancellationToken, ("$now", now), ("$token", token), ("$leaseUntil", leaseUntil), ("$limit", limit));
    }

    public Task<bool> ExtendLeaseAsync(Lease lease, long leaseUntil, CancellationToken cancellationToken) =>
        UpdateAsync("UPDATE tasks SET lease_until = $leaseUntil WHERE id = $task AND lease_token = $token",
            lease, cancellationToken, ("$leaseUntil", leaseUntil));

    public Task<bool> RecordAttemptAsync(Lease lease, string channel, string provider, string upstreamModel, int width, int height, string routeJson, long now, CancellationToken cancellationToken) =>
        UpdateAsync("""
            UPDATE tasks SET stage = 'submitting', attempts = attempts + 1, channel = $channel, provider = $provider,
                upstream_model = $upstreamModel, width = $width, height = $height, route_json = $routeJson
            WHERE id = $task AND lease_token = $token AND stage IN ('pending', 'submitting')
            """, lease, cancellationToken, ("$channel", channel), ("$provider", provider), ("$upstreamModel", upstreamModel),
            ("$width", width), ("$height", height), ("$routeJson", routeJson));

    public Task<bool> MarkRunningAsync(Lease lease, string upstreamId, long nextPollAt, long now, CancellationToken cancellationToken) =>
        UpdateAsync("""
            UPDATE tasks SET stage = 'running', upstream_id = $upstreamId, next_at = $nextPollAt, updated_at = $now,
                lease_token = NULL, lease_until = NULL
            WHERE id = $task AND lease_token = $token AND stage = 'submitting'
            """, lease, cancellationToken, ("$upstreamId", upstreamId), ("$nextPollAt", nextPollAt), ("$now", now));

    public Task<bool> RetryLaterAsync(Lease lease, long nextAt, string routeJson, CancellationToken cancellationToken) =>
        UpdateAsync("""
            UPDATE tasks SET stage = 'pending', next_at = $nextAt, route_json = $routeJson, lease_token = NULL, lease_until = NULL
            WHERE id = $task AND lease_token = $token AND stage IN ('pending', 'submitting')
            """, lease, cancellationToken, ("$nextAt", nextAt), ("$routeJson", routeJson));

    public Task<bool> SchedulePollAsync(Lease lease, int progress, int pollFailures, long nextPollAt, string? enhancedPrompt, CancellationToken cancellationToken) =>
        UpdateAsync("""
            UPDATE tasks SET progress = MAX(progress, $progress), polls = polls + 1, poll_failures = $pollFailures, next_at = $nextPollAt,
                enhanced_prompt = COALESCE($enhancedPrompt, enhanced_prompt), lease_token = NULL, lease_until = NULL
            WHERE id = $task AND lease_token = $token AND stage = 'running'
            """, lease, cancellationToken, ("$progress", progress), ("$pollFailures", pollFailures), ("$nextPollAt", nextPollAt), ("$enhancedPrompt", enhancedPrompt));

    public async Task<bool> NudgePollAsync(string taskId, long now, CancellationToken cancellationToken) =>
        await WriteAsync("UPDATE tasks SET next_at = MIN(next_at, $now) WHERE id = $id AND stage = 'running'",
            cancellationToken, ("$id", taskId), ("$now", now)) == 1;

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

    public Task<bool> FailAsync(Lease lease, string code, string message, long now, CancellationToken cancellationToken) =>
        UpdateAsync($"""
            UPDATE tasks SET stage = 'failed', error_code = $code, error_message = $message,
                updated_at = $now, completed_at = $now, lease_token = NULL, lease_until = NULL
            WHERE id = $task AND lease_token = $token AND stage IN {Unfinished}
            """, lease, cancellationToken, ("$code", code), ("$message", message), ("$now", now));

    public Task ReleaseAsync(Lease lease, CancellationToken cancellationToken) =>
        UpdateAsync("UPDATE tasks SET lease_token = NULL, lease_until = NULL WHERE id = $task AND lease_token = $token", lease, cancellationToken);

    public Task<IReadOnlyList<VideoTask>> ExpireOverdueAsync(long now, CancellationToken cancellationToken) =>
        ReadAsync($"""
            UPDATE tasks SET stage = 'failed', error_code = 'timeout',
                error_message = 'The task did not finish within its model''s maximum lifetime.',
                updated_at = $now, completed_at = $now, lease_token = NULL, lease_until = NULL
            WHERE id IN (SELECT id FROM tasks WHERE stage IN {Unfinished} AND deadline_at < $now)
              AND (lease_until IS NULL OR lease_until < $now)
            RETURNING {SqliteTaskRows.Columns}
            """, write: true, cancellationToken, ("$now", now));

    public async Task<long?> NextDueAsync(ClaimKind kind, CancellationToken cancellationToken)
    {
        var stage = kind switch
        {
            ClaimKind.Dispatch => Stage.Pending,
            ClaimKind.Poll => Stage.Running,
            _ => Stage.Finishing,
        };
        using var session = await database.RentSessionAsync(cancellationToken);
        var command = session.Command("SELECT MIN(next_at) FROM tasks WHERE stage = $stage");
        command.Parameters.AddWithValue("$stage", stage);
        return await command.ExecuteScalarAsync(cancellationToken) is long next ? next : null;
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
            return await SqliteTaskRows.ReadAllAsync(command, cancellationToken);
        }

        using var gate = await database.EnterWriteAsync(cancellationToken);
        var changed = await SqliteTaskRows.ReadAllAsync(command, cancellationToken);
        Interlocked.Add(ref _rowsWritten, changed.Count);
        return changed;
    }

    private async Task<int> WriteAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        using var session = await database.RentSessionAsync(cancellationToken);
        var command = session.Command(sql);
        Bind(command, parameters);
        using var gate = await database.EnterWriteAsync(cancellationToken);
        var changed = await command.ExecuteNonQueryAsync(cancellationToken);
        Interlocked.Add(ref _rowsWritten, changed);
        return changed;
    }

    private async Task<bool> UpdateAsync(string sql, Lease lease, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        using var session = await database.RentSessionAsync(cancellationToken);
        var command = session.Command(sql);
        Bind(command, parameters);
        command.Parameters.AddWithValue("$task", lease.TaskId);
        command.Parameters.AddWithValue("$token", lease.Token);
        using var gate = await database.EnterWriteAsync(cancellationToken);
        var changed = await command.ExecuteNonQueryAsync(cancellationToken);
        Interlocked.Add(ref _rowsWritten, changed);
        return changed == 1;
    }

    private static void Bind(Microsoft.Data.Sqlite.SqliteCommand command, (string Name, object? Value)[] parameters)
    {
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
    }
}
