using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Reelay.Testing.Fakes;

/// <summary>
/// Plays Veo on Vertex AI (providers/google-omni.md §9) and what it needs around it on one origin:
/// Google's token endpoint (<c>/token</c>, see <see cref="FakeGoogleTokens"/>), <c>:predictLongRunning</c>
/// and <c>:fetchPredictOperation</c> under <c>/v1/projects/{p}/locations/{l}/publishers/google/models/</c>,
/// and the Cloud Storage JSON API download (<c>/storage/v1/b/{bucket}/o/{object}?alt=media</c>). Every
/// API call needs a bearer token the token endpoint handed out.
/// </summary>
public sealed class FakeVertexVeoServer : FakeUpstreamServer
{
    private const string PredictSuffix = ":predictLongRunning";
    private const string FetchSuffix = ":fetchPredictOperation";
    private readonly ConcurrentDictionary<string, string?> _storageUris = new();
    private readonly ConcurrentDictionary<string, string> _objects = new();

    /// <summary>The token endpoint on this origin.</summary>
    public FakeGoogleTokens Tokens { get; } = new();

    /// <summary>Model ids answered 404 "is no longer available" (as Google answers a shut-down id).</summary>
    public ISet<string> RetiredModels { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>The <c>/token</c> URL a test key names as its <c>token_uri</c>.</summary>
    public Uri TokenUri => new(BaseUrl, "/token");

    public static async Task<FakeVertexVeoServer> StartNewAsync(CancellationToken cancellationToken)
    {
        var server = new FakeVertexVeoServer();
        await server.StartAsync(cancellationToken);
        return server;
    }

    protected override string ContentPolicyErrorBody =>
        """{"error":{"code":400,"message":"The prompt could not be submitted. This prompt contains sensitive words that violate Google's Responsible AI practices. Try rephrasing the prompt. If you think this was an error, send feedback. Support codes: 58061214","status":"INVALID_ARGUMENT"}}""";

    // Google's 401 does not echo the token.
    protected override string UnauthorizedBody(string key) =>
        """{"error":{"code":401,"message":"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.","status":"UNAUTHENTICATED"}}""";

    protected override string RateLimitedBody =>
        """{"error":{"code":429,"message":"Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model with base model: veo-3.1-generate-001. Please submit a quota increase request.","status":"RESOURCE_EXHAUSTED"}}""";

    protected override string ServerErrorBody =>
        """{"error":{"code":500,"message":"Internal error encountered.","status":"INTERNAL"}}""";

    protected override string MalformedBody => """{"name":"projects/reelay-test/locations/us-central1/publishers/google/models/veo-3.1-generate-001/operations/""";

    /// <summary>The <c>storageUri</c> a job was submitted with, or null.</summary>
    public string? StorageUriOf(string jobId) => _storageUris.GetValueOrDefault(jobId);

    protected override void MapRoutes(WebApplication app)
    {
        Tokens.Map(app, context => RecordAsync(context, FakeRequestKind.Other));

        // "{model}:predictLongRunning" is one path segment; a catch-all keeps the colon out of route syntax.
        app.MapPost("/v1/projects/{project}/locations/{location}/publishers/google/models/{**rest}", async (HttpContext context, string project, string location, string rest) =>
        {
            var fetch = rest.EndsWith(FetchSuffix, StringComparison.Ordinal);
            var recorded = await RecordAsync(context, fetch ? FakeRequestKind.Poll : FakeRequestKind.Submit);
            if (!Tokens.Accepts(context) || (!fetch && Scenario == FakeScenario.Unauthorized))
            {
                return Json(UnauthorizedBody(""), 401);
            }

            if (fetch)
            {
                return Fetch(project, location, rest[..^FetchSuffix.Length], recorded.Body);
            }

            if (!rest.EndsWith(PredictSuffix, StringComparison.Ordinal))
            {
                return Json("""{"error":{"code":404,"message":"Method not found.","status":"NOT_FOUND"}}""", 404);
            }

            var model = rest[..^PredictSuffix.Length];
            if (RetiredModels.Contains(model))
            {
                return Json($$$"""{"error":{"code":404,"message":"Publisher Model `projects/{{{project}}}/locations/{{{location}}}/publishers/google/models/{{{model}}}` is no longer available. Please migrate to veo-3.1-generate-001.","status":"NOT_FOUND"}}""", 404);
            }

            if (SubmitFailure(context) is { } failure)
            {
                return failure;
            }

            var job = CreateJob(Guid.NewGuid().ToString("N")[..16]);
            using (var body = JsonDocument.Parse(recorded.Body))
            {
                var parameters = body.RootElement.GetProperty("parameters");
                _storageUris[job.Id] = parameters.TryGetProperty("storageUri", out var uri) ? uri.GetString() : null;
            }

            return Json($$$"""{"name":"projects/{{{project}}}/locations/{{{location}}}/publishers/google/models/{{{model}}}/operations/{{{job.Id}}}"}""");
        });

        app.MapGet("/storage/v1/b/{bucket}/o/{**name}", async (HttpContext context, string bucket, string name) =>
        {
            await RecordAsync(context, FakeRequestKind.Download);
            if (!Tokens.Accepts(context))
            {
                return Json("""{"error":{"code":401,"message":"Invalid Credentials","errors":[{"message":"Invalid Credentials","domain":"global","reason":"authError"}]}}""", 401);
            }

            if (context.Request.Query["alt"] != "media")
            {
                return Json($$$"""{"kind":"storage#object","bucket":"{{{bucket}}}","name":"{{{name}}}","contentType":"video/mp4"}""");
            }

            return ServeResult(_objects.TryGetValue($"gs://{bucket}/{Uri.UnescapeDataString(name)}", out var id) ? FindJob(id) : null,
                """{"error":{"code":404,"message":"No such object.","errors":[{"message":"No such object.","domain":"global","reason":"notFound"}]}}""");
        });
    }

    private IResult Fetch(string project, string location, string model, string body)
    {
        var operationName = JsonField(body, "operationName") ?? "";
        var id = operationName[(operationName.LastIndexOf('/') + 1)..];
        if (!operationName.StartsWith($"projects/{project}/locations/{location}/publishers/google/models/{model}/operations/", StringComparison.Ordinal)
            || FindJob(id) is not { } job)
        {
            return Json("""{"error":{"code":404,"message":"The operation does not exist.","status":"NOT_FOUND"}}""", 404);
        }

        var poll = job.NextPoll();
        if (job.Scenario == FakeScenario.RefuseAtPoll)
        {
            return Json($$$"""
                {"name":"{{{operationName}}}","done":true,"response":{"@type":"type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse",
                 "raiMediaFilteredCount":1,"raiMediaFilteredReasons":["Unable to show generated videos because they may violate Google's Responsible AI practices. Support codes: 39322892"]}}
                """);
        }

        if (StillRunning(job, poll, SlowPolls, out _))
        {
            return Json(poll == 1 ? $$$"""{"name":"{{{operationName}}}"}""" : $$$"""{"name":"{{{operationName}}}","done":false}""");
        }

        var video = StorageUriOf(job.Id) is { } storage
            ? $$$"""{"gcsUri":"{{{GcsUriFor(job, storage)}}}","mimeType":"video/mp4"}"""
            : $$$"""{"bytesBase64Encoded":"{{{Convert.ToBase64String(Video)}}}","mimeType":"video/mp4"}""";
        return Json($$$"""
            {"name":"{{{operationName}}}","done":true,"response":{"@type":"type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse",
             "raiMediaFilteredCount":0,"videos":[{{{video}}}]}}
            """);
    }

    private string GcsUriFor(FakeJob job, string storageUri)
    {
        var uri = storageUri.TrimEnd('/') + "/" + job.Id + "/sample_0.mp4";
        _objects[uri] = job.Id;
        return uri;
    }
}
