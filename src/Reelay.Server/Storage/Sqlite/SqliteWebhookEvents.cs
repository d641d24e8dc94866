using Reelay.Webhooks;

namespace Reelay.Storage.Sqlite;

/// <summary>
/// The outbox write <see cref="SqliteTaskStore"/> makes inside its transitions, on the session's prepared
/// statements (the task hot path). It writes the event a task's change causes, with one delivery per
/// target that wants it: the task's <c>callback_url</c> (filtered by its <c>webhook_events</c>) and each
/// enabled endpoint of its account subscribed to the type. Inside the caller's transaction, so the event
/// exists exactly when the change does. Nothing is written when no target wants it; a progress event also
/// needs the progress to have grown since the task's last event, and none in the last
/// <see cref="WebhookEvents.ProgressInterval"/>.
/// </summary>
internal static class SqliteWebhookEvents
{
    /// <param name="now">Unix ms of the change; null: the database's clock (the poller's update carries no time).</param>
    public static async Task AddEventAsync(SqliteSession session, string taskId, string type, long? now)
    {
        var at = now ?? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        if (type == WebhookEvents.Progress)
        {
            var due = session.Command("""
                SELECT 1 FROM tasks AS t WHERE t.id = $task
                  AND t.progress > COALESCE((SELECT MAX(progress) FROM webhook_events WHERE task_id = $task), 0)
                  AND NOT EXISTS (SELECT 1 FROM webhook_events WHERE task_id = $task AND type = 'video.progress' AND created_at > $since)
                """);
            due.Parameters.AddWithValue("$task", taskId);
            due.Parameters.AddWithValue("$since", at - (long)WebhookEvents.ProgressInterval.TotalMilliseconds);
            if (await due.ExecuteScalarAsync() is null)
            {
                return;
            }
        }

        var eventId = WebhookEvents.NewEventId();
        var deliveries = session.Command("""
            INSERT INTO webhook_deliveries (event_id, task_id, endpoint_id, url, state, next_at, created_at)
            SELECT $event, t.id, NULL, t.callback_url, 'pending', $now, $now FROM tasks AS t
            WHERE t.id = $task AND t.callback_url IS NOT NULL
              -- A callback_url that answered 410 Gone gets no more of this task's events.
              AND NOT EXISTS (SELECT 1 FROM webhook_deliveries AS g WHERE g.task_id = t.id AND g.endpoint_id IS NULL AND g.state = 'gone')
              AND CASE WHEN t.webhook_events IS NULL THEN $type <> 'video.progress'
                       ELSE EXISTS (SELECT 1 FROM json_each(t.webhook_events) WHERE value = $type) END
            UNION ALL
            SELECT $event, t.id, e.id, e.url, 'pending', $now, $now FROM tasks AS t JOIN webhook_endpoints AS e ON e.account_id = t.account_id
            WHERE t.id = $task AND e.enabled = 1
              AND CASE WHEN e.events_json IS NULL THEN $type <> 'video.progress'
                       ELSE EXISTS (SELECT 1 FROM json_each(e.events_json) WHERE value = $type) END
            """);
        deliveries.Parameters.AddWithValue("$event", eventId);
        deliveries.Parameters.AddWithValue("$task", taskId);
        deliveries.Parameters.AddWithValue("$type", type);
        deliveries.Parameters.AddWithValue("$now", at);
        if (await deliveries.ExecuteNonQueryAsync() == 0)
        {
            return;
        }

        var insert = session.Command("""
            INSERT INTO webhook_events (id, task_id, account_id, type, progress, created_at)
            SELECT $event, id, account_id, $type, progress, $now FROM tasks WHERE id = $task
            """);
        insert.Parameters.AddWithValue("$event", eventId);
        insert.Parameters.AddWithValue("$task", taskId);
        insert.Parameters.AddWithValue("$type", type);
        insert.Parameters.AddWithValue("$now", at);
        await insert.ExecuteNonQueryAsync();
    }
}
