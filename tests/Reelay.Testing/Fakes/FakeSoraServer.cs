using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Reelay.Testing.Fakes;

/// <summary>Plays an upstream speaking OpenAI's Videos API (<c>providers/openai-videos.md</c>).</summary>
public sealed class FakeSoraServer : FakeUpstreamServer
{
    /// <summary>Starts a fake on a free port.</summary>
    public static async Task<FakeSoraServer> StartNewAsync(CancellationToken cancellationToken)
    {
        var server = new FakeSoraServer();
        await server.StartAsync(cancellationToken);
        return server;
    }

    protected override string ContentPolicyErrorBody =>
        """{"error":{"message":"Your request was blocked by our moderation system.","type":"invalid_request_error","param":null,"code":"moderation_blocked"}}""";

    protected override string UnauthorizedBody(string key) =>
        $$$"""{"error":{"message":"Incorrect API key provided: {{{key}}}. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}""";

    protected override string RateLimitedBody =>
        """{"error":{"message":"Rate limit reached for videos per minute.","type":"requests","param":null,"code":"rate_limit_exceeded"}}""";

    protected override string ServerErrorBody =>
        """{"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}""";

    protected override string MalformedBody => """{"id":"video_68d7512d07848190b3e45da0ecbebcde004da08e1e0678d5","object":"vid""";

    protected override void MapRoutes(WebApplication app)
    {
        app.MapPost("/v1/videos", async (HttpContext context) =>
        {
            var request = await RecordAsync(context, FakeRequestKind.Submit);
            if (SubmitFailure(context) is { } failure)
            {
                return failure;
            }

            var job = CreateJob("video_" + Guid.NewGuid().ToString("N") + Guid.NewGuid().ToString("N")[..16]);
            return Json(VideoObject(job, "queued", 0, request.Form.GetValueOrDefault("prompt") ?? ""));
        });

        app.MapPost("/v1/videos/{id}/remix", async (HttpContext context, string id) =>
        {
            await RecordAsync(context, FakeRequestKind.Submit);
            if (FindJob(id) is null)
            {
                return Json("""{"error":{"message":"Video not found.","type":"invalid_request_error","param":null,"code":null}}""", 404);
            }

            var job = CreateJob("video_" + Guid.NewGuid().ToString("N") + Guid.NewGuid().ToString("N")[..16]);
            return Json(VideoObject(job, "queued", 0, "remix"));
        });

        app.MapGet("/v1/videos/{id}", async (HttpContext context, string id) =>
        {
            await RecordAsync(context, FakeRequestKind.Poll);
            if (FindJob(id) is not { } job)
            {
                return Json("""{"error":{"message":"Video not found.","type":"invalid_request_error","param":null,"code":null}}""", 404);
            }

            var poll = job.NextPoll();
            if (job.Scenario == FakeScenario.RefuseAtPoll)
            {
                return Json(VideoObject(job, "failed", 0, "", """{"code":"moderation_blocked","message":"Your request was blocked by our moderation system."}"""));
            }

            if (StillRunning(job, poll, SlowPolls, out var progress))
            {
                return Json(VideoObject(job, poll == 1 ? "queued" : "in_progress", progress, ""));
            }

            return Json(VideoObject(job, "completed", 100, ""));
        });

        app.MapGet("/v1/videos/{id}/content", async (HttpContext context, string id) =>
        {
            await RecordAsync(context, FakeRequestKind.Download);
            return ServeResult(FindJob(id),
                """{"error":{"message":"Video content not found.","type":"invalid_request_error","param":null,"code":null}}""");
        });
    }

    private static string VideoObject(FakeJob job, string status, int progress, string prompt, string error = "null")
    {
        // A time-based job finished when its time came (Unix seconds, as the API counts); others at a fixed instant.
        var completedAt = status is "completed" or "failed" ? (job.FinishesAt is { } finishesAt ? finishesAt / 1000 : 1758941600).ToString(System.Globalization.CultureInfo.InvariantCulture) : "null";
        return $$$"""
            {"id":"{{{job.Id}}}","object":"video","model":"sora-2","status":"{{{status}}}","progress":{{{progress}}},
             "created_at":1758941485,"completed_at":{{{completedAt}}},"expires_at":null,"prompt":{{{System.Text.Json.JsonSerializer.Serialize(prompt)}}},
             "size":"1280x720","seconds":"4","quality":"standard","remixed_from_video_id":null,"error":{{{error}}}}
            """;
    }
}
