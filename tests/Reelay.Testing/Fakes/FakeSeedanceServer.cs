using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Reelay.Testing.Fakes;

/// <summary>Plays Volcengine Ark's content generation tasks (<c>providers/volcengine-seedance.md</c>).</summary>
public sealed class FakeSeedanceServer : FakeUpstreamServer
{
    private const string Tasks = "/api/v3/contents/generations/tasks";

    /// <summary>Starts a fake on a free port.</summary>
    public static async Task<FakeSeedanceServer> StartNewAsync(CancellationToken cancellationToken)
    {
        var server = new FakeSeedanceServer();
        await server.StartAsync(cancellationToken);
        return server;
    }

    protected override string ContentPolicyErrorBody =>
        """{"error":{"code":"InputTextSensitiveContentDetected","message":"The request failed because the input text may contain sensitive information. Request id: 021718067863525c0fca4d5d5d7c3d5a3b3ddd0000000000000000","param":"","type":"BadRequest"}}""";

    protected override string UnauthorizedBody(string key) =>
        $$$"""{"error":{"code":"AuthenticationError","message":"The API key or AK/SK in the request is missing or invalid: {{{key}}}. Request id: 0217180678635257e2f8a3e4c","param":"","type":"Unauthorized"}}""";

    protected override string RateLimitedBody =>
        """{"error":{"code":"ModelAccountRpmRateLimitExceeded","message":"The request has exceeded the RPM rate limit of the model for your account. Request id: 021718067863","param":"","type":"TooManyRequests"}}""";

    protected override string ServerErrorBody =>
        """{"error":{"code":"InternalServiceError","message":"The service encountered an unexpected internal error. Request id: 021718067863","param":"","type":"InternalServerError"}}""";

    protected override string MalformedBody => """{"id":"cgt-20250612172542-6n""";

    protected override void MapRoutes(WebApplication app)
    {
        app.MapPost(Tasks, async (HttpContext context) =>
        {
            var request = await RecordAsync(context, FakeRequestKind.Submit);
            if (SubmitFailure(context) is { } failure)
            {
                return failure;
            }

            var job = CreateJob($"cgt-{DateTime.UtcNow:yyyyMMddHHmmss}-{Guid.NewGuid().ToString("N")[..5]}");
            RememberCallback(job, JsonField(request.Body, "callback_url"));
            return Json($$$"""{"id":"{{{job.Id}}}"}""");
        });

        app.MapGet(Tasks + "/{id}", async (HttpContext context, string id) =>
        {
            await RecordAsync(context, FakeRequestKind.Poll);
            if (FindJob(id) is not { } job)
            {
                return Json("""{"error":{"code":"ResourceNotFound","message":"The specified task is not found. Request id: 0217","param":"id","type":"NotFound"}}""", 404);
            }

            var poll = job.NextPoll();
            if (IsCancelled(id))
            {
                return Json(TaskObject(job, "cancelled"));
            }

            if (job.Scenario == FakeScenario.RefuseAtPoll)
            {
                return Json(TaskObject(job, "failed",
                    error: """{"code":"OutputVideoSensitiveContentDetected","message":"The request failed because the output video may contain sensitive information."}"""));
            }

            if (StillRunning(job, poll, SlowPolls, out _))
            {
                return Json(TaskObject(job, poll == 1 ? "queued" : "running"));
            }

            return Json(TaskObject(job, "succeeded", videoUrl: VideoUrl(job)));
        });

        app.MapDelete(Tasks + "/{id}", async (HttpContext context, string id) =>
        {
            await RecordAsync(context, FakeRequestKind.Cancel);
            if (FindJob(id) is not { } job)
            {
                return Json("""{"error":{"code":"ResourceNotFound","message":"The specified task is not found.","param":"id","type":"NotFound"}}""", 404);
            }

            // Only a queued task can be cancelled: a slow job answers "queued" to its first poll.
            var queued = job.Polls == 0 || (job.Scenario == FakeScenario.Slow && job.Polls == 1);
            if (!queued)
            {
                return Json("""{"error":{"code":"InvalidParameter","message":"The task is running and cannot be cancelled. Request id: 0217","param":"id","type":"BadRequest"}}""", 400);
            }

            MarkCancelled(id);
            return Json("{}");
        });

        app.MapGet("/ark-content-generation-cn-beijing/{file}", async (HttpContext context, string file) =>
        {
            await RecordAsync(context, FakeRequestKind.Download);
            return ServeResult(FindJob(file.Replace(".mp4", "", StringComparison.Ordinal)),
                """<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>""");
        });
    }

    /// <summary>Ark POSTs the task object, unsigned.</summary>
    public override (IReadOnlyDictionary<string, string> Headers, byte[] Body) CallbackFor(FakeJob job, DateTimeOffset signedAt) =>
        (new Dictionary<string, string>(), System.Text.Encoding.UTF8.GetBytes(TaskObject(job, "succeeded", videoUrl: VideoUrl(job))));

    private string VideoUrl(FakeJob job) =>
        Url($"/ark-content-generation-cn-beijing/{job.Id}.mp4?X-Tos-Algorithm=TOS4-HMAC-SHA256&X-Tos-Expires=86400&X-Tos-Signature=5f1d");

    /// <summary>The task object as GET answers it (and as Ark POSTs it to a callback_url).</summary>
    public static string TaskObject(FakeJob job, string status, string? videoUrl = null, string error = "null")
    {
        var content = videoUrl is null ? "" : $$$""","content":{"video_url":"{{{videoUrl}}}"}""";
        return $$$"""
            {"id":"{{{job.Id}}}","model":"doubao-seedance-1-0-pro-250528","status":"{{{status}}}","error":{{{error}}},
             "created_at":1718049470,"updated_at":1718049530{{{content}}},"seed":10,"resolution":"720p","ratio":"16:9",
             "duration":5,"framespersecond":24,"usage":{"completion_tokens":108900,"total_tokens":108900}}
            """;
    }
}
