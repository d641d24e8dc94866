using Dapper;
using Reelay.Secrets;
using Reelay.Tasks;
using Reelay.Webhooks;

namespace Reelay.Storage.Relational;

/// <summary>
/// <see cref="IWebhookStore"/> on SQLite or PostgreSQL (each task store writes the outbox's events inside
/// its own transitions). Signing secrets are stored only encrypted
/// (<see cref="SecretProtector"/>, purpose <see cref="SecretPurposes.WebhookSigningSecrets"/>), so key-ring
/// rotation re-encrypts them like every other stored secret.
/// </summary>
public sealed class RelationalWebhookStore(IRelationalDatabase database, SecretProtector secrets) : IWebhookStore, ISecretHolder
{
    /// <summary>The item name of an account's previous secret, beside its account id for the current one.</summary>
    private const string PreviousSuffix = "#previous";

    public string Name => SecretPurposes.WebhookSigningSecrets;

    /// <summary>The event a task's end causes.</summary>
    internal static string EndEventOf(TaskStage stage) => stage switch
    {
        TaskStage.Completed => WebhookEvents.Completed,
        TaskStage.Cancelled => WebhookEvents.Cancelled,
        _ => WebhookEvents.Failed,
    };

    public async Task<IReadOnlyList<WebhookDelivery>> ClaimAsync(long now, string token, long leaseUntil, int limit, CancellationToken cancellationToken)
    {
        // A read first, along the partial index: an idle notifier never takes the write lock, so it
        // neither competes with the engine's writers nor shows up in the write health readiness reports.
        var due = await database.ReadAsync(connection => connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            $"SELECT 1 FROM webhook_deliveries WHERE state = 'pending' AND next_at <= @now AND (lease_until IS NULL OR lease_until < {database.Dialect.LeaseNow}) LIMIT 1",
            new { now }, cancellationToken: cancellationToken)), cancellationToken);
        return due is null ? [] : await ClaimDueAsync(now, token, leaseUntil, limit, cancellationToken);
    }

    private async Task<IReadOnlyList<WebhookDelivery>> ClaimDueAsync(long now, string token, long leaseUntil, int limit, CancellationToken cancellationToken) =>
        [.. await database.WriteAsync(async connection =>
        {
            // One statement takes the lease, on the clock task leases use, skipping rows another
            // instance's notifier is claiming; the rows it stamped are then read with their events.
            var dialect = database.Dialect;
            var ids = (await connection.QueryAsync<long>(new CommandDefinition($"""
                UPDATE webhook_deliveries SET lease_token = @token, lease_until = {dialect.LeaseNow} + @leaseMs
                WHERE id IN (
                    SELECT d.id FROM webhook_deliveries AS d
                    WHERE d.state = 'pending' AND d.next_at <= @now AND (d.lease_until IS NULL OR d.lease_until < {dialect.LeaseNow})
                      AND (d.endpoint_id IS NULL OR EXISTS (SELECT 1 FROM webhook_endpoints AS e WHERE e.id = d.endpoint_id AND e.enabled))
                    ORDER BY d.next_at LIMIT @limit {dialect.SkipLocked})
                RETURNING id
                """, new { token, leaseMs = Math.Max(0, leaseUntil - now), now, limit }, cancellationToken: cancellationToken))).ToArray();
            if (ids.Length == 0)
            {
                return [];
            }

            var rows = await connection.QueryAsync<ClaimRow>(new CommandDefinition($"""
                SELECT d.id AS Id, d.event_id AS EventId, e.type AS EventType, e.created_at AS EventAt, e.progress AS EventProgress, d.task_id AS TaskId,
                    e.account_id AS AccountId, d.endpoint_id AS EndpointId, d.url AS Url, d.attempts AS Attempts, d.lease_token AS LeaseToken
                FROM webhook_deliveries AS d JOIN webhook_events AS e ON e.id = d.event_id
                WHERE {dialect.IsAnyOf("d.id", "@ids")} AND d.lease_token = @token
                ORDER BY e.created_at, d.id
                """, new { ids = dialect.Ids(ids), token }, cancellationToken: cancellationToken));
            return rows.Select(row => new WebhookDelivery(row.Id, row.EventId, row.EventType, row.EventAt, (int)row.EventProgress, row.TaskId, row.AccountId,
                row.EndpointId, row.Url, (int)row.Attempts, row.LeaseToken));
        }, cancellationToken)];

    public Task<long?> NextDueAsync(CancellationToken cancellationToken) =>
        database.ReadAsync(connection => connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT MIN(next_at) FROM webhook_deliveries WHERE state = 'pending'", cancellationToken: cancellationToken)), cancellationToken);

    public Task<WebhookBacklog> BacklogAsync(long now, CancellationToken cancellationToken) =>
        database.ReadAsync(connection => connection.QuerySingleAsync<WebhookBacklog>(new CommandDefinition("""
            SELECT COUNT(CASE WHEN next_at <= @now THEN 1 END) AS Due, COUNT(CASE WHEN next_at > @now THEN 1 END) AS Retrying
            FROM webhook_deliveries WHERE state = 'pending'
            """, new { now }, cancellationToken: cancellationToken)), cancellationToken);

    public Task<bool> RecordAsync(WebhookDelivery delivery, DeliveryOutcome outcome, long now, CancellationToken cancellationToken) =>
        database.WriteAsync(async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var attempt = outcome.Attempt;
            var changed = await connection.ExecuteAsync(new CommandDefinition("""
                UPDATE webhook_deliveries SET state = @state, attempts = attempts + 1, next_at = @nextAt, last_status = @status, last_error = @error,
                    delivered_at = CASE WHEN @state = 'delivered' THEN @now ELSE delivered_at END, lease_token = NULL, lease_until = NULL
                WHERE id = @id AND lease_token = @token
                """, new { state = StateText(outcome.State), nextAt = outcome.NextAt, status = attempt.StatusCode, error = attempt.Error, now, id = delivery.Id, token = delivery.LeaseToken },
                transaction, cancellationToken: cancellationToken));
            if (changed == 0)
            {
                return false;
            }

            // ON CONFLICT: a try redone after a lost outcome keeps its number.
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO webhook_attempts (delivery_id, n, at, status_code, latency_ms, error)
                VALUES (@id, (SELECT attempts FROM webhook_deliveries WHERE id = @id), @at, @status, @latency, @error)
                ON CONFLICT (delivery_id, n) DO UPDATE SET at = excluded.at, status_code = excluded.status_code, latency_ms = excluded.latency_ms, error = excluded.error
                """, new { id = delivery.Id, at = attempt.At, status = attempt.StatusCode, latency = attempt.LatencyMs, error = attempt.Error },
                transaction, cancellationToken: cancellationToken));
            if (outcome.State == DeliveryState.Gone)
            {
                var reason = $"turned off: {delivery.Url} answered 410 Gone to event {delivery.EventId}";
                await connection.ExecuteAsync(new CommandDefinition(delivery.EndpointId is not null
                    ? """
                      UPDATE webhook_endpoints SET enabled = false, disabled_reason = @reason, updated_at = @now WHERE id = @endpoint;
                      UPDATE webhook_deliveries SET state = 'gone', next_at = NULL, last_error = 'the endpoint was turned off by a 410 Gone'
                      WHERE endpoint_id = @endpoint AND state = 'pending' AND id <> @id
                      """
                    : """
                      UPDATE webhook_deliveries SET state = 'gone', next_at = NULL, last_error = 'the callback_url answered 410 Gone to an earlier event'
                      WHERE task_id = @task AND endpoint_id IS NULL AND url = @url AND state = 'pending' AND id <> @id
                      """,
                    new { reason, now, endpoint = delivery.EndpointId, id = delivery.Id, task = delivery.TaskId, url = delivery.Url }, transaction, cancellationToken: cancellationToken));
            }

            await transaction.CommitAsync(cancellationToken);
            return true;
        }, cancellationToken);

    public async Task<WebhookSigningSecrets> SigningSecretsAsync(string accountId, long now, CancellationToken cancellationToken)
    {
        var row = await ReadSecretAsync(accountId, cancellationToken);
        if (row is null)
        {
            // Made on first use, so every delivery is signed; an operator learns it by rotating (shown once).
            await database.WriteAsync(connection => connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO webhook_secrets (account_id, secret_ciphertext, rotated_at) VALUES (@accountId, @secret, @now) ON CONFLICT (account_id) DO NOTHING",
                new { accountId, secret = secrets.Protect(Name, StandardWebhooks.NewSecret()), now }, cancellationToken: cancellationToken)), cancellationToken);
            row = await ReadSecretAsync(accountId, cancellationToken) ?? throw new InvalidOperationException($"The webhook secret of account '{accountId}' was not stored.");
        }

        var inForce = new List<string> { Reveal(row.Secret, accountId) };
        if (row.Previous is { } previous && row.PreviousUntil > now)
        {
            inForce.Add(Reveal(previous, accountId));
        }

        return new WebhookSigningSecrets(inForce);
    }

    private string Reveal(string protectedValue, string accountId)
    {
        var read = secrets.Unprotect(Name, protectedValue);
        return read.Succeeded && read.Value is { } secret
            ? secret
            : throw new InvalidOperationException($"The webhook signing secret of account '{accountId}' cannot be decrypted: {read.Reason}. Rotate it (POST /admin/accounts/{accountId}/webhook-secret) or restore that key into the key ring.");
    }

    private Task<SecretRow?> ReadSecretAsync(string accountId, CancellationToken cancellationToken) =>
        database.ReadAsync(connection => connection.QuerySingleOrDefaultAsync<SecretRow>(new CommandDefinition(
            "SELECT secret_ciphertext AS Secret, previous_ciphertext AS Previous, previous_until AS PreviousUntil, rotated_at AS RotatedAt FROM webhook_secrets WHERE account_id = @accountId",
            new { accountId }, cancellationToken: cancellationToken)), cancellationToken);

    public async Task<string> RotateSecretAsync(string accountId, long now, long keepPreviousUntil, CancellationToken cancellationToken)
    {
        var secret = StandardWebhooks.NewSecret();
        var protectedSecret = secrets.Protect(Name, secret);
        await database.WriteAsync(connection => connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO webhook_secrets (account_id, secret_ciphertext, rotated_at) VALUES (@accountId, @secret, @now)
            ON CONFLICT (account_id) DO UPDATE SET previous_ciphertext = webhook_secrets.secret_ciphertext, previous_until = @keep,
                secret_ciphertext = excluded.secret_ciphertext, rotated_at = excluded.rotated_at
            """, new { accountId, secret = protectedSecret, now, keep = keepPreviousUntil }, cancellationToken: cancellationToken)), cancellationToken);
        return secret;
    }

    public async Task<(long RotatedAt, long? PreviousUntil)?> SecretInfoAsync(string accountId, CancellationToken cancellationToken) =>
        await ReadSecretAsync(accountId, cancellationToken) is { } row ? (row.RotatedAt, row.PreviousUntil) : null;

    public Task InsertEndpointAsync(WebhookEndpoint endpoint, CancellationToken cancellationToken) =>
        database.WriteAsync(connection => connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO webhook_endpoints (id, account_id, url, events_json, description, enabled, disabled_reason, created_at, updated_at)
            VALUES (@Id, @AccountId, @Url, @EventsJson, @Description, @Enabled, @DisabledReason, @CreatedAt, @UpdatedAt)
            """, EndpointParameters(endpoint), cancellationToken: cancellationToken)), cancellationToken);

    public async Task<bool> UpdateEndpointAsync(WebhookEndpoint endpoint, CancellationToken cancellationToken) =>
        await database.WriteAsync(connection => connection.ExecuteAsync(new CommandDefinition("""
            UPDATE webhook_endpoints SET url = @Url, events_json = @EventsJson, description = @Description, enabled = @Enabled,
                disabled_reason = @DisabledReason, updated_at = @UpdatedAt
            WHERE id = @Id
            """, EndpointParameters(endpoint), cancellationToken: cancellationToken)), cancellationToken) == 1;

    public async Task<bool> DeleteEndpointAsync(string id, CancellationToken cancellationToken) =>
        await database.WriteAsync(async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            // Its deliveries stay in the log; those still pending are ended, as nobody will receive them.
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE webhook_deliveries SET state = 'failed', next_at = NULL, last_error = 'the endpoint was deleted' WHERE endpoint_id = @id AND state = 'pending'",
                new { id }, transaction, cancellationToken: cancellationToken));
            var deleted = await connection.ExecuteAsync(new CommandDefinition("DELETE FROM webhook_endpoints WHERE id = @id", new { id }, transaction, cancellationToken: cancellationToken));
            await transaction.CommitAsync(cancellationToken);
            return deleted;
        }, cancellationToken) == 1;

    public async Task<WebhookEndpoint?> GetEndpointAsync(string id, CancellationToken cancellationToken) =>
        (await ReadEndpointsAsync("WHERE id = @id", new { id }, cancellationToken)).SingleOrDefault();

    public Task<IReadOnlyList<WebhookEndpoint>> ListEndpointsAsync(string? accountId, CancellationToken cancellationToken) =>
        ReadEndpointsAsync("WHERE @accountId IS NULL OR account_id = @accountId ORDER BY created_at, id", new { accountId }, cancellationToken);

    private async Task<IReadOnlyList<WebhookEndpoint>> ReadEndpointsAsync(string where, object parameters, CancellationToken cancellationToken)
    {
        var rows = await database.ReadAsync(connection => connection.QueryAsync<EndpointRow>(new CommandDefinition($"""
            SELECT id AS Id, account_id AS AccountId, url AS Url, events_json AS EventsJson, description AS Description, enabled AS Enabled,
                disabled_reason AS DisabledReason, created_at AS CreatedAt, updated_at AS UpdatedAt
            FROM webhook_endpoints {where}
            """, parameters, cancellationToken: cancellationToken)), cancellationToken);
        return [.. rows.Select(row => new WebhookEndpoint(row.Id, row.AccountId, row.Url, row.EventsJson is { } json ? TaskRows.ReadList(json) : null,
            row.Description, row.Enabled, row.DisabledReason, row.CreatedAt, row.UpdatedAt))];
    }

    public async Task<IReadOnlyList<WebhookDeliveryLog>> ListDeliveriesAsync(string? taskId, string? endpointId, int limit, CancellationToken cancellationToken) =>
        await ReadDeliveriesAsync("WHERE (@taskId IS NULL OR d.task_id = @taskId) AND (@endpointId IS NULL OR d.endpoint_id = @endpointId) ORDER BY d.id DESC LIMIT @limit",
            new { taskId, endpointId, limit }, cancellationToken);

    public async Task<WebhookDeliveryLog?> GetDeliveryAsync(long id, CancellationToken cancellationToken) =>
        (await ReadDeliveriesAsync("WHERE d.id = @id", new { id }, cancellationToken)).SingleOrDefault();

    private Task<IReadOnlyList<WebhookDeliveryLog>> ReadDeliveriesAsync(string where, object parameters, CancellationToken cancellationToken) =>
        database.ReadAsync<IReadOnlyList<WebhookDeliveryLog>>(async connection =>
        {
            var rows = (await connection.QueryAsync<DeliveryRow>(new CommandDefinition($"""
                SELECT d.id AS Id, d.event_id AS EventId, e.type AS EventType, e.created_at AS EventAt, d.task_id AS TaskId, d.endpoint_id AS EndpointId,
                    d.url AS Url, d.state AS State, d.attempts AS Attempts, d.last_status AS LastStatus, d.last_error AS LastError, d.next_at AS NextAt,
                    d.created_at AS CreatedAt, d.delivered_at AS DeliveredAt
                FROM webhook_deliveries AS d JOIN webhook_events AS e ON e.id = d.event_id
                {where}
                """, parameters, cancellationToken: cancellationToken))).ToList();
            var tries = (await connection.QueryAsync<AttemptRow>(new CommandDefinition($"""
                SELECT delivery_id AS DeliveryId, n AS Number, at AS At, status_code AS StatusCode, latency_ms AS LatencyMs, error AS Error
                FROM webhook_attempts WHERE {database.Dialect.IsAnyOf("delivery_id", "@ids")} ORDER BY delivery_id, n
                """, new { ids = database.Dialect.Ids(rows.Select(row => row.Id)) }, cancellationToken: cancellationToken)))
                .ToLookup(row => row.DeliveryId);
            return [.. rows.Select(row => new WebhookDeliveryLog(row.Id, row.EventId, row.EventType, row.EventAt, row.TaskId, row.EndpointId, row.Url,
                StateOf(row.State), row.Attempts, row.LastStatus, row.LastError, row.State == "pending" ? row.NextAt : null, row.CreatedAt, row.DeliveredAt,
                [.. tries[row.Id].Select(t => new WebhookAttempt(t.Number, t.At, t.StatusCode, t.LatencyMs, t.Error))]))];
        }, cancellationToken);

    public async Task<bool> RedeliverAsync(long id, long now, CancellationToken cancellationToken) =>
        await database.WriteAsync(connection => connection.ExecuteAsync(new CommandDefinition(
            "UPDATE webhook_deliveries SET state = 'pending', next_at = @now, lease_token = NULL, lease_until = NULL WHERE id = @id",
            new { id, now }, cancellationToken: cancellationToken)), cancellationToken) == 1;

    /// <summary>Never stored in plain text: there is nothing to encrypt.</summary>
    public Task<int> ProtectPlainTextAsync(CancellationToken cancellationToken) => Task.FromResult(0);

    public async Task<IReadOnlyList<StoredSecret>> ReadProtectedAsync(CancellationToken cancellationToken)
    {
        var rows = await database.ReadAsync(connection => connection.QueryAsync<(string AccountId, string Secret, string? Previous)>(new CommandDefinition(
            "SELECT account_id, secret_ciphertext, previous_ciphertext FROM webhook_secrets ORDER BY account_id", cancellationToken: cancellationToken)), cancellationToken);
        var stored = new List<StoredSecret>();
        foreach (var (accountId, secret, previous) in rows)
        {
            stored.Add(new StoredSecret(accountId, secret));
            if (previous is not null)
            {
                stored.Add(new StoredSecret(accountId + PreviousSuffix, previous));
            }
        }

        return stored;
    }

    public Task<int> ReplaceProtectedAsync(IReadOnlyList<ReprotectedSecret> reprotected, CancellationToken cancellationToken) =>
        database.WriteAsync(async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var stored = 0;
            foreach (var secret in reprotected)
            {
                // Only where the row still holds the value read: a rotation written meanwhile stays.
                var previous = secret.Item.EndsWith(PreviousSuffix, StringComparison.Ordinal);
                stored += await connection.ExecuteAsync(new CommandDefinition(previous
                    ? "UPDATE webhook_secrets SET previous_ciphertext = @New WHERE account_id = @account AND previous_ciphertext = @Old"
                    : "UPDATE webhook_secrets SET secret_ciphertext = @New WHERE account_id = @account AND secret_ciphertext = @Old",
                    new { secret.New, secret.Old, account = previous ? secret.Item[..^PreviousSuffix.Length] : secret.Item }, transaction, cancellationToken: cancellationToken));
            }

            await transaction.CommitAsync(cancellationToken);
            return stored;
        }, cancellationToken);

    private static object EndpointParameters(WebhookEndpoint endpoint) => new
    {
        endpoint.Id,
        endpoint.AccountId,
        endpoint.Url,
        EventsJson = endpoint.Events is { } events ? TaskRows.Json(events) : null,
        endpoint.Description,
        endpoint.Enabled,
        endpoint.DisabledReason,
        endpoint.CreatedAt,
        endpoint.UpdatedAt,
    };

    private static string StateText(DeliveryState state) => state switch
    {
        DeliveryState.Pending => "pending",
        DeliveryState.Delivered => "delivered",
        DeliveryState.Failed => "failed",
        _ => "gone",
    };

    private static DeliveryState StateOf(string text) => text switch
    {
        "pending" => DeliveryState.Pending,
        "delivered" => DeliveryState.Delivered,
        "failed" => DeliveryState.Failed,
        _ => DeliveryState.Gone,
    };

    private sealed class SecretRow
    {
        public string Secret { get; set; } = "";
        public string? Previous { get; set; }
        public long? PreviousUntil { get; set; }
        public long RotatedAt { get; set; }
    }

    private sealed class ClaimRow
    {
        public long Id { get; set; }
        public string EventId { get; set; } = "";
        public string EventType { get; set; } = "";
        public long EventAt { get; set; }
        public long EventProgress { get; set; }
        public string TaskId { get; set; } = "";
        public string AccountId { get; set; } = "";
        public string? EndpointId { get; set; }
        public string Url { get; set; } = "";
        public long Attempts { get; set; }
        public string LeaseToken { get; set; } = "";
    }

    private sealed class EndpointRow
    {
        public string Id { get; set; } = "";
        public string AccountId { get; set; } = "";
        public string Url { get; set; } = "";
        public string? EventsJson { get; set; }
        public string? Description { get; set; }
        public bool Enabled { get; set; }
        public string? DisabledReason { get; set; }
        public long CreatedAt { get; set; }
        public long UpdatedAt { get; set; }
    }

    private sealed class DeliveryRow
    {
        public long Id { get; set; }
        public string EventId { get; set; } = "";
        public string EventType { get; set; } = "";
        public long EventAt { get; set; }
        public string TaskId { get; set; } = "";
        public string? EndpointId { get; set; }
        public string Url { get; set; } = "";
        public string State { get; set; } = "";
        public int Attempts { get; set; }
        public int? LastStatus { get; set; }
        public string? LastError { get; set; }
        public long? NextAt { get; set; }
        public long CreatedAt { get; set; }
        public long? DeliveredAt { get; set; }
    }

    private sealed class AttemptRow
    {
        public long DeliveryId { get; set; }
        public int Number { get; set; }
        public long At { get; set; }
        public int? StatusCode { get; set; }
        public long LatencyMs { get; set; }
        public string? Error { get; set; }
    }
}
