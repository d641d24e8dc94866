using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Reelay.Testing.Fakes;

/// <summary>Plays Runway's API (<c>providers/runway-luma.md</c>, part 1): tasks, camelCase bodies, the version header.</summary>
public sealed class FakeRunwayServer : FakeUpstreamServer
{
    /// <summary>Starts a fake on a free port.</summary>
    public static async Task<FakeRunwayServer> StartNewAsync(CancellationToken cancellationToken)
    {
        var server = new FakeRunwayServer();
        await server.StartAsync(cancellationToken);
        return server;
    }

    protected override string ContentPolicyErrorBody => """{"error":"Your prompt was rejected by content moderation. Try again with a different prompt."}""";

    protected override string UnauthorizedBody(string key) => $$$"""{"error":"Incorrect API key provided: {{{key}}}"}""";

    protected override string RateLimitedBody => """{"error":"You have exceeded the rate limit for this endpoint."}""";

    protected override string ServerErrorBody => """{"error":"An unexpected error occurred."}""";

    protected override string MalformedBody => """{"id":"17f20503-6c24-4""";

    protected override void MapRoutes(WebApplication app)
    {
        foreach (var path in (string[])["/v1/image_to_video", "/v1/text_to_video"])
        {
            app.MapPost(path, async (HttpContext context) =>
            {
                await RecordAsync(context, FakeRequestKind.Submit);
                if (context.Request.Headers["X-Runway-Version"] != "2024-11-06")
                {
                    return Json("""{"error":"A valid X-Runway-Version header is required."}""", 400);
                }

                if (SubmitFailure(context) is { } failure)
                {
                    return failure;
                }

                var job = CreateJob(Guid.NewGuid().ToString());
                return Json($$$"""{"id":"{{{job.Id}}}"}""");
            });
        }

        app.MapGet("/v1/tasks/{id}", async (HttpContext context, string id) =>
        {
            await RecordAsync(context, FakeRequestKind.Poll);
            if (FindJob(id) is not { } job)
            {
                return Json("""{"error":"Task not found."}""", 404);
            }

            var poll = job.NextPoll();
            if (IsCancelled(id))
            {
                return Json($$$"""{"id":"{{{id}}}","status":"CANCELLED","createdAt":"2024-06-27T19:49:32.334Z"}""");
            }

            if (job.Scenario == FakeScenario.RefuseAtPoll)
            {
                return Json($$$"""{"id":"{{{id}}}","status":"FAILED","createdAt":"2024-06-27T19:49:32.334Z","failure":"The output was flagged by our content moderation.","failureCode":"SAFETY.OUTPUT.VIDEO"}""");
            }

            if (StillRunning(job, poll, SlowPolls, out var progress))
            {
                return Json(poll == 1
                    ? $$$"""{"id":"{{{id}}}","status":"THROTTLED","createdAt":"2024-06-27T19:49:32.334Z"}"""
                    : $$$"""{"id":"{{{id}}}","status":"RUNNING","createdAt":"2024-06-27T19:49:32.334Z","progress":{{{(progress / 100.0).ToString(System.Globalization.CultureInfo.InvariantCulture)}}}}""");
            }

            return Json($$$"""{"id":"{{{id}}}","status":"SUCCEEDED","createdAt":"2024-06-27T19:49:32.334Z","output":["{{{Url($"/dnznrvs05pmza.cloudfront.net/{id}.mp4?_jwt=eyJhbGciOi")}}}"]}""");
        });

        app.MapDelete("/v1/tasks/{id}", async (HttpContext context, string id) =>
        {
            await RecordAsync(context, FakeRequestKind.Cancel);
            return MarkCancelled(id) ? Results.StatusCode(204) : Json("""{"error":"Task not found."}""", 404);
        });

        app.MapGet("/dnznrvs05pmza.cloudfront.net/{file}", async (HttpContext context, string file) =>
        {
            await RecordAsync(context, FakeRequestKind.Download);
            return ServeResult(FindJob(file.Replace(".mp4", "", StringComparison.Ordinal)), """{"error":"Not found"}""");
        });
    }
}
