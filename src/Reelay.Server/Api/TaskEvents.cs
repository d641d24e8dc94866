using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Reelay.Api.Errors;
using Reelay.Tasks;

namespace Reelay.Api;

/// <summary>
/// A task's changes as Server-Sent Events: one event per change of status or progress, its data the whole
/// task as the surface shows it (so the latest event alone says everything), and the stream ends after
/// the terminal event. Each event's id orders the task's states (status, then progress): a client that
/// reconnects with <c>Last-Event-ID</c> gets the current state only if it is newer than the one it saw,
/// and a client that saw the end is answered 204, which tells <c>EventSource</c> to stop reconnecting.
/// A comment goes out every <see cref="WaitingOptions.HeartbeatInterval"/> of silence. Waits go through
/// <see cref="ITaskChanges"/>; nothing is polled.
/// </summary>
public sealed class TaskEvents : IResult
{
    private static readonly byte[] Heartbeat = ": keep-alive\n\n"u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();

    private readonly ITaskWatch _watch;
    private readonly Task _next;
    private readonly VideoTask _first;
    private readonly long _lastSeen;
    private readonly Func<VideoTask, byte[]> _render;

    private TaskEvents(ITaskWatch watch, Task next, VideoTask first, long lastSeen, Func<VideoTask, byte[]> render)
    {
        _watch = watch;
        _next = next;
        _first = first;
        _lastSeen = lastSeen;
        _render = render;
    }

    /// <summary>
    /// The stream of the owner's task, or the error to answer instead (404, a bad <c>Last-Event-ID</c>),
    /// or 204 when the client already saw the task's end. <paramref name="render"/> writes the task as the
    /// surface shows it.
    /// </summary>
    public static async Task<IResult> OpenAsync(HttpContext http, string id, Func<VideoTask, byte[]> render, Func<string, ApiError> notFound)
    {
        long lastSeen = -1;
        if (http.Request.Headers["Last-Event-ID"].FirstOrDefault() is { Length: > 0 } last
            && !long.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out lastSeen))
        {
            return ApiError.BadRequest($"'Last-Event-ID' must be the id of an event this stream sent (a number), got '{TaskWaits.Shorten(last)}'.", "Last-Event-ID", "invalid_last_event_id");
        }

        var store = http.RequestServices.GetRequiredService<ITaskStore>();
        var watch = http.RequestServices.GetRequiredService<ITaskChanges>().Watch(id);
        try
        {
            // Watched before the read, so no change between the two is missed.
            var next = watch.NextChange();
            var task = TaskIds.LooksValid(id) ? await store.GetAsync(id, http.GetCaller().KeyId, http.RequestAborted) : null;
            if (task is null)
            {
                watch.Dispose();
                return notFound(id);
            }

            if (task.Stage.IsTerminal() && EventId(task) <= lastSeen)
            {
                watch.Dispose();
                return TypedResults.NoContent();
            }

            return new TaskEvents(watch, next, task, lastSeen, render);
        }
        catch
        {
            watch.Dispose();
            throw;
        }
    }

    /// <summary>Orders a task's states: status first (pending, processing, an end), then progress, which never goes down.</summary>
    public static long EventId(VideoTask task) =>
        (task.Status switch { VideoStatus.Pending => 1, VideoStatus.Processing => 2, _ => 3 }) * 1000L
        + (task.Stage == TaskStage.Completed ? 100 : Math.Clamp(task.Progress, 0, 99));

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        using var watch = _watch;
        var response = httpContext.Response;
        var aborted = httpContext.RequestAborted;
        var store = httpContext.RequestServices.GetRequiredService<ITaskStore>();
        var time = httpContext.RequestServices.GetRequiredService<TimeProvider>();
        var heartbeat = httpContext.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<WaitingOptions>>().Value.HeartbeatInterval;
        var owner = httpContext.GetCaller().KeyId;

        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        // nginx buffers proxied answers unless told not to; an event stream must reach the client as written.
        response.Headers["X-Accel-Buffering"] = "no";
        httpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        var (task, next, lastSent) = (_first, _next, _lastSeen);
        try
        {
            await response.StartAsync(aborted);
            while (true)
            {
                var eventId = EventId(task);
                if (eventId > lastSent)
                {
                    await WriteEventAsync(response, eventId, _render(task), aborted);
                    lastSent = eventId;
                }

                if (task.Stage.IsTerminal())
                {
                    return;
                }

                // Silence is answered with a comment; the same promise is waited on again after it.
                while (!await next.ArrivesWithinAsync(heartbeat, time, aborted))
                {
                    aborted.ThrowIfCancellationRequested();
                    await response.Body.WriteAsync(Heartbeat, aborted);
                    await response.Body.FlushAsync(aborted);
                }

                next = watch.NextChange();
                if (await store.GetAsync(task.Id, owner, aborted) is not { } latest)
                {
                    // Deleted meanwhile (only finished tasks can be): nothing more will happen to it.
                    return;
                }

                task = latest;
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client went away: the stream's end.
        }
    }

    private static async Task WriteEventAsync(HttpResponse response, long eventId, byte[] data, CancellationToken cancellationToken)
    {
        // JSON written by the API's serializer has no raw newlines, so the data fits on one data: line.
        var head = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"id: {eventId}\ndata: "));
        await response.Body.WriteAsync(head, cancellationToken);
        await response.Body.WriteAsync(data, cancellationToken);
        await response.Body.WriteAsync(EventEnd, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }
}
