using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Reelay.Testing.Fakes;

/// <summary>Plays Veo on the Gemini API (<c>providers/google-veo.md</c>): predictLongRunning, operations, files.</summary>
public sealed class FakeVeoServer : FakeUpstreamServer
{
    private const string PredictSuffix = ":predictLongRunning";
    private const string DownloadSuffix = ":download";

    /// <summary>Starts a fake on a free port.</summary>
    public static async Task<FakeVeoServer> StartNewAsync(CancellationToken cancellationToken)
    {
        var server = new FakeVeoServer();
        await server.StartAsync(cancellationToken);
        return server;
    }

    protected override string ContentPolicyErrorBody =>
        """{"error":{"code":400,"message":"The prompt could not be submitted. This prompt contains words that violate Gemini API's usage guidelines.","status":"INVALID_ARGUMENT"}}""";

    protected override string UnauthorizedBody(string key) =>
        $$$"""{"error":{"code":401,"message":"API key not valid: {{{key}}}. Please pass a valid API key.","status":"UNAUTHENTICATED"}}""";

    protected override string RateLimitedBody =>
        """{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}""";

    protected override string ServerErrorBody =>
        """{"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}""";

    protected override string MalformedBody => """{"name":"models/veo-3.1-generate-preview/operations/""";

    protected override void MapRoutes(WebApplication app)
    {
        // "{model}:predictLongRunning" is one path segment; a catch-all keeps the colon out of route syntax.
        app.MapPost("/v1beta/models/{**rest}", async (HttpContext context, string rest) =>
        {
            await RecordAsync(context, FakeRequestKind.Submit);
            if (!rest.EndsWith(PredictSuffix, StringComparison.Ordinal))
            {
                return Json("""{"error":{"code":404,"message":"Method not found.","status":"NOT_FOUND"}}""", 404);
            }

            if (SubmitFailure(context) is { } failure)
            {
                return failure;
            }

            var model = rest[..^PredictSuffix.Length];
            var job = CreateJob(Guid.NewGuid().ToString("N")[..12]);
            return Json($$$"""{"name":"models/{{{model}}}/operations/{{{job.Id}}}"}""");
        });

        app.MapGet("/v1beta/models/{model}/operations/{id}", async (HttpContext context, string model, string id) =>
        {
            await RecordAsync(context, FakeRequestKind.Poll);
            if (FindJob(id) is not { } job)
            {
                return Json("""{"error":{"code":404,"message":"Operation not found.","status":"NOT_FOUND"}}""", 404);
            }

            var name = $"models/{model}/operations/{id}";
            var poll = job.NextPoll();
            if (job.Scenario == FakeScenario.RefuseAtPoll)
            {
                return Json($$$"""
                    {"name":"{{{name}}}","done":true,"response":{"@type":"type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
                     "generateVideoResponse":{"raiMediaFilteredCount":1,"raiMediaFilteredReasons":["We encountered an issue with the audio for your prompt. Please try rephrasing it."]} }}
                    """);
            }

            if (StillRunning(job, poll, SlowPolls, out _))
            {
                return poll == 1 ? Json($$$"""{"name":"{{{name}}}"}""") : Json($$$"""{"name":"{{{name}}}","done":false,"metadata":{}}""");
            }

            var uri = Url($"/v1beta/files/{job.Id}{DownloadSuffix}?alt=media");
            return Json($$$"""
                {"name":"{{{name}}}","done":true,"response":{"@type":"type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
                 "generateVideoResponse":{"generatedSamples":[{"video":{"uri":"{{{uri}}}"}}]} }}
                """);
        });

        // The file URI redirects to storage, as the docs' "curl -L" implies.
        app.MapGet("/v1beta/files/{file}", async (HttpContext context, string file) =>
        {
            await RecordAsync(context, FakeRequestKind.Download);
            var id = file.EndsWith(DownloadSuffix, StringComparison.Ordinal) ? file[..^DownloadSuffix.Length] : file;
            if (FindJob(id) is not { Scenario: not FakeScenario.ResultNotFound } job)
            {
                return Json("""{"error":{"code":404,"message":"File not found.","status":"NOT_FOUND"}}""", 404);
            }

            return Results.Redirect(Url($"/storage/{job.Id}.mp4"));
        });

        app.MapGet("/storage/{file}", async (HttpContext context, string file) =>
        {
            await RecordAsync(context, FakeRequestKind.Other);
            return ServeResult(FindJob(Path.GetFileNameWithoutExtension(file)), """{"error":{"code":404,"message":"Not found.","status":"NOT_FOUND"}}""");
        });
    }
}
