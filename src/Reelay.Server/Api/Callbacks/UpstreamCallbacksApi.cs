using System.Text;
using System.Text.Json;
using Reelay.Api.Errors;
using Reelay.Engine;

namespace Reelay.Api.Callbacks;

/// <summary>
/// <c>POST /callbacks/{provider}/{token}</c>: where upstreams report job changes. No key (upstreams
/// have none); rate-limited per address; answers at once, the same for every token, known or not —
/// the body is only queued here, and whether it means anything is decided off the request path.
/// </summary>
public static class UpstreamCallbacksApi
{
    public static IEndpointRouteBuilder MapUpstreamCallbacksApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/callbacks/{provider}/{token}", ReceiveAsync)
            .WithName("UpstreamCallback")
            .WithSummary("Receives an upstream's job callback (Seedance, Kling, MiniMax, Luma, fal, Replicate); it only makes Reelay poll the job.")
            .ExcludeFromDescription();
        return app;
    }

    private static async Task<IResult> ReceiveAsync(string provider, string token, HttpContext context, UpstreamCallbacks callbacks, TimeProvider time)
    {
        if (!callbacks.TryAdmit(context.Connection.RemoteIpAddress))
        {
            return new ApiError(StatusCodes.Status429TooManyRequests, "Too many callbacks from this address; retry in a second.", "rate_limited") { RetryAfterSeconds = 1 };
        }

        var body = await ReadBodyAsync(context.Request, callbacks.Options.MaxBodyBytes, context.RequestAborted);
        if (body is not null)
        {
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            callbacks.TryEnqueue(new ReceivedCallback(provider, token, headers, body, time.GetUtcNow()));
        }

        // MiniMax first sends {"challenge": …} and wants it echoed within 3 s; echoing it for any token gives nothing away.
        return Challenge(body) is { } challenge
            ? Results.Text($$"""{"challenge":"{{JsonEncodedText.Encode(challenge)}}"}""", "application/json", Encoding.UTF8)
            : Results.Text("""{"received":true}""", "application/json", Encoding.UTF8);
    }

    /// <summary>The body, or null when it is larger than the limit (then it is not read further).</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static string? Challenge(byte[]? body)
    {
        if (body is null || body.Length == 0 || body.Length > 4096)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("challenge", out var challenge) && challenge.ValueKind == JsonValueKind.String
                ? challenge.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
