using Dapper;
using Npgsql;
using Reelay.Webhooks;

namespace Reelay.Storage.Postgres;

/// <summary>
/// The outbox write <see cref="PostgresTaskStore"/> makes inside its transitions: the event a task's change
/// causes and its deliveries, in the caller's transaction, under the same rules as SQLite's
/// (which targets want it, and when a progress event is due); JSON lists unpacked with <c>jsonb</c>.
/// </summary>
internal static class PostgresWebhookEvents
{
    /// <param name="now">Unix ms of the change; null: the database's clock (the poller's update carries no time).</param>
    public static async Task AddEventAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string taskId, string type, long? now, CancellationToken cancellationToken)
    {
        var at = now ?? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        if (type == WebhookEvents.Progress)
        {
            var due = await connection.ExecuteScalarAsync<int?>(new CommandDefinition("""
                SELECT 1 FROM tasks AS t WHERE t.id = @task
                  AND t.progress > COALESCE((SELECT MAX(progress) FROM webhook_events WHERE task_id = @task), 0)
                  AND NOT EXISTS (SELECT 1 FROM webhook_events WHERE task_id = @task AND type = 'video.progress' AND created_at > @since)
                """, new { task = taskId, since = at - (long)WebhookEvents.ProgressInterval.TotalMilliseconds }, transaction, cancellationToken: cancellationToken));
            if (due is null)
            {
                return;
            }
        }

        var eventId = WebhookEvents.NewEventId();
        var parameters = new { eventId, task = taskId, type, now = at };
        var deliveries = await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO webhook_deliveries (event_id, task_id, endpoint_id, url, state, next_at, created_at)
            SELECT @eventId, t.id, NULL, t.callback_url, 'pending', @now, @now FROM tasks AS t
            WHERE t.id = @task AND t.callback_url IS NOT NULL
              -- A callback_url that answered 410 Gone gets no more of this task's events.
              AND NOT EXISTS (SELECT 1 FROM webhook_deliveries AS g WHERE g.task_id = t.id AND g.endpoint_id IS NULL AND g.state = 'gone')
              AND CASE WHEN t.webhook_events IS NULL THEN @type <> 'video.progress'
                       ELSE EXISTS (SELECT 1 FROM jsonb_array_elements_text(t.webhook_events::jsonb) AS wanted (value) WHERE wanted.value = @type) END
            UNION ALL
            SELECT @eventId, t.id, e.id, e.url, 'pending', @now, @now FROM tasks AS t JOIN webhook_endpoints AS e ON e.account_id = t.account_id
            WHERE t.id = @task AND e.enabled
              AND CASE WHEN e.events_json IS NULL THEN @type <> 'video.progress'
                       ELSE EXISTS (SELECT 1 FROM jsonb_array_elements_text(e.events_json::jsonb) AS wanted (value) WHERE wanted.value = @type) END
            """, parameters, transaction, cancellationToken: cancellationToken));
        if (deliveries == 0)
        {
            return;
        }

        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO webhook_events (id, task_id, account_id, type, progress, created_at)
            SELECT @eventId, id, account_id, @type, progress, @now FROM tasks WHERE id = @task
            """, parameters, transaction, cancellationToken: cancellationToken));
    }
}
