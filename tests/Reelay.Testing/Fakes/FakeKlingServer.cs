using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Reelay.Testing.Fakes;

/// <summary>Plays Kling AI's video API (<c>providers/kling.md</c>): envelopes, numeric codes, JWT bearer tokens.</summary>
public sealed class FakeKlingServer : FakeUpstreamServer
{
    /// <summary>Starts a fake on a free port.</summary>
    public static async Task<FakeKlingServer> StartNewAsync(CancellationToken cancellationToken)
    {
        var server = new FakeKlingServer();
        await server.StartAsync(cancellationToken);
        return server;
    }

    /// <summary>When set, every call must carry a JWT signed with this SecretKey for <see cref="AccessKey"/>, or it is answered 401 (code 1002).</summary>
    public string? SecretKey { get; set; }

    public string? AccessKey { get; set; }

    private TaskCompletionSource? _hold;

    /// <summary>
    /// Makes the next poll wait, once recorded, until the returned source is completed: a poll in flight
    /// for as long as the test needs. <see cref="PollHeld"/> completes when it has arrived.
    /// </summary>
    public TaskCompletionSource HoldNextPoll()
    {
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        PollHeld = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _hold = hold;
        return hold;
    }

    /// <summary>Completes when the poll <see cref="HoldNextPoll"/> holds has arrived.</summary>
    public TaskCompletionSource PollHeld { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _families = new();

    protected override string ContentPolicyErrorBody =>
        """{"code":1301,"message":"Failure to pass the risk control system","request_id":"CjhDZWk2"}""";

    protected override string UnauthorizedBody(string key) =>
        $$$"""{"code":1002,"message":"Authorization is invalid: {{{key}}}","request_id":"CjhDZWk2"}""";

    protected override string RateLimitedBody =>
        """{"code":1302,"message":"The API request is too fast, please slow down the request rate","request_id":"CjhDZWk2"}""";

    protected override string ServerErrorBody =>
        """{"code":5000,"message":"Server internal error","request_id":"CjhDZWk2"}""";

    protected override string MalformedBody => """{"code":0,"message":"SUCCEED","request_id":"CjhDZWk2","data":{"task_id":"8672837""";

    protected override void MapRoutes(WebApplication app)
    {
        foreach (var family in (string[])["text2video", "image2video"])
        {
            app.MapPost("/v1/videos/" + family, async (HttpContext context) =>
            {
                var request = await RecordAsync(context, FakeRequestKind.Submit);
                if (TokenProblem(context) is { } refused)
                {
                    return refused;
                }

                if (SubmitFailure(context) is { } failure)
                {
                    return failure;
                }

                var job = CreateJob(Random.Shared.NextInt64(100_000_000_000_000_000, 999_999_999_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture));
                _families[job.Id] = family;
                RememberCallback(job, JsonField(request.Body, "callback_url"));
                using var body = JsonDocument.Parse(request.Body);
                var external = body.RootElement.TryGetProperty("external_task_id", out var e) ? e.GetString() : "";
                return Json($$$"""{"code":0,"message":"SUCCEED","request_id":"CjhDZWk2","data":{"task_id":"{{{job.Id}}}","task_status":"submitted","task_info":{"external_task_id":{{{JsonSerializer.Serialize(external)}}}},"created_at":1722769557708,"updated_at":1722769557708}}""");
            });

            app.MapGet($"/v1/videos/{family}/{{id}}", async (HttpContext context, string id) =>
            {
                await RecordAsync(context, FakeRequestKind.Poll);
                if (TokenProblem(context) is { } refused)
                {
                    return refused;
                }

                // Ids are only valid in the family that made them.
                if (FindJob(id) is not { } job || _families[id] != family)
                {
                    return Json("""{"code":1203,"message":"The requested resource does not exist","request_id":"CjhDZWk2"}""", 404);
                }

                var poll = job.NextPoll();
                if (Interlocked.Exchange(ref _hold, null) is { } hold)
                {
                    PollHeld.TrySetResult();
                    await hold.Task.WaitAsync(context.RequestAborted);
                }

                if (job.Scenario == FakeScenario.RefuseAtPoll)
                {
                    return Json(Envelope(TaskObject(job, "failed", message: "Failure to pass the risk control system")));
                }

                if (StillRunning(job, poll, SlowPolls, out _))
                {
                    return Json(Envelope(TaskObject(job, poll == 1 ? "submitted" : "processing")));
                }

                return Json(Envelope(TaskObject(job, "succeed", Url($"/kcdn/cdn-video/{job.Id}.mp4"))));
            });
        }

        app.MapGet("/kcdn/cdn-video/{file}", async (HttpContext context, string file) =>
        {
            await RecordAsync(context, FakeRequestKind.Download);
            return ServeResult(FindJob(file.Replace(".mp4", "", StringComparison.Ordinal)), """{"code":1203,"message":"not found"}""");
        });
    }

    /// <summary>The bare task object: a GET's <c>data</c>, and a callback's whole body.</summary>
    public static string TaskObject(FakeJob job, string status, string? videoUrl = null, string message = "")
    {
        var result = videoUrl is null ? "" : $$$""","task_result":{"videos":[{"id":"a3d1","url":"{{{videoUrl}}}","duration":"5"}]}""";
        return $$$"""{"task_id":"{{{job.Id}}}","task_status":"{{{status}}}","task_status_msg":{{{JsonSerializer.Serialize(message)}}},"task_info":{"external_task_id":"x"},"final_unit_deduction":"1","created_at":1722769557708,"updated_at":1722769600000{{{result}}}}""";
    }

    /// <summary>Kling POSTs the bare task object (no envelope), unsigned.</summary>
    public override (IReadOnlyDictionary<string, string> Headers, byte[] Body) CallbackFor(FakeJob job, DateTimeOffset signedAt) =>
        (new Dictionary<string, string>(), Encoding.UTF8.GetBytes(TaskObject(job, "succeed", Url($"/kcdn/cdn-video/{job.Id}.mp4"))));

    private static string Envelope(string task) => $$$"""{"code":0,"message":"SUCCEED","request_id":"CjhDZWk2","data":{{{task}}}}""";

    /// <summary>With <see cref="SecretKey"/> set: the 401 Kling gives a missing, badly signed or expired JWT.</summary>
    private IResult? TokenProblem(HttpContext context)
    {
        if (SecretKey is null)
        {
            return null;
        }

        var token = context.Request.Headers.Authorization.ToString().Replace("Bearer ", "", StringComparison.Ordinal);
        var parts = token.Split('.');
        if (parts.Length != 3)
        {
            return Json("""{"code":1002,"message":"Authorization is invalid","request_id":"CjhDZWk2"}""", 401);
        }

        var expected = System.Buffers.Text.Base64Url.EncodeToString(HMACSHA256.HashData(Encoding.UTF8.GetBytes(SecretKey), Encoding.ASCII.GetBytes(parts[0] + "." + parts[1])));
        using var claims = JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(parts[1]));
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (expected != parts[2] || claims.RootElement.GetProperty("iss").GetString() != AccessKey)
        {
            return Json("""{"code":1002,"message":"Authorization is invalid","request_id":"CjhDZWk2"}""", 401);
        }

        if (claims.RootElement.GetProperty("exp").GetInt64() <= now)
        {
            return Json("""{"code":1004,"message":"Authorization is expired","request_id":"CjhDZWk2"}""", 401);
        }

        return claims.RootElement.GetProperty("nbf").GetInt64() > now
            ? Json("""{"code":1003,"message":"Authorization is not active","request_id":"CjhDZWk2"}""", 401)
            : null;
    }
}
