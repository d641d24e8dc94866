using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Reelay.Testing.Fakes;

/// <summary>Plays xAI's video API (<c>providers/xai-grok-imagine.md</c>).</summary>
public sealed class FakeXaiServer : FakeUpstreamServer
{
    /// <summary>Starts a fake on a free port.</summary>
    public static async Task<FakeXaiServer> StartNewAsync(CancellationToken cancellationToken)
    {
        var server = new FakeXaiServer();
        await server.StartAsync(cancellationToken);
        return server;
    }

    protected override string ContentPolicyErrorBody =>
        """{"code":"Client specified an invalid argument","error":"Prompt rejected by content moderation."}""";

    protected override string UnauthorizedBody(string key) =>
        $$$"""{"code":"The caller does not have permission to execute the specified operation","error":"Incorrect API key provided: {{{key}}}. You can obtain an API key from https://console.x.ai."}""";

    protected override string RateLimitedBody =>
        """{"error":{"message":"Too many requests, slow down.","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}""";

    protected override string ServerErrorBody =>
        """{"error":{"message":"Internal server error.","type":"server_error","param":null,"code":"internal_error"}}""";

    protected override string MalformedBody => """{"request_id": "a3d1008e-4544""";

    protected override void MapRoutes(WebApplication app)
    {
        app.MapPost("/v1/videos/generations", async (HttpContext context) =>
        {
            await RecordAsync(context, FakeRequestKind.Submit);
            if (SubmitFailure(context) is { } failure)
            {
                return failure;
            }

            var job = CreateJob(Guid.NewGuid().ToString());
            return Json($$$"""{"request_id":"{{{job.Id}}}"}""");
        });

        app.MapGet("/v1/videos/{id}", async (HttpContext context, string id) =>
        {
            await RecordAsync(context, FakeRequestKind.Poll);
            if (FindJob(id) is not { } job)
            {
                return Json("""{"code":"Some requested entity was not found","error":"No video request with that id."}""", 404);
            }

            var poll = job.NextPoll();
            if (job.Scenario == FakeScenario.RefuseAtPoll)
            {
                return Json("""{"status":"done","video":{"url":"","duration":6,"respect_moderation":false},"model":"grok-imagine-video"}""");
            }

            if (StillRunning(job, poll, SlowPolls, out var progress))
            {
                // xAI answers pending polls with 202, sometimes without a body.
                return poll == 1
                    ? Results.StatusCode(202)
                    : Json($$$"""{"status":"pending","progress":{{{progress}}},"model":"grok-imagine-video"}""", 202);
            }

            var url = Url($"/xai-vidgen-bucket/xai-video-{job.Id}.mp4");
            return Json($$$"""{"status":"done","video":{"url":"{{{url}}}","duration":6,"respect_moderation":true},"model":"grok-imagine-video","progress":100,"usage":{"cost_in_usd_ticks":4200000000}}""");
        });

        app.MapGet("/xai-vidgen-bucket/{file}", async (HttpContext context, string file) =>
        {
            await RecordAsync(context, FakeRequestKind.Download);
            var id = file.Replace("xai-video-", "", StringComparison.Ordinal).Replace(".mp4", "", StringComparison.Ordinal);
            return ServeResult(FindJob(id), """{"code":"Not found","error":"The video has expired."}""");
        });
    }
}
