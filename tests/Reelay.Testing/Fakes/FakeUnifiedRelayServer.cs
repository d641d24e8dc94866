using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Reelay.Testing.Fakes;

/// <summary>Plays a relay speaking the unified video format (<c>providers/unified-video.md</c>).</summary>
public sealed class FakeUnifiedRelayServer : FakeUpstreamServer
{
    private readonly ConcurrentQueue<string> _scriptedQueries = new();

    /// <summary>Starts a fake on a free port.</summary>
    public static async Task<FakeUnifiedRelayServer> StartNewAsync(CancellationToken cancellationToken)
    {
        var server = new FakeUnifiedRelayServer();
        await server.StartAsync(cancellationToken);
        return server;
    }

    /// <summary>
    /// Queues a raw query answer; while any are queued, each poll answers the next one verbatim
    /// (for relay status values and error shapes the scenarios do not cover).
    /// </summary>
    public void ScriptQueryAnswer(string json) => _scriptedQueries.Enqueue(json);

    /// <summary>The <c>enhanced_prompt</c> reported once a job completes.</summary>
    public string EnhancedPrompt { get; set; } = "A calm lake at dawn, mist over the water, cinematic.";

    protected override string ContentPolicyErrorBody =>
        """{"code":"content_policy_violation","message":"The prompt was rejected by the upstream safety review."}""";

    protected override string UnauthorizedBody(string key) =>
        $$$"""{"error":{"message":"Invalid token: {{{key}}}","type":"new_api_error","code":"invalid_token"}}""";

    protected override string RateLimitedBody =>
        """{"error":{"message":"The current group is overloaded, please try again later.","type":"new_api_error","code":"rate_limit"}}""";

    protected override string ServerErrorBody =>
        """{"error":{"message":"upstream error: do request failed","type":"new_api_error","code":"do_request_failed"}}""";

    protected override string MalformedBody => """<html><body>502 Bad Gateway</body></html>""";

    protected override void MapRoutes(WebApplication app)
    {
        app.MapPost("/v1/video/create", async (HttpContext context) =>
        {
            await RecordAsync(context, FakeRequestKind.Submit);
            if (SubmitFailure(context) is { } failure)
            {
                return failure;
            }

            var job = CreateJob("grok:" + Guid.NewGuid());
            return Json($$$"""{"id":"{{{job.Id}}}","status":"pending","status_update_time":1762241017286}""");
        });

        app.MapGet("/v1/video/query", async (HttpContext context, string id) =>
        {
            await RecordAsync(context, FakeRequestKind.Poll);
            var job = FindJob(id);
            job?.NextPoll();
            if (_scriptedQueries.TryDequeue(out var scripted))
            {
                return Json(scripted);
            }

            if (job is null)
            {
                return Json("""{"error":{"message":"task not found","type":"new_api_error","code":"task_not_exist"}}""", 404);
            }

            if (job.Scenario == FakeScenario.RefuseAtPoll)
            {
                return Json($$$"""{"id":"{{{job.Id}}}","status":"failed","video_url":null,"enhanced_prompt":"","status_update_time":1762241019000,"error":{"code":"content_policy","message":"The video was blocked by content moderation."}}""");
            }

            if (StillRunning(job, job.Polls, SlowPolls, out var progress))
            {
                // Relays disagree on progress: a number on grok pages, a numeric string on others.
                // A timed job reports progress from its first poll, so Reelay's poller can aim at its finish.
                // A job drawn without progress answers a bare "processing", as some upstreams behind relays do.
                return (job.Polls == 1 && job.FinishesAt is null, job.ReportsProgress) switch
                {
                    (true, _) => Json($$$"""{"id":"{{{job.Id}}}","status":"pending","video_url":null,"enhanced_prompt":"","status_update_time":1762241018000}"""),
                    (false, true) => Json($$$"""{"id":"{{{job.Id}}}","status":"processing","progress":"{{{progress}}}","video_url":null,"enhanced_prompt":"","status_update_time":1762241018500}"""),
                    (false, false) => Json($$$"""{"id":"{{{job.Id}}}","status":"processing","video_url":null,"enhanced_prompt":"","status_update_time":1762241018500}"""),
                };
            }

            var url = Url($"/cdn/{Uri.EscapeDataString(job.Id)}.mp4");
            return Json($$$"""{"id":"{{{job.Id}}}","status":"completed","progress":100,"video_url":"{{{url}}}","thumbnail_url":null,"enhanced_prompt":"{{{EnhancedPrompt}}}","status_update_time":1762241020000}""");
        });

        app.MapGet("/cdn/{file}", async (HttpContext context, string file) =>
        {
            await RecordAsync(context, FakeRequestKind.Download);
            return ServeResult(FindJob(file[..^".mp4".Length]), """{"error":{"message":"file not found","type":"new_api_error","code":"not_found"}}""");
        });
    }
}
