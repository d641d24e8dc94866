using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Security;

namespace Reelay.Testing.Fakes;

/// <summary>Plays fal.ai's queue API (<c>providers/fal-replicate.md</c>, part 1).</summary>
public sealed class FakeFalServer : FakeUpstreamServer
{
    /// <summary>Starts a fake on a free port.</summary>
    public static async Task<FakeFalServer> StartNewAsync(CancellationToken cancellationToken)
    {
        var server = new FakeFalServer();
        await server.StartAsync(cancellationToken);
        return server;
    }

    // The key fal signs webhooks with; its public half is served at /.well-known/jwks.json.
    private readonly Ed25519PrivateKeyParameters _signingKey = new(new SecureRandom());

    /// <summary>The fal user id webhooks name.</summary>
    public string UserId { get; } = "user_" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>JWKS fetches received.</summary>
    public int KeySetFetches => Requests.Count(r => r.Path == "/.well-known/jwks.json");

    // fal validates inputs against the model's schema: a refused prompt is a 422 with a detail list.
    protected override int ContentPolicyStatus => 422;

    protected override string ContentPolicyErrorBody =>
        """{"detail":[{"loc":["body","prompt"],"msg":"The prompt was flagged by the content checker.","type":"content_policy_violation"}]}""";

    protected override string UnauthorizedBody(string key) => $$$"""{"detail":"Invalid API key: {{{key}}}"}""";

    protected override string RateLimitedBody => """{"detail":"Rate limit exceeded. Try again later."}""";

    protected override string ServerErrorBody => """{"detail":"Internal server error"}""";

    protected override string MalformedBody => """{"request_id":"80e732af-660e-45cd""";

    protected override void MapRoutes(WebApplication app)
    {
        app.MapPost("/{owner}/{app}/{**path}", async (HttpContext context, string owner, string app) =>
        {
            await RecordAsync(context, FakeRequestKind.Submit);
            if (!context.Request.Headers.Authorization.ToString().StartsWith("Key ", StringComparison.Ordinal))
            {
                return Json("""{"detail":"Missing or malformed Authorization header: use 'Key <FAL_KEY>'"}""", 401);
            }

            if (SubmitFailure(context) is { } failure)
            {
                return failure;
            }

            var job = CreateJob(Guid.NewGuid().ToString());
            RememberCallback(job, context.Request.Query["fal_webhook"].ToString());
            var base_ = Url($"/{owner}/{app}/requests/{job.Id}");
            return Json($$$"""{"request_id":"{{{job.Id}}}","gateway_request_id":"{{{job.Id}}}","status":"IN_QUEUE","queue_position":0,"response_url":"{{{base_}}}","status_url":"{{{base_}}}/status","cancel_url":"{{{base_}}}/cancel"}""");
        });

        app.MapGet("/{owner}/{app}/requests/{id}/status", async (HttpContext context, string id) =>
        {
            await RecordAsync(context, FakeRequestKind.Poll);
            if (FindJob(id) is not { } job)
            {
                return Json("""{"detail":"Request not found"}""", 404);
            }

            var poll = job.NextPoll();
            if (job.Scenario != FakeScenario.RefuseAtPoll && StillRunning(job, poll, SlowPolls, out _))
            {
                return Json(poll == 1 ? """{"status":"IN_QUEUE","queue_position":2}""" : """{"status":"IN_PROGRESS","logs":[]}""", 202);
            }

            return Json("""{"status":"COMPLETED","logs":[],"metrics":{"inference_time":41.2}}""");
        });

        app.MapGet("/{owner}/{app}/requests/{id}", async (HttpContext context, string id) =>
        {
            await RecordAsync(context, FakeRequestKind.Other);
            if (FindJob(id) is not { } job)
            {
                return Json("""{"detail":"Request not found"}""", 404);
            }

            if (job.Scenario == FakeScenario.RefuseAtPoll)
            {
                context.Response.Headers["X-Fal-Error-Type"] = "content_policy_violation";
                return Json("""{"detail":[{"loc":["body","prompt"],"msg":"Output video was flagged by the content policy checker.","type":"content_policy_violation"}]}""", 422);
            }

            return Json(Output(Url($"/v3.fal.media/files/{job.Id}.mp4")));
        });

        app.MapPut("/{owner}/{app}/requests/{id}/cancel", async (HttpContext context, string id) =>
        {
            await RecordAsync(context, FakeRequestKind.Cancel);
            return MarkCancelled(id) ? Json("""{"status":"CANCELLATION_REQUESTED"}""", 202) : Json("""{"status":"NOT_FOUND"}""", 404);
        });

        app.MapGet("/.well-known/jwks.json", async (HttpContext context) =>
        {
            await RecordAsync(context, FakeRequestKind.Other);
            var x = System.Buffers.Text.Base64Url.EncodeToString(_signingKey.GeneratePublicKey().GetEncoded());
            // A second, unrelated key first: the verifier must try every key of the set.
            var other = System.Buffers.Text.Base64Url.EncodeToString(new Ed25519PrivateKeyParameters(new SecureRandom()).GeneratePublicKey().GetEncoded());
            return Json($$$"""{"keys":[{"kty":"OKP","crv":"Ed25519","x":"{{{other}}}","kid":"old"},{"kty":"OKP","crv":"Ed25519","x":"{{{x}}}","kid":"current"}]}""");
        });

        app.MapGet("/v3.fal.media/files/{file}", async (HttpContext context, string file) =>
        {
            await RecordAsync(context, FakeRequestKind.Download);
            return ServeResult(FindJob(file.Replace(".mp4", "", StringComparison.Ordinal)), """{"detail":"Not found"}""");
        });
    }

    /// <summary>
    /// fal's signed webhook: ED25519 over <c>request_id \n user_id \n timestamp \n hex(sha256(body))</c>,
    /// hex in <c>X-Fal-Webhook-Signature</c>.
    /// </summary>
    public override (IReadOnlyDictionary<string, string> Headers, byte[] Body) CallbackFor(FakeJob job, DateTimeOffset signedAt)
    {
        var body = Encoding.UTF8.GetBytes($$$"""{"request_id":"{{{job.Id}}}","gateway_request_id":"{{{job.Id}}}","status":"OK","payload":{{{Output(Url($"/v3.fal.media/files/{job.Id}.mp4"))}}}}""");
        var timestamp = signedAt.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var message = Encoding.UTF8.GetBytes($"{job.Id}\n{UserId}\n{timestamp}\n{Convert.ToHexStringLower(SHA256.HashData(body))}");
        var signer = new Ed25519Signer();
        signer.Init(true, _signingKey);
        signer.BlockUpdate(message, 0, message.Length);
        return (new Dictionary<string, string>
        {
            ["X-Fal-Webhook-Request-Id"] = job.Id,
            ["X-Fal-Webhook-User-Id"] = UserId,
            ["X-Fal-Webhook-Timestamp"] = timestamp,
            ["X-Fal-Webhook-Signature"] = Convert.ToHexStringLower(signer.GenerateSignature()),
        }, body);
    }

    /// <summary>A video model's output (the result body, and a webhook's <c>payload</c>).</summary>
    public static string Output(string url) =>
        $$$"""{"video":{"url":"{{{url}}}","content_type":"video/mp4","file_name":"output.mp4","file_size":290245},"seed":1214861211}""";
}
