using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Reelay.Testing;

/// <summary>
/// A webhook receiver on 127.0.0.1 written from the Standard Webhooks specification
/// (standardwebhooks.com, "Verifying webhooks"), not from Reelay's sender: it takes the secret as
/// <c>whsec_</c> + base64, signs <c>{webhook-id}.{webhook-timestamp}.{body}</c> with HMAC-SHA256 keyed by
/// the decoded bytes, accepts the message when any <c>v1,</c> signature in the space-separated
/// <c>webhook-signature</c> header matches (compared in constant time) and the timestamp is within five
/// minutes of its own clock, and answers 400 otherwise. It dedupes by <c>webhook-id</c>, as the
/// specification tells receivers to, and can be set to answer anything (down, 410, Retry-After).
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    /// <summary>The specification's suggested tolerance against replays.</summary>
    public static readonly TimeSpan Tolerance = TimeSpan.FromMinutes(5);

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, JsonElement> _events = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();
    private readonly SemaphoreSlim _arrived = new(0);
    private int _requests;
    private int _rejected;

    private WebhookReceiver(WebApplication app) => _app = app;

    /// <summary>Where to point a callback_url or endpoint.</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>The secrets it verifies with (whsec_…); messages signed with none of them are refused.</summary>
    public IReadOnlyList<string> Secrets { get; set; } = [];

    /// <summary>The receiver's clock, for the timestamp check; the test's shifted clock when Reelay's moves.</summary>
    public Func<DateTimeOffset> Clock { get; set; } = () => DateTimeOffset.UtcNow;

    /// <summary>What it answers a verified message with: 200 unless set (503 for "down", 410 for "gone"…), and an optional Retry-After in seconds.</summary>
    public Func<(int Status, int? RetryAfterSeconds)> Answer { get; set; } = () => (200, null);

    /// <summary>Every POST it got, verified or not, duplicates included.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>POSTs refused for a bad or missing signature or timestamp.</summary>
    public int Rejected => Volatile.Read(ref _rejected);

    /// <summary>Messages verified and accepted with a 2xx, once per webhook-id (the dedupe), in the order first accepted.</summary>
    public IReadOnlyList<JsonElement> Events => [.. _order.Select(id => _events[id])];

    /// <summary>Verified messages that repeated a webhook-id already accepted.</summary>
    public int Duplicates { get; private set; }

    /// <summary>The signature header of the last verified message, for tests of what it carried.</summary>
    public string? LastSignature { get; private set; }

    public static async Task<WebhookReceiver> StartAsync(CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        app.MapPost("/hooks", (Delegate)receiver.ReceiveAsync);
        await app.StartAsync(cancellationToken);
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.Url = new Uri(bound.TrimEnd('/') + "/hooks");
        return receiver;
    }

    /// <summary>Waits until at least <paramref name="count"/> distinct events were accepted; throws with what arrived after <paramref name="timeout"/>.</summary>
    public async Task<IReadOnlyList<JsonElement>> WaitForEventsAsync(int count, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            while (_events.Count < count)
            {
                await _arrived.WaitAsync(limit.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{_events.Count} of {count} webhook events arrived within {timeout} ({Requests} requests, {Rejected} rejected): "
                + string.Join(", ", Events.Select(e => e.GetProperty("type").GetString())));
        }

        return Events;
    }

    /// <summary>Waits until <paramref name="count"/> requests (verified or not, any answer) have come in.</summary>
    public async Task WaitForRequestsAsync(int count, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            while (Requests < count)
            {
                await _arrived.WaitAsync(limit.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{Requests} of {count} webhook requests arrived within {timeout}.");
        }
    }

    private async Task<IResult> ReceiveAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        var body = buffer.ToArray();
        try
        {
            var id = context.Request.Headers["webhook-id"].ToString();
            var timestamp = context.Request.Headers["webhook-timestamp"].ToString();
            var signatures = context.Request.Headers["webhook-signature"].ToString();
            if (!Verify(id, timestamp, signatures, body))
            {
                Interlocked.Increment(ref _rejected);
                return Results.BadRequest();
            }

            var (status, retryAfter) = Answer();
            if (status is >= 200 and < 300)
            {
                LastSignature = signatures;
                using var json = JsonDocument.Parse(body);
                if (!_events.TryAdd(id, json.RootElement.Clone()))
                {
                    Duplicates++;
                }
                else
                {
                    _order.Enqueue(id);
                }
            }

            if (retryAfter is { } seconds)
            {
                context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            }

            return Results.StatusCode(status);
        }
        finally
        {
            Interlocked.Increment(ref _requests);
            _arrived.Release();
        }
    }

    private bool Verify(string id, string timestamp, string signatures, byte[] body)
    {
        if (id.Length == 0 || !long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return false;
        }

        if ((Clock() - DateTimeOffset.FromUnixTimeSeconds(seconds)).Duration() > Tolerance)
        {
            return false;
        }

        var signed = Encoding.UTF8.GetBytes($"{id}.{timestamp}.").Concat(body).ToArray();
        var given = signatures.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Where(s => s.StartsWith("v1,", StringComparison.Ordinal))
            .Select(s => s["v1,".Length..])
            .ToList();
        foreach (var secret in Secrets)
        {
            var key = Convert.FromBase64String(secret.StartsWith("whsec_", StringComparison.Ordinal) ? secret["whsec_".Length..] : secret);
            var expected = Encoding.ASCII.GetBytes(Convert.ToBase64String(HMACSHA256.HashData(key, signed)));
            if (given.Any(signature => CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(signature), expected)))
            {
                return true;
            }
        }

        return false;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _arrived.Dispose();
    }
}

/// <summary>
/// A clock that runs with real time plus an offset a test moves forward: what a worker reads jumps ahead
/// (hours of a retry schedule) while its timers stay real, so a worker that sleeps at most its idle delay
/// notices the jump within that delay, with no sleep in the test.
/// </summary>
public sealed class ShiftedTime : TimeProvider
{
    private long _offsetTicks;

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);
}
