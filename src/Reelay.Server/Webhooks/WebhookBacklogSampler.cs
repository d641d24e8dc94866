using System.Diagnostics.Metrics;
using Reelay.Storage;
using Reelay.Telemetry;

namespace Reelay.Webhooks;

/// <summary>
/// The webhook backlog gauge: deliveries waiting to be sent, due now or waiting out a retry, from a count
/// of the outbox taken every few seconds (<see cref="StoreSampler"/>), so scrapes never query the outbox.
/// The outbox is shared, so every instance reports the same backlog.
/// </summary>
public sealed class WebhookBacklogSampler : StoreSampler
{
    private readonly IWebhookStore _store;
    private readonly TimeProvider _time;
    private volatile WebhookBacklog _backlog = new(0, 0);

    public WebhookBacklogSampler(IWebhookStore store, ReelayTelemetry telemetry, TimeProvider time, ILogger<WebhookBacklogSampler> logger)
        : base("webhook outbox", time, logger)
    {
        (_store, _time) = (store, time);
        telemetry.Meter.CreateObservableGauge("reelay.webhooks.backlog", Sample, unit: "{delivery}",
            description: "Webhook deliveries waiting to be sent, by state (due: their try's time has come; retrying: waiting out a retry's backoff).");
    }

    protected override async Task SampleAsync(CancellationToken cancellationToken) =>
        _backlog = await _store.BacklogAsync(_time.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken);

    private IEnumerable<Measurement<long>> Sample()
    {
        var backlog = _backlog;
        yield return new Measurement<long>(backlog.Due, new KeyValuePair<string, object?>("state", "due"));
        yield return new Measurement<long>(backlog.Retrying, new KeyValuePair<string, object?>("state", "retrying"));
    }
}
