using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Reelay.Api.Errors;
using Reelay.Blobs;
using Reelay.Engine;
using Reelay.Tasks;

namespace Reelay.Api.Unified;

/// <summary>
/// Reelay's additions to the unified surface, beside create and query: <c>POST /v1/video/cancel</c> and the
/// event stream <c>GET /v1/video/events?id=</c>. Mapped into the unified group, so they take its key policy.
/// </summary>
public static class UnifiedTaskControlApi
{
    public static RouteGroupBuilder MapTaskControl(this RouteGroupBuilder group)
    {
        group.MapPost("/cancel", CancelAsync)
            .WithName("UnifiedCancel")
            .WithSummary("Cancel a pending or processing task (Reelay's extension); its held credits are released")
            .AcceptsBody<UnifiedCancelRequest>()
            .ProducesApiErrors(400, 404, 409, 413, 415);
        group.MapGet("/events", EventsAsync)
            .WithName("UnifiedEvents")
            .WithSummary("Server-Sent Events: the task as the query shows it, at each change of status or progress, until it ends (Last-Event-ID resumes)")
            .Produces<string>(200, "text/event-stream")
            .Produces(204)
            .ProducesApiErrors(400, 404);
        return group;
    }

    private static async Task<Results<Ok<UnifiedQueryResponse>, ApiError>> CancelAsync(
        HttpContext http, TaskCanceller canceller, IBlobStore blobs, IOptions<FileLinkOptions> links)
    {
        // A cancel body is one id: a few hundred bytes, never a create's megabytes.
        var (document, error) = await JsonBody.ReadObjectAsync(http.Request, 16 * 1024);
        if (error is not null)
        {
            return error;
        }

        string? id;
        using (document)
        {
            var fields = JsonBody.Fields(document!.RootElement);
            id = fields.String("id");
            if (fields.Error is { } fieldError)
            {
                return fieldError;
            }
        }

        if (string.IsNullOrWhiteSpace(id))
        {
            return ApiError.BadRequest("'id' is required: pass the id that /v1/video/create returned, as {\"id\": \"...\"}.", "id", "missing_field");
        }

        var result = await canceller.CancelAsync(id, http.GetCaller().KeyId, http.RequestAborted);
        return result.Outcome switch
        {
            CancelOutcome.Cancelled or CancelOutcome.AlreadyCancelled => TypedResults.Ok(result.Task!.AsQueryResponse(blobs, links.Value.FileUrlTtl, http.Request)),
            CancelOutcome.Finished => new ApiError(409,
                $"Task '{result.Task!.Id}' is already {result.Task.Status}; only pending or processing tasks can be cancelled.", "task_finished", "id"),
            _ => NotFound(id),
        };
    }

    private static async Task<IResult> EventsAsync(HttpContext http, IBlobStore blobs, IOptions<FileLinkOptions> links, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json, string? id)
    {
        if (string.IsNullOrWhiteSpace(id))
        {
            return ApiError.BadRequest("Query parameter 'id' is required: pass the id that /v1/video/create returned.", "id", "missing_field");
        }

        var typeInfo = (System.Text.Json.Serialization.Metadata.JsonTypeInfo<UnifiedQueryResponse>)json.Value.SerializerOptions.GetTypeInfo(typeof(UnifiedQueryResponse));
        var ttl = links.Value.FileUrlTtl;
        return await TaskEvents.OpenAsync(
            http, id, task => System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(task.AsQueryResponse(blobs, ttl, http.Request), typeInfo), NotFound);
    }

    private static ApiError NotFound(string id) =>
        ApiError.NotFound($"No task with id '{TaskWaits.Shorten(id)}' exists for this key.", "id");
}

/// <summary>The cancel body.</summary>
public sealed record UnifiedCancelRequest
{
    [System.ComponentModel.Description("The id that /v1/video/create returned.")]
    public required string Id { get; init; }
}
