using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Reelay.Testing.Fakes;

/// <summary>
/// Plays Gemini Omni on the Interactions API (providers/google-omni.md): on the Gemini API
/// (<c>/v1beta/interactions</c>, <c>x-goog-api-key</c>, Files API metadata and download) and on Vertex AI
/// (<c>/v1beta1/projects/{p}/locations/global/interactions</c>, a bearer token from <c>/token</c>, results in
/// Cloud Storage). Background create, polling, inline or uri delivery, cancel, and the non-success statuses.
/// </summary>
public sealed class FakeGeminiOmniServer : FakeUpstreamServer
{
    private readonly ConcurrentDictionary<string, JsonElement> _bodies = new();
    private readonly ConcurrentDictionary<string, int> _fileReads = new();

    public FakeGoogleTokens Tokens { get; } = new();

    /// <summary>The <c>/token</c> URL a test key names.</summary>
    public Uri TokenUri => new(BaseUrl, "/token");

    /// <summary>The status a finished job ends with instead of <c>completed</c> (<c>budget_exceeded</c>, <c>incomplete</c>, <c>requires_action</c>, <c>failed</c>).</summary>
    public string? EndStatus { get; set; }

    /// <summary>Metadata reads a generated file answers <c>PROCESSING</c> before <c>ACTIVE</c>.</summary>
    public int FileProcessingReads { get; set; }

    public static async Task<FakeGeminiOmniServer> StartNewAsync(CancellationToken cancellationToken)
    {
        var server = new FakeGeminiOmniServer();
        await server.StartAsync(cancellationToken);
        return server;
    }

    protected override string ContentPolicyErrorBody =>
        """{"error":{"code":400,"message":"The request was blocked because it may violate our safety policies (prohibited content).","status":"INVALID_ARGUMENT"}}""";

    protected override string UnauthorizedBody(string key) =>
        $$$"""{"error":{"code":401,"message":"API key not valid: {{{key}}}. Please pass a valid API key.","status":"UNAUTHENTICATED"}}""";

    protected override string RateLimitedBody =>
        """{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}""";

    protected override string ServerErrorBody =>
        """{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}""";

    protected override string MalformedBody => """{"id":"v1_Chd""";

    /// <summary>The create body a job was submitted with.</summary>
    public JsonElement BodyOf(string jobId) => _bodies[jobId];

    protected override void MapRoutes(WebApplication app)
    {
        Tokens.Map(app, context => RecordAsync(context, FakeRequestKind.Other));

        app.MapPost("/v1beta/interactions", (Delegate)((HttpContext context) => CreateAsync(context, vertex: false)));
        app.MapGet("/v1beta/interactions/{id}", (HttpContext context, string id) => GetAsync(context, id, vertex: false));
        app.MapPost("/v1beta/interactions/{id}/cancel", (HttpContext context, string id) => CancelAsync(context, id, vertex: false));
        app.MapPost("/v1beta1/projects/{project}/locations/global/interactions", (Delegate)((HttpContext context) => CreateAsync(context, vertex: true)));
        app.MapGet("/v1beta1/projects/{project}/locations/global/interactions/{id}", (HttpContext context, string id) => GetAsync(context, id, vertex: true));
        app.MapPost("/v1beta1/projects/{project}/locations/global/interactions/{id}/cancel", (HttpContext context, string id) => CancelAsync(context, id, vertex: true));

        app.MapGet("/v1beta/files/{file}", async (HttpContext context, string file) =>
        {
            var download = file.EndsWith(":download", StringComparison.Ordinal);
            await RecordAsync(context, download ? FakeRequestKind.Download : FakeRequestKind.Other);
            var id = download ? file[..^":download".Length] : file;
            if (!KeyAccepted(context))
            {
                return Json(UnauthorizedBody(context.Request.Headers["x-goog-api-key"].ToString()), 401);
            }

            if (FindJob(id) is not { } job)
            {
                return Json("""{"error":{"code":404,"message":"File not found.","status":"NOT_FOUND"}}""", 404);
            }

            if (download)
            {
                // The bytes are redirected to storage, as the docs' "curl -L" implies.
                return Results.Redirect(Url($"/storage/{job.Id}.mp4"));
            }

            var state = _fileReads.AddOrUpdate(id, 1, (_, n) => n + 1) <= FileProcessingReads ? "PROCESSING" : "ACTIVE";
            return Json($$$"""{"name":"files/{{{id}}}","mimeType":"video/mp4","sizeBytes":"{{{Video.Length}}}","state":"{{{state}}}","uri":"{{{Url("/v1beta/files/" + id)}}}","source":"GENERATED"}""");
        });

        app.MapGet("/storage/{file}", async (HttpContext context, string file) =>
        {
            await RecordAsync(context, FakeRequestKind.Other);
            return ServeResult(FindJob(Path.GetFileNameWithoutExtension(file)), """{"error":{"code":404,"message":"Not found.","status":"NOT_FOUND"}}""");
        });

        app.MapGet("/storage/v1/b/{bucket}/o/{**name}", async (HttpContext context, string bucket, string name) =>
        {
            await RecordAsync(context, FakeRequestKind.Download);
            if (!Tokens.Accepts(context))
            {
                return Json("""{"error":{"code":401,"message":"Invalid Credentials"}}""", 401);
            }

            var id = Path.GetFileNameWithoutExtension(Uri.UnescapeDataString(name));
            return ServeResult(FindJob(id), """{"error":{"code":404,"message":"No such object."}}""");
        });
    }

    private bool KeyAccepted(HttpContext context) => context.Request.Headers["x-goog-api-key"].ToString().Length > 0 && Scenario != FakeScenario.Unauthorized;

    private bool Authorized(HttpContext context, bool vertex) => vertex ? Tokens.Accepts(context) && Scenario != FakeScenario.Unauthorized : KeyAccepted(context);

    private async Task<IResult> CreateAsync(HttpContext context, bool vertex)
    {
        var recorded = await RecordAsync(context, FakeRequestKind.Submit);
        if (!Authorized(context, vertex))
        {
            return Json(vertex ? """{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}"""
                : UnauthorizedBody(context.Request.Headers["x-goog-api-key"].ToString()), 401);
        }

        if (SubmitFailure(context) is { } failure)
        {
            return failure;
        }

        using var body = JsonDocument.Parse(recorded.Body);
        var model = body.RootElement.GetProperty("model").GetString();
        if (model is "gemini-omni-flash-preview")
        {
            return Json("""{"error":{"code":404,"message":"models/gemini-omni-flash-preview is not found for API version v1beta, or is no longer available.","status":"NOT_FOUND"}}""", 404);
        }

        var job = CreateJob("v1_" + Guid.NewGuid().ToString("N")[..20]);
        _bodies[job.Id] = body.RootElement.Clone();
        return Json($$$"""{"id":"{{{job.Id}}}","status":"in_progress","object":"interaction","model":"{{{model}}}","created":"2026-12-01T20:00:00Z"}""");
    }

    private async Task<IResult> GetAsync(HttpContext context, string id, bool vertex)
    {
        await RecordAsync(context, FakeRequestKind.Poll);
        if (!Authorized(context, vertex))
        {
            return Json("""{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}""", 401);
        }

        if (FindJob(id) is not { } job)
        {
            return Json("""{"error":{"code":404,"message":"Interaction not found.","status":"NOT_FOUND"}}""", 404);
        }

        var poll = job.NextPoll();
        var head = $$$"""{"id":"{{{id}}}","object":"interaction","model":"{{{_bodies[id].GetProperty("model").GetString()}}}","created":"2026-12-01T20:00:00Z","updated":"2026-12-01T20:00:24Z",""";
        var input = """{"type":"user_input","content":[{"type":"text","text":"(the prompt)"}]}""";
        if (IsCancelled(id))
        {
            return Json(head + $$$""" "status":"cancelled","steps":[{{{input}}}]}""");
        }

        if (job.Scenario == FakeScenario.RefuseAtPoll)
        {
            return Json(head + $$$""" "status":"completed","steps":[{{{input}}},{"type":"model_output","content":[{"type":"text","text":"I can't create that video because it may violate our safety policies."}]}]}""");
        }

        if (StillRunning(job, poll, SlowPolls, out _))
        {
            return Json(head + (poll == 1 ? "\"status\":\"queued\"}" : "\"status\":\"in_progress\"}"));
        }

        if (EndStatus is { } end)
        {
            return Json(head + $$$""" "status":"{{{end}}}","steps":[{{{input}}}],"errors":[{"code":"https://ai.google.dev/errors/{{{end}}}","message":"The interaction ended: {{{end}}}."}]}""");
        }

        var format = _bodies[id].GetProperty("response_format");
        var video = format.GetProperty("delivery").GetString() == "uri"
            ? vertex
                ? $$$"""{"type":"video","mime_type":"video/mp4","uri":"{{{format.GetProperty("gcs_uri").GetString()!.TrimEnd('/')}}}/{{{id}}}.mp4"}"""
                : $$$"""{"type":"video","mime_type":"video/mp4","uri":"{{{Url("/v1beta/files/" + id)}}}"}"""
            : $$$"""{"type":"video","mime_type":"video/mp4","data":"{{{Convert.ToBase64String(Video)}}}"}""";
        return Json(head + $$$"""
            "status":"completed","steps":[{{{input}}},{"type":"thought","signature":"EpYBCpMB"},{"type":"model_output","content":[{{{video}}}]}],
            "usage":{"total_input_tokens":12,"total_output_tokens":57939,"total_thought_tokens":0,"total_tokens":57951,
                     "output_tokens_by_modality":[{"modality":"video","tokens":57920},{"modality":"text","tokens":19}]}}
            """);
    }

    private async Task<IResult> CancelAsync(HttpContext context, string id, bool vertex)
    {
        await RecordAsync(context, FakeRequestKind.Cancel);
        if (!Authorized(context, vertex))
        {
            return Json("""{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}""", 401);
        }

        return MarkCancelled(id) || IsCancelled(id)
            ? Json($$$"""{"id":"{{{id}}}","status":"cancelled","object":"interaction"}""")
            : Json("""{"error":{"code":404,"message":"Interaction not found.","status":"NOT_FOUND"}}""", 404);
    }
}
