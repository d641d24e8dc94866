using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Reelay.Storage;

namespace Reelay.Api.Errors;

/// <summary>Makes every failure — handler errors, binding failures, unmatched routes, exceptions — answer with <see cref="ApiError"/>.</summary>
public static class ErrorHandling
{
    public static IServiceCollection AddApiErrors(this IServiceCollection services)
    {
        services.AddExceptionHandler<ApiExceptionHandler>();
        services.AddProblemDetails();
        return services;
    }

    public static IApplicationBuilder UseApiErrors(this IApplicationBuilder app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages(context => context.HttpContext.Response.HasStarted
            ? Task.CompletedTask
            : ForStatus(context.HttpContext).ExecuteAsync(context.HttpContext));
        return app;
    }

    /// <summary>The envelope for a bare status code set by the framework (no route, wrong method…).</summary>
    private static ApiError ForStatus(HttpContext context)
    {
        var request = context.Request;
        return context.Response.StatusCode switch
        {
            404 => new ApiError(404, $"No route matches {request.Method} {request.Path}. See /openapi/v1.json for the API.", "route_not_found"),
            405 => new ApiError(405, $"{request.Method} is not allowed on {request.Path}.", "method_not_allowed"),
            413 => new ApiError(413, "The request body is too large.", "body_too_large"),
            415 => new ApiError(415, "Send the body as application/json.", "unsupported_media_type"),
            401 => new ApiError(401, "Missing or invalid API key. Send Authorization: Bearer <key>.", "invalid_api_key"),
            var status => new ApiError(status, $"The request failed with status {status}.", "http_" + status),
        };
    }
}

/// <summary>
/// Turns exceptions into envelopes: client faults become 4xx, a store that cannot write right now a
/// 503 with <c>Retry-After</c>, anything else a 500 that says nothing internal.
/// </summary>
internal sealed partial class ApiExceptionHandler(ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var error = exception switch
        {
            BadHttpRequestException { StatusCode: 413 } => new ApiError(413, "The request body is too large.", "body_too_large"),
            BadHttpRequestException { InnerException: JsonException json } => FromJson(json),
            // Kestrel's verdict on the request itself (framing, a body cut short, a slow body): always the client's doing.
            BadHttpRequestException bad => new ApiError(bad.StatusCode is >= 400 and < 500 ? bad.StatusCode : 400, bad.Message, "bad_request"),
            JsonException json => FromJson(json),
            StoreUnavailableException store => FromStore(store),
            OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested => null,
            _ => null,
        };

        if (error is null)
        {
            if (httpContext.RequestAborted.IsCancellationRequested)
            {
                return true;
            }

            LogUnhandled(logger, exception, httpContext.Request.Method, httpContext.Request.Path);
            error = new ApiError(500, "Reelay failed to handle this request; the failure is logged.", "internal_error");
        }

        await error.ExecuteAsync(httpContext);
        return true;
    }

    /// <summary>The database's own state, not the request: the same request may succeed after the wait. Logged by the database, once per episode.</summary>
    private static ApiError FromStore(StoreUnavailableException store)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(store.RetryAfter.TotalSeconds));
        return new ApiError(503, $"Reelay's database cannot take this request right now: {store.Message}. Nothing was changed; retry after {seconds} seconds.", "store_unavailable")
        {
            RetryAfterSeconds = seconds,
        };
    }

    private static ApiError FromJson(JsonException json) =>
        ApiError.BadRequest($"The body is not valid JSON{(json.Path is { Length: > 1 } path ? " at " + path : "")}: {json.Message.Split(". Path:")[0].TrimEnd('.')}.", code: "invalid_json");

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled exception on {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path);
}
