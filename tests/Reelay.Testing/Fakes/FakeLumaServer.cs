using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Reelay.Testing.Fakes;

/// <summary>Plays Luma's Dream Machine API (<c>providers/runway-luma.md</c>, part 2).</summary>
public sealed class FakeLumaServer : FakeUpstreamServer
{
    private const string Root = "/dream-machine/v1";

    /// <summary>Starts a fake on a free port.</summary>
    public static async Task<FakeLumaServer> StartNewAsync(CancellationToken cancellationToken)
    {
        var server = new FakeLumaServer();
        await server.StartAsync(cancellationToken);
        return server;
    }

    protected override string ContentPolicyErrorBody => """{"detail":"Prompt not allowed because it contains content that violates our content moderation policy."}""";

    protected override string UnauthorizedBody(string key) => $$$"""{"detail":"Invalid API key: {{{key}}}"}""";

    protected override string RateLimitedBody => """{"detail":"Rate limit exceeded"}""";

    protected override string ServerErrorBody => """{"detail":"Internal server error"}""";

    protected override string MalformedBody => """{"id":"d7ff34b5-1a5e-4f""";

    protected override void MapRoutes(WebApplication app)
    {
        app.MapPost(Root + "/generations/video", async (HttpContext context) =>
        {
            var request = await RecordAsync(context, FakeRequestKind.Submit);
            if (SubmitFailure(context) is { } failure)
            {
                return failure;
            }

            var job = CreateJob(Guid.NewGuid().ToString());
            RememberCallback(job, JsonField(request.Body, "callback_url"));
            return Json(Generation(job, "queued"), 201);
        });

        app.MapGet(Root + "/generations/{id}", async (HttpContext context, string id) =>
        {
            await RecordAsync(context, FakeRequestKind.Poll);
            if (FindJob(id) is not { } job || IsCancelled(id))
            {
                return Json("""{"detail":"Generation not found"}""", 404);
            }

            var poll = job.NextPoll();
            if (job.Scenario == FakeScenario.RefuseAtPoll)
            {
                return Json(Generation(job, "failed", failure: "Your generation was blocked by our content moderation."));
            }

            if (StillRunning(job, poll, SlowPolls, out _))
            {
                return Json(Generation(job, poll == 1 ? "queued" : "dreaming"));
            }

            return Json(Generation(job, "completed", video: Url($"/storage.cdn-luma.com/dream_machine/{job.Id}/video.mp4")));
        });

        app.MapDelete(Root + "/generations/{id}", async (HttpContext context, string id) =>
        {
            await RecordAsync(context, FakeRequestKind.Cancel);
            return MarkCancelled(id) ? Results.StatusCode(204) : Json("""{"detail":"Generation not found"}""", 404);
        });

        app.MapGet("/storage.cdn-luma.com/dream_machine/{id}/video.mp4", async (HttpContext context, string id) =>
        {
            await RecordAsync(context, FakeRequestKind.Download);
            return ServeResult(FindJob(id), """<Error><Code>NoSuchKey</Code></Error>""");
        });
    }

    /// <summary>Luma POSTs the Generation object, unsigned.</summary>
    public override (IReadOnlyDictionary<string, string> Headers, byte[] Body) CallbackFor(FakeJob job, DateTimeOffset signedAt) =>
        (new Dictionary<string, string>(), System.Text.Encoding.UTF8.GetBytes(Generation(job, "completed", video: Url($"/storage.cdn-luma.com/dream_machine/{job.Id}/video.mp4"))));

    /// <summary>The Generation object (create answer, GET, and the callback body).</summary>
    public static string Generation(FakeJob job, string state, string? video = null, string? failure = null)
    {
        var assets = video is null ? "null" : $$$"""{"video":"{{{video}}}","image":null}""";
        var reason = failure is null ? "null" : System.Text.Json.JsonSerializer.Serialize(failure);
        return $$$"""{"id":"{{{job.Id}}}","generation_type":"video","state":"{{{state}}}","failure_reason":{{{reason}}},"created_at":"2024-11-20T09:21:34.812Z","assets":{{{assets}}},"model":"ray-2","request":{"prompt":"a cat"}}""";
    }
}
