using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.Options;
using Reelay.Images;
using Reelay.Storage;
using Reelay.Tasks;

namespace Reelay.Webhooks;

/// <summary>
/// Delivers the webhook outbox. Claims due deliveries under a lease (any instance may take over what a
/// crashed one held), posts each signed body to its target through the SSRF guard within
/// <see cref="WebhookOptions.Timeout"/>, and records the try: delivered, tried again on the retry
/// schedule, or given up. At least once: a try whose outcome could not be recorded is made again, with
/// the same <c>webhook-id</c> for the receiver to dedupe by. It runs beside the engine and shares
/// nothing with it but the database, so a slow or dead receiver never holds a task back.
/// </summary>
public sealed partial class WebhookNotifier(
    IWebhookStore store,
    ITaskMonitor tasks,
    IWebhookPayloads payloads,
    IHttpClientFactory httpClients,
    IOptions<WebhookOptions> options,
    [FromKeyedServices(WebhookNotifier.ClockKey)] TimeProvider time,
    ILogger<WebhookNotifier> logger) : BackgroundService
{
    /// <summary>
    /// The key of the clock webhooks run on: the host's own unless replaced, so tests can move through a
    /// retry schedule of hours without moving the engine's clock.
    /// </summary>
    public const string ClockKey = "webhooks";

    /// <summary>Name of the guarded HttpClient (connects through <see cref="NetworkPolicy"/>).</summary>
    public const string HttpClientName = "reelay-webhooks";

    private readonly StoreOutage _outage = new();

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        using var slots = new SemaphoreSlim(settings.Concurrency, settings.Concurrency);
        var inFlight = new HashSet<Task>();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await slots.WaitAsync(stoppingToken);
                if (_outage.Ongoing)
                {
                    await Task.Delay(_outage.Wait, time, stoppingToken);
                }

                IReadOnlyList<WebhookDelivery> claimed;
                try
                {
                    var now = Now;
                    claimed = await store.ClaimAsync(now, Guid.NewGuid().ToString("N"), now + (long)settings.LeaseDuration.TotalMilliseconds, slots.CurrentCount + 1, stoppingToken);
                    if (_outage.Succeeded())
                    {
                        LogStoreRecovered(logger);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Whatever the store throws, the loop backs off and goes on: it must never stop the host.
                    StoreFailed(e);
                    claimed = [];
                }

                if (claimed.Count == 0)
                {
                    slots.Release();
                    if (!_outage.Ongoing)
                    {
                        await SleepAsync(settings.IdleDelay, stoppingToken);
                    }

                    continue;
                }

                for (var i = 1; i < claimed.Count; i++)
                {
                    await slots.WaitAsync(stoppingToken);
                }

                foreach (var delivery in claimed)
                {
                    var run = DeliverAsync(delivery, stoppingToken)
                        .ContinueWith(_ => slots.Release(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                    lock (inFlight)
                    {
                        inFlight.Add(run);
                    }

                    _ = run.ContinueWith(done => { lock (inFlight) { inFlight.Remove(done); } }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            Task[] pending;
            lock (inFlight)
            {
                pending = [.. inFlight];
            }

            // Tries cut off by shutdown record nothing; their lease runs out and they are made again.
            await Task.WhenAll(pending);
        }
    }

    /// <summary>One try of one delivery. Never throws: whatever happens is recorded, or left for the lease to hand back.</summary>
    private async Task DeliverAsync(WebhookDelivery delivery, CancellationToken stoppingToken)
    {
        try
        {
            LogTrying(logger, delivery.Id, delivery.EventId, delivery.Attempts + 1, delivery.LeaseToken);
            var outcome = await TryAsync(delivery, stoppingToken);
            // Checkpoint: the outcome is recorded under the lease; until then the delivery is still due.
            if (!await store.RecordAsync(delivery, outcome, Now, CancellationToken.None))
            {
                LogLeaseLost(logger, delivery.Id);
            }
            else if (outcome.State != DeliveryState.Delivered)
            {
                LogDeliveryFailed(logger, delivery.EventId, delivery.Url, outcome.Attempt.StatusCode, outcome.Attempt.Error ?? "", outcome.State);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (StoreUnavailableException e)
        {
            StoreFailed(e);
        }
        catch (Exception e)
        {
            LogDeliverFailed(logger, e, delivery.Id);
        }
    }

    private async Task<DeliveryOutcome> TryAsync(WebhookDelivery delivery, CancellationToken stoppingToken)
    {
        var number = delivery.Attempts + 1;
        var startedAt = Now;
        if (await tasks.GetAsync(delivery.TaskId, stoppingToken) is not { } task)
        {
            // Deleted (DELETE /v1/videos/{id}) before its event went out: there is nothing left to describe.
            return new DeliveryOutcome(DeliveryState.Failed, new WebhookAttempt(number, startedAt, null, 0, "the task was deleted before this event was delivered"), null);
        }

        var secrets = await store.SigningSecretsAsync(delivery.AccountId, startedAt, stoppingToken);
        var body = payloads.Write(delivery, task);
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, delivery.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation("webhook-id", delivery.EventId);
        request.Headers.TryAddWithoutValidation("webhook-timestamp", timestamp.ToString(CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("webhook-signature", StandardWebhooks.Signature(secrets.Secrets, delivery.EventId, timestamp, body));
        request.Headers.UserAgent.ParseAdd("Reelay-Webhooks/1");

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(options.Value.Timeout);
        var started = Stopwatch.GetTimestamp();
        int? status = null;
        string? error = null;
        TimeSpan? retryAfter = null;
        var final = false;
        try
        {
            using var response = await httpClients.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            status = (int)response.StatusCode;
            retryAfter = RetryAfterOf(response);
            if (!response.IsSuccessStatusCode)
            {
                // Redirects are not followed (the guard's handler follows none): a receiver answers where it was registered.
                error = $"the receiver answered {status} {response.ReasonPhrase}";
            }
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            error = $"no answer within {options.Value.Timeout.TotalSeconds:0} s";
        }
        catch (HttpRequestException e) when (e.InnerException is BlockedAddressException blocked)
        {
            // Not a passing failure: the target points where Reelay does not connect. Trying again would not help.
            error = blocked.Message;
            final = true;
        }
        catch (HttpRequestException e)
        {
            error = e.HttpRequestError switch
            {
                HttpRequestError.NameResolutionError => "the receiver's host name does not resolve",
                HttpRequestError.ConnectionError => "the connection to the receiver failed",
                HttpRequestError.SecureConnectionError => "the TLS handshake with the receiver failed",
                _ => "the request failed: " + e.Message,
            };
        }

        var attempt = new WebhookAttempt(number, startedAt, status, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds, error);
        if (status is >= 200 and < 300)
        {
            return new DeliveryOutcome(DeliveryState.Delivered, attempt, null);
        }

        if (status == (int)HttpStatusCode.Gone)
        {
            return new DeliveryOutcome(DeliveryState.Gone, attempt, null);
        }

        return !final && WebhookRetrySchedule.After(number, retryAfter) is { } wait
            ? new DeliveryOutcome(DeliveryState.Pending, attempt, Now + (long)wait.TotalMilliseconds)
            : new DeliveryOutcome(DeliveryState.Failed, attempt, null);
    }

    /// <summary>Counts a store failure; only the first of an episode is logged.</summary>
    private void StoreFailed(Exception exception)
    {
        if (!_outage.Failed())
        {
            return;
        }

        if (exception is StoreUnavailableException unavailable)
        {
            LogStoreUnavailable(logger, unavailable.Message);
        }
        else
        {
            LogClaimFailed(logger, exception);
        }
    }

    /// <summary><c>Retry-After</c> as seconds or as an HTTP date; null when absent or unreadable.</summary>
    private TimeSpan? RetryAfterOf(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - time.GetUtcNow(),
        _ => null,
    };

    private async Task SleepAsync(TimeSpan idle, CancellationToken stoppingToken)
    {
        var delay = idle;
        try
        {
            if (await store.NextDueAsync(stoppingToken) is { } next)
            {
                var untilDue = TimeSpan.FromMilliseconds(Math.Max(0, next - Now));
                delay = untilDue < delay ? untilDue : delay;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            StoreFailed(e);
        }

        // Due work leased by another instance: do not spin on it.
        await Task.Delay(delay <= TimeSpan.Zero ? TimeSpan.FromMilliseconds(50) : delay, time, stoppingToken);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Webhook delivery {DeliveryId} of {EventId}: try {Attempt} under lease {LeaseToken}")]
    private static partial void LogTrying(ILogger logger, long deliveryId, string eventId, int attempt, string leaseToken);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook {EventId} to {Url} not delivered (status {StatusCode}): {Reason}; the delivery is now {State}")]
    private static partial void LogDeliveryFailed(ILogger logger, string eventId, string url, int? statusCode, string reason, DeliveryState state);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook delivery {DeliveryId} was taken over (by another notifier after its lease ran out, or by a redelivery) before its outcome was recorded; the new holder tries it again")]
    private static partial void LogLeaseLost(ILogger logger, long deliveryId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Webhook delivery {DeliveryId} failed inside Reelay; it is tried again when its lease runs out")]
    private static partial void LogDeliverFailed(ILogger logger, Exception exception, long deliveryId);

    [LoggerMessage(Level = LogLevel.Error, Message = "The webhook notifier could not read its outbox; it backs off and tries again")]
    private static partial void LogClaimFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The webhook notifier pauses: {Reason}. It backs off (up to 30 s) and tries again; no event is lost")]
    private static partial void LogStoreUnavailable(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "The webhook notifier resumes: the store is writable again")]
    private static partial void LogStoreRecovered(ILogger logger);
}
