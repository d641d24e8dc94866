using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Reelay.Testing.Fakes;

/// <summary>Plays DashScope's Wan video synthesis tasks (<c>providers/alibaba-wan.md</c>).</summary>
public sealed class FakeWanServer : FakeUpstreamServer
{
    /// <summary>Starts a fake on a free port.</summary>
    public static async Task<FakeWanServer> StartNewAsync(CancellationToken cancellationToken)
    {
        var server = new FakeWanServer();
        await server.StartAsync(cancellationToken);
        return server;
    }

    protected override string ContentPolicyErrorBody =>
        """{"request_id":"7574ee8f-38a3-4b1e-9280-11c33ab46e51","code":"DataInspectionFailed","message":"Input data may contain inappropriate content."}""";

    protected override string UnauthorizedBody(string key) =>
        $$$"""{"request_id":"7574ee8f-38a3-4b1e-9280-11c33ab46e51","code":"InvalidApiKey","message":"Invalid API-key provided: {{{key}}}"}""";

    protected override string RateLimitedBody =>
        """{"request_id":"7574ee8f-38a3-4b1e-9280-11c33ab46e51","code":"Throttling.RateQuota","message":"Requests rate limit exceeded, please try again later."}""";

    protected override string ServerErrorBody =>
        """{"request_id":"7574ee8f-38a3-4b1e-9280-11c33ab46e51","code":"InternalError","message":"An internal error has occured, please try again later or contact service support."}""";

    protected override string MalformedBody => """{"request_id":"7574ee8f","output":{"task_id":"0385dc79-5ff8""";

    protected override void MapRoutes(WebApplication app)
    {
        foreach (var service in (string[])["video-generation", "image2video"])
        {
            app.MapPost($"/api/v1/services/aigc/{service}/video-synthesis", async (HttpContext context) =>
            {
                await RecordAsync(context, FakeRequestKind.Submit);
                if (context.Request.Headers["X-DashScope-Async"] != "enable")
                {
                    return Json("""{"request_id":"7574ee8f","code":"AccessDenied","message":"current user api does not support synchronous calls"}""", 403);
                }

                if (SubmitFailure(context) is { } failure)
                {
                    return failure;
                }

                var job = CreateJob(Guid.NewGuid().ToString());
                return Json($$$"""{"request_id":"7574ee8f-38a3-4b1e-9280-11c33ab46e51","output":{"task_id":"{{{job.Id}}}","task_status":"PENDING"}}""");
            });
        }

        app.MapGet("/api/v1/tasks/{id}", async (HttpContext context, string id) =>
        {
            await RecordAsync(context, FakeRequestKind.Poll);
            if (FindJob(id) is not { } job)
            {
                // Unknown (or older than 24 h) ids answer 200 with UNKNOWN.
                return Json($$$"""{"request_id":"e5d70b02","output":{"task_id":"{{{id}}}","task_status":"UNKNOWN"}}""");
            }

            var poll = job.NextPoll();
            if (IsCancelled(id))
            {
                return Json(Task(job, "CANCELED"));
            }

            if (job.Scenario == FakeScenario.RefuseAtPoll)
            {
                return Json(Task(job, "FAILED", extra: ""","code":"DataInspectionFailed","message":"Output data may contain inappropriate content." """));
            }

            if (StillRunning(job, poll, SlowPolls, out _))
            {
                return Json(Task(job, poll == 1 ? "PENDING" : "RUNNING"));
            }

            var url = Url($"/dashscope-result-bj/1d/{job.Id}.mp4?Expires=1753713915&OSSAccessKeyId=LTAI5tQZd8AEcZX6KZV4G8qL&Signature=abc");
            return Json(Task(job, "SUCCEEDED", extra: $$$""","video_url":"{{{url}}}","orig_prompt":"a cat","actual_prompt":"A tabby cat eats a fish, close-up" """,
                usage: ""","usage":{"video_duration":5,"video_count":1,"SR":720}"""));
        });

        app.MapPost("/api/v1/tasks/{id}/cancel", async (HttpContext context, string id) =>
        {
            await RecordAsync(context, FakeRequestKind.Cancel);
            if (FindJob(id) is not { } job)
            {
                return Json("""{"request_id":"e5d70b02","code":"InvalidParameter","message":"task not found"}""", 400);
            }

            // Only PENDING tasks can be cancelled (a slow job is pending until its first poll).
            if (job.Polls > 0 && !(job.Scenario == FakeScenario.Slow && job.Polls == 1))
            {
                return Json("""{"request_id":"e5d70b02","code":"UnsupportedOperation","message":"Failed to cancel the task, please confirm if the task is in PENDING status."}""", 400);
            }

            MarkCancelled(id);
            return Json("""{"request_id":"e5d70b02"}""");
        });

        app.MapGet("/dashscope-result-bj/1d/{file}", async (HttpContext context, string file) =>
        {
            await RecordAsync(context, FakeRequestKind.Download);
            return ServeResult(FindJob(file.Replace(".mp4", "", StringComparison.Ordinal)),
                """<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code></Error>""");
        });
    }

    private static string Task(FakeJob job, string status, string extra = "", string usage = "") =>
        $$$"""{"request_id":"e5d70b02-aa2b-4d8b-bd52-bd7a8e0c7b0a","output":{"task_id":"{{{job.Id}}}","task_status":"{{{status}}}","submit_time":"2025-07-27 21:05:15.212","scheduled_time":"2025-07-27 21:05:15.254"{{{extra.TrimEnd()}}}}{{{usage}}}}""";
}
