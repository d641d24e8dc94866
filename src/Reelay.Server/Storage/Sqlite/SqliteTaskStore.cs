using Dapper;
using Microsoft.Data.Sqlite;
using Reelay.Tasks;

namespace Reelay.Storage.Sqlite;

/// <summary>
/// <see cref="ITaskStore"/> on SQLite. SQLite has one writer at a time, so a claim (one UPDATE …
/// RETURNING) is atomic without row locks; every engine write matches the lease token.
/// </summary>
public sealed class SqliteTaskStore(SqliteDatabase database) : ITaskStore
{
    private const string Unfinished = "('pending', 'submitting', 'running', 'finishing')";

    public async Task<(VideoTask Task, bool Created)> CreateAsync(VideoTask task, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        // The unique index on (owner, idempotency key) decides a race between two identical requests.
        var inserted = await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO tasks (id, owner_key_id, mode, model, requested_model, prompt, negative_prompt, aspect_ratio, size,
                duration, seed, images_json, options_json, callback_url, idempotency_key, surface, remixed_from, stage,
                progress, created_at, updated_at, deadline_at, next_at)
            VALUES (@Id, @OwnerKeyId, @Mode, @Model, @RequestedModel, @Prompt, @NegativePrompt, @AspectRatio, @Size,
                @Duration, @Seed, @ImagesJson, @OptionsJson, @CallbackUrl, @IdempotencyKey, @Surface, @RemixedFrom, @Stage,
                @Progress, @CreatedAt, @UpdatedAt, @DeadlineAt, @NextAt)
            ON CONFLICT (owner_key_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
            """, task, cancellationToken: cancellationToken));
        if (inserted == 1)
        {
            return (task, true);
        }

        var earlier = await connection.QuerySingleAsync<VideoTask>(new CommandDefinition(
            "SELECT * FROM tasks WHERE owner_key_id = @OwnerKeyId AND idempotency_key = @IdempotencyKey",
            task, cancellationToken: cancellationToken));
        return (earlier, false);
    }

    public async Task<VideoTask?> GetAsync(string id, string ownerKeyId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<VideoTask>(new CommandDefinition(
            "SELECT * FROM tasks WHERE id = @id AND owner_key_id = @ownerKeyId",
            new { id, ownerKeyId }, cancellationToken: cancellationToken));
    }

    public async Task<VideoTask?> GetAnyAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<VideoTask>(new CommandDefinition(
            "SELECT * FROM tasks WHERE id = @id", new { id }, cancellationToken: cancellationToken));
    }

    public async Task<IReadOnlyList<VideoTask>> ListAsync(string ownerKeyId, TaskPageRequest page, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        // Keyset pagination on (created_at, id): stable under inserts, no OFFSET scans.
        var sql = page.Ascending
            ? """
              SELECT * FROM tasks WHERE owner_key_id = @ownerKeyId
                AND (@after IS NULL OR (created_at, id) > (SELECT created_at, id FROM tasks WHERE id = @after AND owner_key_id = @ownerKeyId))
              ORDER BY created_at, id LIMIT @limit
              """
            : """
              SELECT * FROM tasks WHERE owner_key_id = @ownerKeyId
                AND (@after IS NULL OR (created_at, id) < (SELECT created_at, id FROM tasks WHERE id = @after AND owner_key_id = @ownerKeyId))
              ORDER BY created_at DESC, id DESC LIMIT @limit
              """;
        var rows = await connection.QueryAsync<VideoTask>(new CommandDefinition(sql,
            new { ownerKeyId, after = page.After, limit = page.Limit }, cancellationToken: cancellationToken));
        return rows.AsList();
    }

    public async Task<VideoTask?> CancelAsync(string id, string ownerKeyId, long now, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        // Clearing the lease fences out any worker still busy with it.
        return await connection.QuerySingleOrDefaultAsync<VideoTask>(new CommandDefinition($"""
            UPDATE tasks SET stage = 'cancelled', error_code = 'cancelled', error_message = 'Cancelled by the client.',
                updated_at = @now, completed_at = @now, lease_token = NULL, lease_until = NULL
            WHERE id = @id AND owner_key_id = @ownerKeyId AND stage IN {Unfinished}
            RETURNING *
            """, new { id, ownerKeyId, now }, cancellationToken: cancellationToken));
    }

    public async Task<VideoTask?> DeleteAsync(string id, string ownerKeyId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<VideoTask>(new CommandDefinition(
            "DELETE FROM tasks WHERE id = @id AND owner_key_id = @ownerKeyId AND stage IN ('completed', 'failed', 'cancelled') RETURNING *",
            new { id, ownerKeyId }, cancellationToken: cancellationToken));
    }

    public async Task<IReadOnlyList<VideoTask>> ClaimAsync(ClaimKind kind, long now, string token, long leaseUntil, int limit, CancellationToken cancellationToken)
    {
        var due = kind switch
        {
            ClaimKind.Dispatch => """
                SELECT id FROM tasks WHERE stage = 'pending' AND next_at <= @now AND (lease_until IS NULL OR lease_until < @now)
                UNION ALL
                SELECT id FROM tasks WHERE stage = 'submitting' AND (lease_until IS NULL OR lease_until < @now)
                """,
            ClaimKind.Poll => "SELECT id FROM tasks WHERE stage = 'running' AND next_at <= @now AND (lease_until IS NULL OR lease_until < @now) ORDER BY next_at",
            ClaimKind.Finish => "SELECT id FROM tasks WHERE stage = 'finishing' AND next_at <= @now AND (lease_until IS NULL OR lease_until < @now) ORDER BY next_at",
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<VideoTask>(new CommandDefinition($"""
            UPDATE tasks SET lease_token = @token, lease_until = @leaseUntil
            WHERE id IN (SELECT id FROM ({due}) LIMIT @limit)
            RETURNING *
            """, new { now, token, leaseUntil, limit }, cancellationToken: cancellationToken));
        return rows.AsList();
    }

    public Task<bool> ExtendLeaseAsync(Lease lease, long leaseUntil, CancellationToken cancellationToken) =>
        UpdateAsync("UPDATE tasks SET lease_until = @leaseUntil WHERE id = @TaskId AND lease_token = @Token",
            lease, new { leaseUntil }, cancellationToken);

    public Task<bool> RecordAttemptAsync(Lease lease, string channel, string provider, string upstreamModel, int width, int height, string routeJson, long now, CancellationToken cancellationToken) =>
        UpdateAsync("""
            UPDATE tasks SET stage = 'submitting', attempts = attempts + 1, channel = @channel, provider = @provider,
                upstream_model = @upstreamModel, width = @width, height = @height, route_json = @routeJson
            WHERE id = @TaskId AND lease_token = @Token AND stage IN ('pending', 'submitting')
            """, lease, new { channel, provider, upstreamModel, width, height, routeJson }, cancellationToken);

    public Task<bool> MarkRunningAsync(Lease lease, string upstreamId, long nextPollAt, long now, CancellationToken cancellationToken) =>
        UpdateAsync("""
            UPDATE tasks SET stage = 'running', upstream_id = @upstreamId, next_at = @nextPollAt, updated_at = @now,
                lease_token = NULL, lease_until = NULL
            WHERE id = @TaskId AND lease_token = @Token AND stage = 'submitting'
            """, lease, new { upstreamId, nextPollAt, now }, cancellationToken);

    public Task<bool> RetryLaterAsync(Lease lease, long nextAt, string routeJson, CancellationToken cancellationToken) =>
        UpdateAsync("""
            UPDATE tasks SET stage = 'pending', next_at = @nextAt, route_json = @routeJson, lease_token = NULL, lease_until = NULL
            WHERE id = @TaskId AND lease_token = @Token AND stage IN ('pending', 'submitting')
            """, lease, new { nextAt, routeJson }, cancellationToken);

    public Task<bool> SchedulePollAsync(Lease lease, int progress, int pollFailures, long nextPollAt, string? enhancedPrompt, CancellationToken cancellationToken) =>
        UpdateAsync("""
            UPDATE tasks SET progress = MAX(progress, @progress), polls = polls + 1, poll_failures = @pollFailures, next_at = @nextPollAt,
                enhanced_prompt = COALESCE(@enhancedPrompt, enhanced_prompt), lease_token = NULL, lease_until = NULL
            WHERE id = @TaskId AND lease_token = @Token AND stage = 'running'
            """, lease, new { progress, pollFailures, nextPollAt, enhancedPrompt }, cancellationToken);

    public Task<bool> MarkFinishingAsync(Lease lease, string resultLocation, string? enhancedPrompt, long now, CancellationToken cancellationToken) =>
        UpdateAsync("""
            UPDATE tasks SET stage = 'finishing', result_location = @resultLocation, polls = polls + 1, poll_failures = 0,
                progress = MAX(progress, 99), enhanced_prompt = COALESCE(@enhancedPrompt, enhanced_prompt),
                next_at = @now, lease_token = NULL, lease_until = NULL
            WHERE id = @TaskId AND lease_token = @Token AND stage = 'running'
            """, lease, new { resultLocation, enhancedPrompt, now }, cancellationToken);

    public Task<bool> PostponeAsync(Lease lease, long nextAt, CancellationToken cancellationToken) =>
        UpdateAsync("""
            UPDATE tasks SET next_at = @nextAt, lease_token = NULL, lease_until = NULL
            WHERE id = @TaskId AND lease_token = @Token AND stage IN ('pending', 'running', 'finishing')
            """, lease, new { nextAt }, cancellationToken);

    public Task<bool> DeferFinishAsync(Lease lease, int failures, long nextAt, CancellationToken cancellationToken) =>
        UpdateAsync("""
            UPDATE tasks SET poll_failures = @failures, next_at = @nextAt, lease_token = NULL, lease_until = NULL
            WHERE id = @TaskId AND lease_token = @Token AND stage = 'finishing'
            """, lease, new { failures, nextAt }, cancellationToken);

    public Task<bool> CompleteAsync(Lease lease, StoredVideo video, long now, CancellationToken cancellationToken) =>
        UpdateAsync("""
            UPDATE tasks SET stage = 'completed', progress = 100, video_key = @VideoKey, thumbnail_key = @ThumbnailKey,
                width = @Width, height = @Height, video_duration = @DurationSeconds, video_bytes = @Bytes,
                updated_at = @now, completed_at = @now, lease_token = NULL, lease_until = NULL
            WHERE id = @TaskId AND lease_token = @Token AND stage = 'finishing'
            """, lease, new { video.VideoKey, video.ThumbnailKey, video.Width, video.Height, video.DurationSeconds, video.Bytes, now }, cancellationToken);

    public Task<bool> FailAsync(Lease lease, string code, string message, long now, CancellationToken cancellationToken) =>
        UpdateAsync($"""
            UPDATE tasks SET stage = 'failed', error_code = @code, error_message = @message,
                updated_at = @now, completed_at = @now, lease_token = NULL, lease_until = NULL
            WHERE id = @TaskId AND lease_token = @Token AND stage IN {Unfinished}
            """, lease, new { code, message, now }, cancellationToken);

    public Task ReleaseAsync(Lease lease, CancellationToken cancellationToken) =>
        UpdateAsync("UPDATE tasks SET lease_token = NULL, lease_until = NULL WHERE id = @TaskId AND lease_token = @Token",
            lease, new { }, cancellationToken);

    public async Task<IReadOnlyList<string>> ExpireOverdueAsync(long now, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var ids = await connection.QueryAsync<string>(new CommandDefinition($"""
            UPDATE tasks SET stage = 'failed', error_code = 'timeout',
                error_message = 'The task did not finish within its model''s maximum lifetime.',
                updated_at = @now, completed_at = @now, lease_token = NULL, lease_until = NULL
            WHERE id IN (SELECT id FROM tasks WHERE stage IN {Unfinished} AND deadline_at < @now)
              AND (lease_until IS NULL OR lease_until < @now)
            RETURNING id
            """, new { now }, cancellationToken: cancellationToken));
        return ids.AsList();
    }

    public async Task<long?> NextDueAsync(ClaimKind kind, CancellationToken cancellationToken)
    {
        var stage = kind switch
        {
            ClaimKind.Dispatch => Stage.Pending,
            ClaimKind.Poll => Stage.Running,
            _ => Stage.Finishing,
        };
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT MIN(next_at) FROM tasks WHERE stage = @stage", new { stage }, cancellationToken: cancellationToken));
    }

    private async Task<bool> UpdateAsync(string sql, Lease lease, object values, CancellationToken cancellationToken)
    {
        var parameters = new DynamicParameters(values);
        parameters.Add("TaskId", lease.TaskId);
        parameters.Add("Token", lease.Token);
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(sql, parameters, cancellationToken: cancellationToken)) == 1;
    }
}
