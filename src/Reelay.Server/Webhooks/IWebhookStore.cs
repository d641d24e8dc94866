namespace Reelay.Webhooks;

/// <summary>Where a delivery stands: being tried (<c>pending</c>), <c>delivered</c>, given up (<c>failed</c>), or refused for good by a 410 (<c>gone</c>).</summary>
public enum DeliveryState
{
    Pending,
    Delivered,
    Failed,
    Gone,
}

/// <summary>An endpoint an account registered: it receives the events of every task of the account, of the types it names.</summary>
/// <param name="Events">The event types it receives; null: every type but <see cref="WebhookEvents.Progress"/>.</param>
/// <param name="DisabledReason">Why it was turned off when Reelay turned it off (a 410), else null.</param>
public sealed record WebhookEndpoint(
    string Id, string AccountId, string Url, IReadOnlyList<string>? Events, string? Description, bool Enabled, string? DisabledReason, long CreatedAt, long UpdatedAt);

/// <summary>One delivery claimed by the notifier, with its event: one target of one event.</summary>
/// <param name="EndpointId">The registered endpoint; null for the task's own <c>callback_url</c>.</param>
/// <param name="Attempts">Tries made before this one.</param>
public sealed record WebhookDelivery(
    long Id, string EventId, string EventType, long EventAt, int EventProgress, string TaskId, string AccountId, string? EndpointId, string Url, int Attempts, string LeaseToken);

/// <summary>Deliveries waiting to be sent: <paramref name="Due"/> now (first tries and retries whose time has come), <paramref name="Retrying"/> later (waiting out a retry's backoff).</summary>
public sealed record WebhookBacklog(long Due, long Retrying);

/// <summary>One try of a delivery, as the log shows it.</summary>
/// <param name="StatusCode">The receiver's status, null when no answer came (refused, timed out, blocked).</param>
/// <param name="Error">What went wrong, in words; null on a 2xx.</param>
public sealed record WebhookAttempt(int Number, long At, int? StatusCode, long LatencyMs, string? Error);

/// <summary>What became of one try, and so of the delivery.</summary>
/// <param name="NextAt">Unix ms of the next try while <see cref="State"/> is pending.</param>
public sealed record DeliveryOutcome(DeliveryState State, WebhookAttempt Attempt, long? NextAt);

/// <summary>A delivery with its tries, for the admin log.</summary>
public sealed record WebhookDeliveryLog(
    long Id, string EventId, string EventType, long EventAt, string TaskId, string? EndpointId, string Url, DeliveryState State,
    int Attempts, int? LastStatus, string? LastError, long? NextAt, long CreatedAt, long? DeliveredAt, IReadOnlyList<WebhookAttempt> Tries);

/// <summary>The secrets a message is signed with: the current one, and the one it replaced while that still counts.</summary>
public sealed record WebhookSigningSecrets(IReadOnlyList<string> Secrets);

/// <summary>
/// The webhook outbox and its admin side. Events and their deliveries are written by the task store
/// in the transaction of the change that causes them; this store hands them to the notifier under a
/// lease and records each try, fenced by that lease.
/// </summary>
public interface IWebhookStore
{
    /// <summary>Leases up to <paramref name="limit"/> pending deliveries due by <paramref name="now"/> whose endpoint is enabled.</summary>
    Task<IReadOnlyList<WebhookDelivery>> ClaimAsync(long now, string token, long leaseUntil, int limit, CancellationToken cancellationToken);

    /// <summary>Unix ms when the next pending delivery is due, or null when none is.</summary>
    Task<long?> NextDueAsync(CancellationToken cancellationToken);

    /// <summary>The pending deliveries at <paramref name="now"/>, counted (for the backlog gauge).</summary>
    Task<WebhookBacklog> BacklogAsync(long now, CancellationToken cancellationToken);

    /// <summary>
    /// Records a try and its outcome, only while <paramref name="delivery"/>'s lease holds (a notifier that
    /// lost it changes nothing). A <see cref="DeliveryState.Gone"/> outcome also turns its endpoint off
    /// (or, for a <c>callback_url</c>, ends the task's other deliveries to that URL). False when the lease was lost.
    /// </summary>
    Task<bool> RecordAsync(WebhookDelivery delivery, DeliveryOutcome outcome, long now, CancellationToken cancellationToken);

    /// <summary>The account's signing secrets in force at <paramref name="now"/>; one is made (and stored encrypted) when the account has none yet.</summary>
    Task<WebhookSigningSecrets> SigningSecretsAsync(string accountId, long now, CancellationToken cancellationToken);

    /// <summary>A new secret for the account, returned once; the one it replaces keeps signing until <paramref name="keepPreviousUntil"/>.</summary>
    Task<string> RotateSecretAsync(string accountId, long now, long keepPreviousUntil, CancellationToken cancellationToken);

    /// <summary>When the account's secret was last set (Unix ms) and until when the previous one still signs; null when it has none.</summary>
    Task<(long RotatedAt, long? PreviousUntil)?> SecretInfoAsync(string accountId, CancellationToken cancellationToken);

    Task InsertEndpointAsync(WebhookEndpoint endpoint, CancellationToken cancellationToken);

    /// <summary>Writes the endpoint's url, events, description and enabled flag; false when it does not exist.</summary>
    Task<bool> UpdateEndpointAsync(WebhookEndpoint endpoint, CancellationToken cancellationToken);

    Task<bool> DeleteEndpointAsync(string id, CancellationToken cancellationToken);

    Task<WebhookEndpoint?> GetEndpointAsync(string id, CancellationToken cancellationToken);

    /// <summary>Endpoints, oldest first; of one account when <paramref name="accountId"/> is given.</summary>
    Task<IReadOnlyList<WebhookEndpoint>> ListEndpointsAsync(string? accountId, CancellationToken cancellationToken);

    /// <summary>Deliveries of a task or to an endpoint, newest first, each with its tries.</summary>
    Task<IReadOnlyList<WebhookDeliveryLog>> ListDeliveriesAsync(string? taskId, string? endpointId, int limit, CancellationToken cancellationToken);

    Task<WebhookDeliveryLog?> GetDeliveryAsync(long id, CancellationToken cancellationToken);

    /// <summary>Puts a delivery back in line to be tried at <paramref name="now"/>, whatever its state; the receiver sees the same <c>webhook-id</c>. False when it does not exist.</summary>
    Task<bool> RedeliverAsync(long id, long now, CancellationToken cancellationToken);
}

/// <summary>
/// Writes a delivery's body: the event envelope around the task as the surface that created it shows
/// it. The HTTP surfaces own that shape, so they supply this; the notifier only sends the bytes.
/// </summary>
public interface IWebhookPayloads
{
    byte[] Write(WebhookDelivery delivery, Tasks.VideoTask task);
}
