using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Reelay.Testing.Fakes;

/// <summary>Plays Replicate's predictions API (<c>providers/fal-replicate.md</c>, part 2).</summary>
public sealed class FakeReplicateServer : FakeUpstreamServer
{
    /// <summary>Starts a fake on a free port.</summary>
    public static async Task<FakeReplicateServer> StartNewAsync(CancellationToken cancellationToken)
    {
        var server = new FakeReplicateServer();
        await server.StartAsync(cancellationToken);
        return server;
    }

    /// <summary>The account's webhook signing secret, as <c>GET /v1/webhooks/default/secret</c> answers it.</summary>
    public string WebhookSecret { get; set; } = "whsec_" + Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));

    protected override int ContentPolicyStatus => 422;

    protected override string ContentPolicyErrorBody =>
        """{"title":"Input validation failed","detail":"The input prompt was flagged as sensitive (E005). Please try a different prompt.","status":422}""";

    protected override string UnauthorizedBody(string key) =>
        $$$"""{"title":"Unauthenticated","detail":"You did not pass a valid authentication token: {{{key}}}","status":401}""";

    protected override string RateLimitedBody => """{"title":"Request was throttled.","detail":"Request was throttled. Expected available in 7 seconds.","status":429}""";

    protected override string ServerErrorBody => """{"title":"Internal Server Error","detail":"An unexpected error occurred.","status":500}""";

    protected override string MalformedBody => """{"id":"gm3qorzdhgbfurvjtvhg6dckhu","model":"kwaivgi/kl""";

    protected override void MapRoutes(WebApplication app)
    {
        app.MapPost("/v1/models/{owner}/{name}/predictions", (Func<HttpContext, Task<IResult>>)CreateAsync);
        app.MapPost("/v1/predictions", (Func<HttpContext, Task<IResult>>)CreateAsync);

        app.MapGet("/v1/predictions/{id}", async (HttpContext context, string id) =>
        {
            await RecordAsync(context, FakeRequestKind.Poll);
            if (FindJob(id) is not { } job)
            {
                return Json("""{"title":"Not found","detail":"The requested resource could not be found.","status":404}""", 404);
            }

            var poll = job.NextPoll();
            if (IsCancelled(id))
            {
                return Json(Prediction(job, "canceled"));
            }

            if (job.Scenario == FakeScenario.RefuseAtPoll)
            {
                return Json(Prediction(job, "failed", error: "\"NSFW content detected. Try running it again, or try a different prompt.\""));
            }

            if (StillRunning(job, poll, SlowPolls, out _))
            {
                return Json(Prediction(job, poll == 1 ? "starting" : "processing"));
            }

            return Json(Prediction(job, "succeeded", output: $"\"{OutputUrl(job)}\""));
        });

        app.MapPost("/v1/predictions/{id}/cancel", async (HttpContext context, string id) =>
        {
            await RecordAsync(context, FakeRequestKind.Cancel);
            return FindJob(id) is { } job && MarkCancelled(id)
                ? Json(Prediction(job, "canceled"))
                : Json("""{"title":"Not found","detail":"The requested resource could not be found.","status":404}""", 404);
        });

        app.MapGet("/v1/webhooks/default/secret", async (HttpContext context) =>
        {
            await RecordAsync(context, FakeRequestKind.Other);
            return Json($$$"""{"key":"{{{WebhookSecret}}}"}""");
        });

        app.MapGet("/replicate.delivery/xezq/{id}/output.mp4", async (HttpContext context, string id) =>
        {
            await RecordAsync(context, FakeRequestKind.Download);
            return ServeResult(FindJob(id), """{"detail":"Not found"}""");
        });
    }

    /// <summary>
    /// Replicate's signed webhook: HMAC-SHA256 over <c>id.timestamp.body</c> with the decoded
    /// <see cref="WebhookSecret"/>, as <c>webhook-signature: v1,&lt;base64&gt;</c>.
    /// </summary>
    public override (IReadOnlyDictionary<string, string> Headers, byte[] Body) CallbackFor(FakeJob job, DateTimeOffset signedAt)
    {
        var body = System.Text.Encoding.UTF8.GetBytes(Prediction(job, "succeeded", output: $"\"{OutputUrl(job)}\""));
        var id = "msg_" + Guid.NewGuid().ToString("N")[..24];
        var timestamp = signedAt.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var key = Convert.FromBase64String(WebhookSecret["whsec_".Length..]);
        var signed = System.Text.Encoding.UTF8.GetBytes($"{id}.{timestamp}.").Concat(body).ToArray();
        var signature = Convert.ToBase64String(System.Security.Cryptography.HMACSHA256.HashData(key, signed));
        return (new Dictionary<string, string>
        {
            ["webhook-id"] = id,
            ["webhook-timestamp"] = timestamp,
            // Several entries may come; the verifier accepts any that holds.
            ["webhook-signature"] = $"v1,{Convert.ToBase64String(new byte[32])} v1,{signature}",
        }, body);
    }

    /// <summary>Where a job's output file is served.</summary>
    public string OutputUrl(FakeJob job) => Url($"/replicate.delivery/xezq/{job.Id}/output.mp4");

    /// <summary>The <c>completed_at</c> of every ended prediction.</summary>
    public const string CompletedAt = "2025-08-11T14:01:05.112Z";

    /// <summary>The prediction object (GET, cancel, and the webhook body).</summary>
    public static string Prediction(FakeJob job, string status, string output = "null", string error = "null") =>
        $$$"""{"id":"{{{job.Id}}}","model":"kwaivgi/kling-v2.1","version":"hidden","input":{"prompt":"a cat"},"logs":"","output":{{{output}}},"data_removed":false,"error":{{{error}}},"status":"{{{status}}}","created_at":"2025-08-11T14:00:32.981Z","completed_at":{{{(status is "starting" or "processing" ? "null" : "\"" + CompletedAt + "\"")}}},"urls":{"get":"https://api.replicate.com/v1/predictions/{{{job.Id}}}","cancel":"https://api.replicate.com/v1/predictions/{{{job.Id}}}/cancel"}}""";

    private async Task<IResult> CreateAsync(HttpContext context)
    {
        var request = await RecordAsync(context, FakeRequestKind.Submit);
        if (SubmitFailure(context) is { } failure)
        {
            return failure;
        }

        var job = CreateJob(Guid.NewGuid().ToString("N")[..26]);
        RememberCallback(job, JsonField(request.Body, "webhook"));
        return Json(Prediction(job, "starting"), 201);
    }
}
