using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Reelay.Api.Errors;
using Reelay.Blobs;
using Reelay.Engine;

namespace Reelay.Api.OpenAi;

/// <summary>
/// Reelay's extensions beside OpenAI's video routes (OpenAI's API has neither): <c>POST /v1/videos/{id}/cancel</c>
/// and the event stream <c>GET /v1/videos/{id}/events</c>. Mapped into the OpenAI group, so they take its key
/// policy and request ids.
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

    private static async Task<IResult> EventsAsync(string id, HttpContext http, IBlobStore blobs, IOptions<FileLinkOptions> links, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json)
    {
        var typeInfo = (System.Text.Json.Serialization.Metadata.JsonTypeInfo<OpenAiVideo>)json.Value.SerializerOptions.GetTypeInfo(typeof(OpenAiVideo));
        var ttl = links.Value.FileUrlTtl;
        return await TaskEvents.OpenAsync(
            http, id, task => System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(task.AsOpenAiVideo(blobs, ttl, http.Request), typeInfo), OpenAiVideosApi.NotFound);
    }
}
