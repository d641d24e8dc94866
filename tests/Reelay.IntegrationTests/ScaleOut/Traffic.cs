using System.Collections.Concurrent;
using System.Net.Http.Json;

namespace Reelay.IntegrationTests.ScaleOut;

/// <summary>One request a client sent to one instance and what came back: a status and body, or the failure to get one.</summary>
internal sealed record Exchange(int Instance, string Request, DateTime SentAt, DateTime EndedAt, int? Status, string Body, TimeSpan? RetryAfter, string? Failure)
{
    public override string ToString() =>
        $"{Request} on instance {Instance} at {SentAt:HH:mm:ss.fff}–{EndedAt:HH:mm:ss.fff}: {(Status is { } status ? $"{status} {Body}" : Failure)}";
}

/// <summary>Sends the clients' requests and keeps every exchange, so a test can judge all of them at its end.</summary>
internal sealed class Traffic
{
    private readonly ConcurrentQueue<Exchange> _exchanges = new();

    public IReadOnlyCollection<Exchange> Exchanges => _exchanges;

    /// <summary>Sends a request (a JSON body when <paramref name="body"/> is given); a connection that fails is recorded, not thrown.</summary>
    public async Task<Exchange> SendAsync(int instance, HttpClient client, HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        var sentAt = DateTime.UtcNow;
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        Exchange exchange;
        try
        {
            using var response = await client.SendAsync(request, cancellationToken);
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            exchange = new Exchange(instance, $"{method} {path}", sentAt, DateTime.UtcNow, (int)response.StatusCode, text, response.Headers.RetryAfter?.Delta, null);
        }
        catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            exchange = new Exchange(instance, $"{method} {path}", sentAt, DateTime.UtcNow, null, "", null, e.GetType().Name + ": " + e.Message);
        }

        _exchanges.Enqueue(exchange);
        return exchange;
    }
}
