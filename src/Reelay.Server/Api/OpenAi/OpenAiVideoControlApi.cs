using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Reelay.Api.Errors;
using Reelay.Blobs;
using Reelay.Engine;
using Reelay.Tasks;
using Reelay.Webhooks;

namespace Reelay.Api.OpenAi;

/// <summary>
/// Reelay's extensions beside OpenAI's video routes (OpenAI's API has none of them): <c>POST /v1/videos/{id}/cancel</c>,
/// the event stream <c>GET /v1/videos/{id}/events</c>, the video's <c>timeline</c> and its webhook deliveries.
/// Mapped into the OpenAI group, so they take its key policy and request ids; another key's video is a 404.
/// </summary>
public static class OpenAiVideoControlApi
{
    public static RouteGroupBuilder MapVideoControl(this RouteGroupBuilder group)
    {
        group.MapPost("/{id}/cancel", CancelAsync)
            .WithName("OpenAiCancelVideo")
            .WithSummary("Reelay's extension: cancel a queued or in-progress video; its held credits are released")
            .ProducesApiErrors(404, 409);
        group.MapGet("/{id}/events", EventsAsync)
            .WithName("OpenAiVideoEvents")
            .WithSummary("Reelay's extension: Server-Sent Events, the video object at each change of status or progress until it ends (Last-Event-ID resumes)")
            .Produces<string>(200, "text/event-stream")
            .Produces(204)
            .ProducesApiErrors(400, 404);
        group.MapGet("/{id}/timeline", TimelineAsync)
            .WithName("OpenAiVideoTimeline")
            .WithSummary("Reelay's extension: the video's changes so far (created, each submission upstream, refusals retried, progress, the end)")
            .ProducesApiErrors(404);
        group.MapGet("/{id}/webhooks", WebhooksAsync)
            .WithName("OpenAiVideoWebhooks")
            .WithSummary("Reelay's extension: the webhook deliveries of the video's events (to its callback_url and the account's endpoints), newest first, with each try")
            .ProducesApiErrors(400, 404);
        return group;
    }

    private static async Task<Results<Ok<OpenAiVideo>, ApiError>> CancelAsync(
        string id, HttpContext http, TaskCanceller canceller, IBlobStore blobs, IOptions<FileLinkOptions> links)
    {
        var result = await canceller.CancelAsync(id, http.GetCaller().KeyId, http.RequestAborted);
        return result.Outcome switch
        {
            CancelOutcome.Cancelled or CancelOutcome.AlreadyCancelled => TypedResults.Ok(result.Task!.AsOpenAiVideo(blobs, links.Value.FileUrlTtl, http.Request)),
            // 409 with the status in the message; the SDKs retry 409s a couple of times, which finds the same end.
            CancelOutcome.Finished => new ApiError(409,
                $"Video '{result.Task!.Id}' is already {OpenAiVideoMapping.StatusOf(result.Task.Stage)}; only queued or in_progress videos can be cancelled.",
                "video_finished", "video_id"),
            _ => OpenAiVideosApi.NotFound(id),
        };
    }

    private static async Task<Results<Ok<VideoTimeline>, ApiError>> TimelineAsync(string id, HttpContext http, ITaskStore store, ITaskMonitor monitor)
    {
        // Owned first (another key's video is as absent as a missing one), then read with its route.
        return await OpenAiVideosApi.FindAsync(id, http, store) is not null && await monitor.GetAsync(id, http.RequestAborted) is { } task
            ? TypedResults.Ok(VideoTimeline.Of(task))
            : OpenAiVideosApi.NotFound(id);
    }

    private static async Task<Results<Ok<WebhookDeliveryList>, ApiError>> WebhooksAsync(string id, HttpContext http, ITaskStore store, IWebhookStore webhooks, string? limit)
    {
        if (Admin.AdminPaging.Limit(limit, out var pageSize) is { } error)
        {
            return error;
        }

        if (await OpenAiVideosApi.FindAsync(id, http, store) is null)
        {
            return OpenAiVideosApi.NotFound(id);
        }

        var deliveries = await webhooks.ListDeliveriesAsync(id, null, pageSize, http.RequestAborted);
        return TypedResults.Ok(new WebhookDeliveryList("list", [.. deliveries.Select(WebhookDeliveryView.From)]));
    }

    private static async Task<IResult> EventsAsync(string id, HttpContext http, IBlobStore blobs, IOptions<FileLinkOptions> links, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json)
    {
        var typeInfo = (System.Text.Json.Serialization.Metadata.JsonTypeInfo<OpenAiVideo>)json.Value.SerializerOptions.GetTypeInfo(typeof(OpenAiVideo));
        var ttl = links.Value.FileUrlTtl;
        return await TaskEvents.OpenAsync(
            http, id, task => System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(task.AsOpenAiVideo(blobs, ttl, http.Request), typeInfo), OpenAiVideosApi.NotFound);
    }
}
