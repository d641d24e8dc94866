using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Reelay.Testing.Fakes;

/// <summary>Plays a ComfyUI server (<c>providers/comfyui.md</c>): /prompt, /queue, /history, /upload/image, /view.</summary>
public sealed class FakeComfyUiServer : FakeUpstreamServer
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _graphs = new();
    private int _number;

    /// <summary>Starts a fake on a free port.</summary>
    public static async Task<FakeComfyUiServer> StartNewAsync(CancellationToken cancellationToken)
    {
        var server = new FakeComfyUiServer();
        await server.StartAsync(cancellationToken);
        return server;
    }

    /// <summary>Images uploaded, by the name the fake gave them.</summary>
    public IReadOnlyDictionary<string, byte[]> Uploads => _uploads;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte[]> _uploads = new();

    /// <summary>The graph a prompt was queued with, as received.</summary>
    public JsonElement GraphOf(string promptId)
    {
        using var document = JsonDocument.Parse(_graphs[promptId]);
        return document.RootElement.GetProperty("prompt").Clone();
    }

    // ComfyUI has no content safety of its own; these bodies are what a proxy in front would say.
    protected override string ContentPolicyErrorBody => """{"error":{"type":"content_policy","message":"refused","details":"","extra_info":{}},"node_errors":{}}""";

    protected override string UnauthorizedBody(string key) => $$$"""{"error":"Unauthorized: bad token {{{key}}}"}""";

    protected override string RateLimitedBody => """{"error":"Too Many Requests"}""";

    protected override string ServerErrorBody => """{"error":{"type":"server_error","message":"Internal Server Error","details":"","extra_info":{}}}""";

    protected override string MalformedBody => """{"prompt_id":"6f1c1a6e-8a1b""";

    protected override void MapRoutes(WebApplication app)
    {
        app.MapPost("/prompt", async (HttpContext context) =>
        {
            var request = await RecordAsync(context, FakeRequestKind.Submit);
            if (SubmitFailure(context) is { } failure)
            {
                return failure;
            }

            if (request.Body.Contains("{{", StringComparison.Ordinal))
            {
                return Json("""{"error":{"type":"prompt_outputs_failed_validation","message":"Prompt outputs failed validation","details":"","extra_info":{}},"node_errors":{"55":{"errors":[{"type":"invalid_input_type","message":"Failed to convert an input value to a INT value","details":"width, {{width}}"}],"dependent_outputs":["58"],"class_type":"Wan22ImageToVideoLatent"}}}""", 400);
            }

            var id = JsonField(request.Body, "prompt_id") ?? Guid.NewGuid().ToString();
            var job = CreateJob(id);
            _graphs[id] = request.Body;
            var number = Interlocked.Increment(ref _number);
            return Json($$$"""{"prompt_id":"{{{job.Id}}}","number":{{{number}}},"node_errors":{}}""");
        });

        app.MapGet("/history/{id}", async (HttpContext context, string id) =>
        {
            await RecordAsync(context, FakeRequestKind.Poll);
            if (FindJob(id) is not { } job || IsCancelled(id))
            {
                return Json("{}");
            }

            var poll = job.NextPoll();
            if (job.Scenario == FakeScenario.RefuseAtPoll)
            {
                return Json($$$$$"""{"{{{{{id}}}}}":{"prompt":[1,"{{{{{id}}}}}",{},{},["58"]],"outputs":{},"status":{"status_str":"error","completed":false,"messages":[["execution_start",{"prompt_id":"{{{{{id}}}}}","timestamp":1732000000000}],["execution_error",{"prompt_id":"{{{{{id}}}}}","node_id":"3","node_type":"KSampler","executed":[],"exception_message":"CUDA out of memory","exception_type":"torch.OutOfMemoryError","traceback":[],"current_inputs":{},"current_outputs":{},"timestamp":1732000001000}]]}}}""");
            }

            return StillRunning(job, poll, SlowPolls, out _)
                ? Json("{}")
                : Json($$$$$"""{"{{{{{id}}}}}":{"prompt":[1,"{{{{{id}}}}}",{},{},["58"]],"outputs":{"58":{"images":[{"filename":"{{{{{id}}}}}_00001_.mp4","subfolder":"reelay","type":"output"}],"animated":[true]}},"status":{"status_str":"success","completed":true,"messages":[["execution_start",{"prompt_id":"{{{{{id}}}}}","timestamp":1732000000000}],["execution_success",{"prompt_id":"{{{{{id}}}}}","timestamp":1732000040000}]]},"meta":{"58":{"node_id":"58","display_node":"58","parent_node":null,"real_node_id":"58"}}}}""");
        });

        app.MapGet("/queue", async (HttpContext context) =>
        {
            await RecordAsync(context, FakeRequestKind.Other);
            var waiting = Jobs.Where(j => !IsCancelled(j.Id) && j.Scenario == FakeScenario.Slow && j.Polls <= SlowPolls).ToList();
            // A slow job is pending until its first poll, then running.
            var running = waiting.Where(j => j.Polls > 1).Select(Item);
            var pending = waiting.Where(j => j.Polls <= 1).Select(Item);
            return Json($$$"""{"queue_running":[{{{string.Join(",", running)}}}],"queue_pending":[{{{string.Join(",", pending)}}}]}""");
        });

        app.MapPost("/upload/image", async (HttpContext context) =>
        {
            var request = await RecordAsync(context, FakeRequestKind.Other);
            var file = request.Files.Single(f => f.Name == "image");
            _uploads[file.FileName] = file.Content;
            return Json($$$"""{"name":"{{{file.FileName}}}","subfolder":"","type":"{{{request.Form.GetValueOrDefault("type", "input")}}}"}""");
        });

        app.MapGet("/view", async (HttpContext context) =>
        {
            await RecordAsync(context, FakeRequestKind.Download);
            var name = context.Request.Query["filename"].ToString();
            var id = name.Replace("_00001_.mp4", "", StringComparison.Ordinal);
            return context.Request.Query["subfolder"] == "reelay" && context.Request.Query["type"] == "output"
                ? ServeResult(FindJob(id), "404: Not Found")
                : Results.StatusCode(404);
        });

        app.MapPost("/queue", async (HttpContext context) =>
        {
            var request = await RecordAsync(context, FakeRequestKind.Cancel);
            using var body = JsonDocument.Parse(request.Body);
            foreach (var id in body.RootElement.GetProperty("delete").EnumerateArray())
            {
                MarkCancelled(id.GetString()!);
            }

            return Results.Ok();
        });

        app.MapPost("/interrupt", async (HttpContext context) =>
        {
            await RecordAsync(context, FakeRequestKind.Cancel);
            return Results.Ok();
        });
    }

    private static string Item(FakeJob job) => $$$"""[1,"{{{job.Id}}}",{},{"client_id":"reelay"},["58"]]""";
}
