using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Reelay.Testing.Fakes;

/// <summary>
/// Plays a ComfyUI server (<c>providers/comfyui.md</c>): /prompt, /queue, /history, /upload/image, /view,
/// and, when <see cref="WebSocketEnabled"/>, the websocket <c>/ws?clientId=</c> with its events.
/// </summary>
/// <remarks>
/// Over the socket, a prompt queued by a connected client runs at once (start, progress, executed,
/// execution_success, then <c>executing</c> with <c>node: null</c>), except a <see cref="FakeScenario.Slow"/>
/// one, which waits for the test: <see cref="SendStartAsync"/>, <see cref="SendProgressAsync"/>,
/// <see cref="SendEndAsync"/>. Its history and queue then follow those events, not the poll count.
/// </remarks>
public sealed class FakeComfyUiServer : FakeUpstreamServer
{
    private readonly ConcurrentDictionary<string, string> _graphs = new();
    private readonly ConcurrentDictionary<string, SocketClient> _sockets = new(StringComparer.Ordinal);

    // Sockets whose handshake is under way: the client may POST /prompt as soon as its side of the
    // handshake completes, before this side has registered the socket; such a prompt is followed too.
    private readonly ConcurrentDictionary<string, TaskCompletionSource<SocketClient>> _accepting = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _clientOf = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _started = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _ended = new(StringComparer.Ordinal);
    private int _number;
    private int _socketConnections;

    /// <summary>Starts a fake on a free port; with <paramref name="webSocket"/> false its /ws answers 404, as behind a proxy without websockets.</summary>
    public static async Task<FakeComfyUiServer> StartNewAsync(CancellationToken cancellationToken, bool webSocket = false)
    {
        var server = new FakeComfyUiServer { WebSocketEnabled = webSocket };
        await server.StartAsync(cancellationToken);
        return server;
    }

    /// <summary>Whether /ws accepts websockets (otherwise 404).</summary>
    public bool WebSocketEnabled { get; set; }

    /// <summary>Websockets accepted so far.</summary>
    public int SocketConnections => _socketConnections;

    /// <summary>Client ids with a socket open now.</summary>
    public IReadOnlyCollection<string> ConnectedClients => [.. _sockets.Keys];

    /// <summary>Sends a followed prompt's start: <c>execution_start</c>, <c>execution_cached</c>, <c>executing</c> the sampler.</summary>
    public async Task SendStartAsync(string promptId)
    {
        _started[promptId] = true;
        await SendAsync(promptId, $$$"""{"type":"execution_start","data":{"prompt_id":"{{{promptId}}}","timestamp":1732000000000}}""");
        await SendAsync(promptId, $$$"""{"type":"execution_cached","data":{"nodes":["37","38","39"],"prompt_id":"{{{promptId}}}","timestamp":1732000000001}}""");
        await SendAsync(promptId, $$$"""{"type":"executing","data":{"node":"3","display_node":"3","prompt_id":"{{{promptId}}}"}}""");
    }

    /// <summary>Sends a <c>progress</c> of the sampler of a followed prompt.</summary>
    public Task SendProgressAsync(string promptId, int value, int max) =>
        SendAsync(promptId, $$$"""{"type":"progress","data":{"value":{{{value}}},"max":{{{max}}},"prompt_id":"{{{promptId}}}","node":"3"}}""");

    /// <summary>
    /// Ends a followed prompt as its scenario says (an execution error for <see cref="FakeScenario.RefuseAtPoll"/>),
    /// history written first, then <c>executing</c> with <c>node: null</c>, as ComfyUI's prompt worker does.
    /// </summary>
    public async Task SendEndAsync(string promptId)
    {
        _started[promptId] = true;
        if (FindJob(promptId)?.Scenario == FakeScenario.RefuseAtPoll)
        {
            await SendAsync(promptId, $$$"""{"type":"execution_error","data":{"prompt_id":"{{{promptId}}}","node_id":"3","node_type":"KSampler","executed":[],"exception_message":"CUDA out of memory","exception_type":"torch.OutOfMemoryError","traceback":["..."],"current_inputs":{},"current_outputs":{},"timestamp":1732000001000}}""");
        }
        else
        {
            await SendAsync(promptId, $$$"""{"type":"executed","data":{"node":"58","display_node":"58","output":{"images":[{"filename":"{{{promptId}}}_00001_.mp4","subfolder":"reelay","type":"output"}],"animated":[true]},"prompt_id":"{{{promptId}}}"}}""");
            await SendAsync(promptId, $$$"""{"type":"execution_success","data":{"prompt_id":"{{{promptId}}}","timestamp":1732000040000}}""");
        }

        _ended[promptId] = true;
        await SendAsync(promptId, $$$"""{"type":"executing","data":{"node":null,"prompt_id":"{{{promptId}}}"}}""");
        await SendAsync(promptId, """{"type":"status","data":{"status":{"exec_info":{"queue_remaining":0}}}}""");
    }

    /// <summary>Sends a raw text frame to the socket that queued the prompt (a garbled one, in tests).</summary>
    public async Task SendAsync(string promptId, string frame)
    {
        if (!_clientOf.TryGetValue(promptId, out var clientId))
        {
            return;
        }

        if (_sockets.TryGetValue(clientId, out var client))
        {
            await client.SendAsync(frame);
        }
        else if (_accepting.TryGetValue(clientId, out var accepting))
        {
            await (await accepting.Task.WaitAsync(TimeSpan.FromSeconds(10))).SendAsync(frame);
        }
    }

    /// <summary>Drops every open socket without a close handshake, as a restarting proxy or a network cut does.</summary>
    public void DropSockets()
    {
        foreach (var client in _sockets.Values)
        {
            client.Socket.Abort();
        }
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
        app.UseWebSockets();
        app.Map("/ws", AcceptSocketAsync);

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
            if (JsonField(request.Body, "client_id") is { } clientId && (_sockets.ContainsKey(clientId) || _accepting.ContainsKey(clientId)))
            {
                // Followed over the socket: history and queue follow its events from now on.
                _clientOf[id] = clientId;
                if (job.Scenario != FakeScenario.Slow)
                {
                    context.Response.OnCompleted(() => RunAsync(id));
                }
            }

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
            if (job.Scenario == FakeScenario.RefuseAtPoll && (!_clientOf.ContainsKey(id) || _ended.ContainsKey(id)))
            {
                return Json($$$$$"""{"{{{{{id}}}}}":{"prompt":[1,"{{{{{id}}}}}",{},{},["58"]],"outputs":{},"status":{"status_str":"error","completed":false,"messages":[["execution_start",{"prompt_id":"{{{{{id}}}}}","timestamp":1732000000000}],["execution_error",{"prompt_id":"{{{{{id}}}}}","node_id":"3","node_type":"KSampler","executed":[],"exception_message":"CUDA out of memory","exception_type":"torch.OutOfMemoryError","traceback":[],"current_inputs":{},"current_outputs":{},"timestamp":1732000001000}]]}}}""");
            }

            var running = _clientOf.ContainsKey(id) ? !_ended.ContainsKey(id) : StillRunning(job, poll, SlowPolls, out _);
            return running
                ? Json("{}")
                : Json($$$$$"""{"{{{{{id}}}}}":{"prompt":[1,"{{{{{id}}}}}",{},{},["58"]],"outputs":{"58":{"images":[{"filename":"{{{{{id}}}}}_00001_.mp4","subfolder":"reelay","type":"output"}],"animated":[true]}},"status":{"status_str":"success","completed":true,"messages":[["execution_start",{"prompt_id":"{{{{{id}}}}}","timestamp":1732000000000}],["execution_success",{"prompt_id":"{{{{{id}}}}}","timestamp":1732000040000}]]},"meta":{"58":{"node_id":"58","display_node":"58","parent_node":null,"real_node_id":"58"}}}}""");
        });

        app.MapGet("/queue", async (HttpContext context) =>
        {
            await RecordAsync(context, FakeRequestKind.Other);
            var waiting = Jobs.Where(j => !IsCancelled(j.Id) && (_clientOf.ContainsKey(j.Id) ? !_ended.ContainsKey(j.Id) : j.Scenario == FakeScenario.Slow && j.Polls <= SlowPolls)).ToList();
            // A slow job is pending until its first poll, then running; a followed one until its start is sent.
            var running = waiting.Where(j => _clientOf.ContainsKey(j.Id) ? _started.ContainsKey(j.Id) : j.Polls > 1).Select(Item);
            var pending = waiting.Where(j => _clientOf.ContainsKey(j.Id) ? !_started.ContainsKey(j.Id) : j.Polls <= 1).Select(Item);
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

    /// <summary>A prompt of a connected client runs to its end at once.</summary>
    private async Task RunAsync(string promptId)
    {
        await SendAsync(promptId, """{"type":"status","data":{"status":{"exec_info":{"queue_remaining":1}}}}""");
        await SendStartAsync(promptId);
        await SendProgressAsync(promptId, 10, 20);
        await SendProgressAsync(promptId, 20, 20);
        await SendEndAsync(promptId);
    }

    private async Task AcceptSocketAsync(HttpContext context)
    {
        if (!WebSocketEnabled || !context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = 404;
            return;
        }

        var clientId = context.Request.Query["clientId"].ToString();
        clientId = string.IsNullOrEmpty(clientId) ? Guid.NewGuid().ToString("N") : clientId;
        var accepting = new TaskCompletionSource<SocketClient>(TaskCreationOptions.RunContinuationsAsynchronously);
        _accepting[clientId] = accepting;
        WebSocket socket;
        try
        {
            socket = await context.WebSockets.AcceptWebSocketAsync();
        }
        catch
        {
            _accepting.TryRemove(new KeyValuePair<string, TaskCompletionSource<SocketClient>>(clientId, accepting));
            accepting.TrySetCanceled();
            throw;
        }

        using var accepted = socket;
        var client = new SocketClient(socket);
        // ComfyUI keeps one socket per client id: a reconnect with the same id takes its prompts' events.
        _sockets[clientId] = client;
        accepting.TrySetResult(client);
        _accepting.TryRemove(new KeyValuePair<string, TaskCompletionSource<SocketClient>>(clientId, accepting));
        Interlocked.Increment(ref _socketConnections);
        try
        {
            await client.SendAsync($$$"""{"type":"status","data":{"status":{"exec_info":{"queue_remaining":0}},"sid":"{{{clientId}}}"}}""");
            var buffer = new byte[1024];
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer, context.RequestAborted);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    break;
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
            // Dropped, by the test or by the client.
        }
        finally
        {
            _sockets.TryRemove(new KeyValuePair<string, SocketClient>(clientId, client));
        }
    }

    /// <summary>One accepted socket; sends one frame at a time, as a websocket requires.</summary>
    private sealed class SocketClient(WebSocket socket)
    {
        private readonly SemaphoreSlim _sending = new(1, 1);

        public WebSocket Socket { get; } = socket;

        public async Task SendAsync(string frame)
        {
            await _sending.WaitAsync();
            try
            {
                await Socket.SendAsync(Encoding.UTF8.GetBytes(frame), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
            }
            catch (Exception e) when (e is WebSocketException or ObjectDisposedException or InvalidOperationException)
            {
                // The socket is gone: the event is lost, as on a real network.
            }
            finally
            {
                _sending.Release();
            }
        }
    }

    private static string Item(FakeJob job) => $$$"""[1,"{{{job.Id}}}",{},{"client_id":"reelay"},["58"]]""";
}
