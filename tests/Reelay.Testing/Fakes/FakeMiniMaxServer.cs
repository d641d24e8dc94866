using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Reelay.Testing.Fakes;

/// <summary>Plays MiniMax's Hailuo video API (<c>providers/minimax-hailuo.md</c>): <c>base_resp</c> envelopes, file ids.</summary>
public sealed class FakeMiniMaxServer : FakeUpstreamServer
{
    /// <summary>Starts a fake on a free port.</summary>
    public static async Task<FakeMiniMaxServer> StartNewAsync(CancellationToken cancellationToken)
    {
        var server = new FakeMiniMaxServer();
        await server.StartAsync(cancellationToken);
        return server;
    }

    /// <summary>Answer status "Failed" (the CLI's spelling) instead of the OpenAPI's "Fail".</summary>
    public bool FailedSpelling { get; set; }

    /// <summary>Resolutions of file ids handed out (each answers a fresh link).</summary>
    public int FileRetrievals { get; private set; }

    // MiniMax answers most errors with HTTP 200 and a non-zero base_resp.status_code.
    protected override int ContentPolicyStatus => 200;

    protected override string ContentPolicyErrorBody =>
        """{"task_id":"","base_resp":{"status_code":1026,"status_msg":"input new_sensitive, please try again with different prompt"}}""";

    protected override string UnauthorizedBody(string key) =>
        $$$"""{"base_resp":{"status_code":1004,"status_msg":"login fail: Please carry the API secret key in the 'Authorization' field of the request header: {{{key}}}"}}""";

    protected override string RateLimitedBody =>
        """{"base_resp":{"status_code":1002,"status_msg":"rate limit exceeded(RPM)"}}""";

    protected override string ServerErrorBody =>
        """{"base_resp":{"status_code":1000,"status_msg":"unknown error"}}""";

    protected override string MalformedBody => """{"task_id":"1069161122120""";

    protected override void MapRoutes(WebApplication app)
    {
        app.MapPost("/v1/video_generation", async (HttpContext context) =>
        {
            var request = await RecordAsync(context, FakeRequestKind.Submit);
            if (SubmitFailure(context) is { } failure)
            {
                return failure;
            }

            var job = CreateJob(Random.Shared.NextInt64(100_000_000_000_000, 999_999_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture));
            RememberCallback(job, JsonField(request.Body, "callback_url"));
            return Json($$$"""{"task_id":"{{{job.Id}}}","base_resp":{"status_code":0,"status_msg":"success"}}""");
        });

        app.MapGet("/v1/query/video_generation", async (HttpContext context) =>
        {
            await RecordAsync(context, FakeRequestKind.Poll);
            var id = context.Request.Query["task_id"].ToString();
            if (FindJob(id) is not { } job)
            {
                return Json("""{"task_id":"","status":"","base_resp":{"status_code":2013,"status_msg":"invalid params, task not found"}}""");
            }

            var poll = job.NextPoll();
            if (job.Scenario == FakeScenario.RefuseAtPoll)
            {
                return Json($$$"""{"task_id":"{{{job.Id}}}","status":"{{{(FailedSpelling ? "Failed" : "Fail")}}}","file_id":"","base_resp":{"status_code":1027,"status_msg":"output video sensitive"}}""");
            }

            if (StillRunning(job, poll, SlowPolls, out _))
            {
                return Json(Task(job, poll == 1 ? "Queueing" : "Processing"));
            }

            // A numeric file_id, as some answers have it.
            return Json($$$"""{"task_id":"{{{job.Id}}}","status":"Success","file_id":{{{FileIdOf(job)}}},"video_width":1366,"video_height":768,"base_resp":{"status_code":0,"status_msg":"success"}}""");
        });

        app.MapGet("/v1/files/retrieve", async (HttpContext context) =>
        {
            await RecordAsync(context, FakeRequestKind.Other);
            FileRetrievals++;
            var fileId = context.Request.Query["file_id"].ToString();
            var job = Jobs.FirstOrDefault(j => FileIdOf(j) == fileId);
            if (job is null)
            {
                return Json("""{"base_resp":{"status_code":2013,"status_msg":"file not found"}}""");
            }

            var url = Url($"/minimax-video/{job.Id}/output_aigc.mp4?Expires=1700472998&OSSAccessKeyId=LTAI5t&Signature=q%2B");
            return Json($$$"""{"file":{"file_id":{{{fileId}}},"bytes":5896337,"created_at":1700469398,"filename":"output_aigc.mp4","purpose":"video_generation","download_url":"{{{url}}}"},"base_resp":{"status_code":0,"status_msg":"success"}}""");
        });

        app.MapGet("/minimax-video/{id}/output_aigc.mp4", async (HttpContext context, string id) =>
        {
            await RecordAsync(context, FakeRequestKind.Download);
            return ServeResult(FindJob(id), """<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code></Error>""");
        });
    }

    /// <summary>MiniMax POSTs the poll answer's shape, unsigned, with the status in lower case.</summary>
    public override (IReadOnlyDictionary<string, string> Headers, byte[] Body) CallbackFor(FakeJob job, DateTimeOffset signedAt) =>
        (new Dictionary<string, string>(), System.Text.Encoding.UTF8.GetBytes(
            $$$"""{"task_id":"{{{job.Id}}}","status":"success","file_id":"{{{FileIdOf(job)}}}","base_resp":{"status_code":0,"status_msg":"success"}}"""));

    /// <summary>The poll answer (and callback body) of a job in a given status.</summary>
    public static string Task(FakeJob job, string status) =>
        $$$"""{"task_id":"{{{job.Id}}}","status":"{{{status}}}","file_id":"","base_resp":{"status_code":0,"status_msg":"success"}}""";

    private static string FileIdOf(FakeJob job) => "7" + job.Id[1..];
}
