using Reelay.Webhooks;

namespace Reelay.Api;

// A task's deliveries as the admin routes and the owner's own route show them.

/// <summary>One try of a delivery.</summary>
/// <param name="StatusCode">The receiver's status; null when no answer came.</param>
/// <param name="LatencyMs">From sending to the answer's headers (or the failure).</param>
public sealed record WebhookAttemptView(int Number, long At, int? StatusCode, long LatencyMs, string? Error);

/// <summary>One event to one target: its state, tries and next try.</summary>
/// <param name="EndpointId">The endpoint; null when the target is the task's callback_url.</param>
/// <param name="State">pending, delivered, failed (given up) or gone (a 410).</param>
/// <param name="NextAttemptAt">Unix ms of the next try while pending.</param>
public sealed record WebhookDeliveryView(
    long Id, string Object, string EventId, string EventType, long EventCreatedAt, string TaskId, string? EndpointId, string Url, string State,
    int AttemptCount, int? LastStatus, string? LastError, long? NextAttemptAt, long CreatedAt, long? DeliveredAt, IReadOnlyList<WebhookAttemptView> Attempts)
{
    public static WebhookDeliveryView From(WebhookDeliveryLog log) => new(
        log.Id, "webhook_delivery", log.EventId, log.EventType, log.EventAt, log.TaskId, log.EndpointId, log.Url, log.State.ToString().ToLowerInvariant(),
        log.Attempts, log.LastStatus, log.LastError, log.NextAt, log.CreatedAt, log.DeliveredAt,
        [.. log.Tries.Select(t => new WebhookAttemptView(t.Number, t.At, t.StatusCode, t.LatencyMs, t.Error))]);
}

public sealed record WebhookDeliveryList(string Object, IReadOnlyList<WebhookDeliveryView> Data);
