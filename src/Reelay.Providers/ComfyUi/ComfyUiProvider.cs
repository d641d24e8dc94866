using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Reelay.Providers.Http;

namespace Reelay.Providers.ComfyUi;

/// <summary>
/// A self-hosted ComfyUI server: an API-format workflow (the catalog's <c>workflow</c> option) with
/// <c>{{placeholders}}</c> filled from the request, images uploaded with <c>POST /upload/image</c>,
/// queued with <c>POST /prompt</c>, followed over the server's websocket (<see cref="ComfyUiSockets"/>)
/// and, where that is closed or does not know the prompt, through <c>/history/{prompt_id}</c> and
/// <c>/queue</c>; the saved video read through <c>/view</c>.
/// </summary>
internal sealed partial class ComfyUiProvider(UpstreamClient upstream, TimeProvider time, IOptions<UpstreamHttpOptions> http, ILogger<ComfyUiProvider> logger)
    : IVideoProvider, IAsyncDisposable
{
    // A self-hosted server has no public endpoint: every channel names its base URL. No auth is built
    // in; a key, if the channel has one, goes as a bearer token to the proxy in front.
    private static readonly UpstreamApi Api = new(DefaultBaseUrl: null, UpstreamAuth.Bearer);

    /// <summary>Catalog option: the workflow, a built-in name (<c>wan2.2-ti2v-5b-t2v</c>) or the path of an API-format JSON file.</summary>
    public const string WorkflowOption = "workflow";

    /// <summary>Catalog option: frames per second the workflow renders at (<c>{{fps}}</c>, and frames = seconds × fps). Default 24 (Wan 2.2 5B).</summary>
    public const string FpsOption = "fps";

    /// <summary>Catalog option: the model's frame-count step; frames are a multiple of it plus one (Wan: 4, LTX: 8). Default 4.</summary>
    public const string FrameStepOption = "frame_step";

    /// <summary>Catalog option: width and height are rounded to a multiple of this (Wan 2.2 5B latent: 32; Wan i2v: 16). Default 32.</summary>
    public const string SizeStepOption = "size_step";

    private const string BuiltInPrefix = "Reelay.ComfyUi.";
    private static readonly string[] VideoExtensions = [".mp4", ".webm", ".mov", ".mkv"];
    private readonly ConcurrentDictionary<string, (DateTime Written, string Text)> _workflows = new(StringComparer.Ordinal);
    private readonly ComfyUiSockets _sockets = new(time, http.Value.ConnectTimeout, logger);

    // A prompt the socket says is queued or running is answered from its state, without a request;
    // this often the history is read anyway, in case the socket missed the prompt's end.
    private static readonly TimeSpan HistoryCheckInterval = TimeSpan.FromSeconds(60);

    public string Name => ProviderNames.ComfyUi;

    // One start image in the shipped workflows; a workflow of one's own can take an end image too.
    // Cancel: delete a pending prompt, interrupt a running one. A model only a channel names needs
    // a workflow option, so it is only listed with a catalog entry; its defaults are Wan 2.2 5B's.
    // The websocket reports when a prompt starts and ends (Changes): a queued prompt waits unpolled.
    // ComfyUI has no content safety: a failed prompt failed in a node (execution_error).
    public ProviderCapabilities Capabilities { get; } = new(MaxImages: 2, SupportsCancel: true)
    {
        PushesChanges = true,
        ModeratesJobs = false,
        PollInterval = TimeSpan.FromSeconds(3),
        DefaultModel = new(["16:9", "9:16", "1:1"], ["720P", "480P"], [], 1, 10, DefaultDuration: 5, MaxImages: 1),
    };

    // CheckRender keeps the default: the workflow renders whatever size and length it is given.
    public async Task<SubmitResult> SubmitAsync(VideoJobRequest request, ChannelSettings channel, CancellationToken cancellationToken)
    {
        var workflow = LoadWorkflow(request);
        var images = new List<string>();
        foreach (var image in request.Images)
        {
            images.Add(await UploadAsync(image, request.TaskId, images.Count, channel, cancellationToken));
        }

        var graph = Fill(workflow, request, images);
        // A prompt id of our own (a UUID derived from the task id): the job is found by it without
        // waiting for the answer, and a repeated submission names the same prompt.
        var promptId = PromptIdFor(request.TaskId);

        // The socket first: the server sends a prompt's events only to the socket its client_id names,
        // from the moment it is queued. Without one the prompt is followed through /history.
        var baseUrl = Api.BaseUrl(channel);
        await _sockets.ConnectAsync(channel, baseUrl, cancellationToken);
        using var message = Api.Request(HttpMethod.Post, channel, "/prompt",
            JsonContent.Create(new ComfyPromptRequest(graph, _sockets.ClientId, promptId), ComfyJsonContext.Default.ComfyPromptRequest));
        LogSubmitting(logger, channel.Name, request.TaskId, request.Model);

        var reply = await upstream.SendAsync(message, channel, Refine, cancellationToken);
        var queued = UpstreamClient.ReadJson(reply.Body, ComfyJsonContext.Default.ComfyPromptResponse, channel);
        var id = string.IsNullOrEmpty(queued?.PromptId) ? null : queued.PromptId;
        if (id is null)
        {
            throw UpstreamFailures.Malformed(channel, detail: "no prompt_id");
        }

        LogSubmitted(logger, channel.Name, request.TaskId, id);
        _sockets.Follow(channel, baseUrl, new UpstreamJob(id, request.TaskId, request.Model));
        return new SubmitResult(id, reply.Body);
    }

    /// <summary>Prompts that started or ended, as the websocket reported them, and those a dropped socket was following.</summary>
    public System.Threading.Channels.ChannelReader<UpstreamJob> Changes => _sockets.Changes;

    public async Task<PollResult> PollAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken)
    {
        // A socket that dropped is opened again here; prompts queued before then are followed over HTTP.
        var baseUrl = Api.BaseUrl(channel);
        await _sockets.ConnectAsync(channel, baseUrl, cancellationToken);
        var state = _sockets.StateOf(channel, baseUrl, job);
        var fresh = state is not null && time.GetUtcNow().ToUnixTimeMilliseconds() - state.CheckedAt < HistoryCheckInterval.TotalMilliseconds;
        if (fresh && state!.Phase == PromptPhase.Queued)
        {
            return new PollResult(UpstreamState.Queued) { Raw = state.LastEvent };
        }

        if (fresh && state!.Phase == PromptPhase.Running)
        {
            return new PollResult(UpstreamState.Running) { Progress = state.Progress, Raw = state.LastEvent };
        }

        var id = Uri.EscapeDataString(job.UpstreamId);
        using (var message = Api.Request(HttpMethod.Get, channel, "/history/" + id))
        {
            var reply = await upstream.SendAsync(message, channel, cancellationToken);
            var history = UpstreamClient.ReadJson(reply.Body, ComfyJsonContext.Default.DictionaryStringComfyHistoryEntry, channel);
            if (history?.GetValueOrDefault(job.UpstreamId) is { } entry)
            {
                var result = FromEntry(entry, reply.Body, channel);
                if (result.State is UpstreamState.Succeeded or UpstreamState.Failed)
                {
                    _sockets.Forget(channel, baseUrl, job.UpstreamId);
                }

                return result;
            }
        }

        _sockets.Checked(channel, baseUrl, job.UpstreamId);
        if (state is { Phase: PromptPhase.Ended, Error: { } error })
        {
            // Ended with an error the socket saw, but the history no longer has it (cleared by hand).
            _sockets.Forget(channel, baseUrl, job.UpstreamId);
            return new PollResult(UpstreamState.Failed)
            {
                Error = new UpstreamError(state.Interrupted ? TaskErrors.Cancelled : TaskErrors.UpstreamError, UpstreamFailures.Redact(UpstreamFailures.Truncate(error), channel)),
                Raw = state.LastEvent,
            };
        }

        // Not in the history yet: queued, running, or unknown (queue and history live in memory and
        // a restart loses them).
        using var queueMessage = Api.Request(HttpMethod.Get, channel, "/queue");
        var queueReply = await upstream.SendAsync(queueMessage, channel, cancellationToken);
        var queue = UpstreamClient.ReadJson(queueReply.Body, ComfyJsonContext.Default.ComfyQueue, channel);
        if (Contains(queue?.QueueRunning, job.UpstreamId))
        {
            return new PollResult(UpstreamState.Running) { Raw = queueReply.Body };
        }

        if (Contains(queue?.QueuePending, job.UpstreamId))
        {
            // Queued is said only while a socket follows the prompt and will report its start: the
            // engine leaves a queued prompt unpolled until then. Otherwise it must keep polling.
            return new PollResult(state is null ? UpstreamState.Running : UpstreamState.Queued) { Raw = queueReply.Body };
        }

        throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.UpstreamLost,
            $"The ComfyUI server of channel '{channel.Name}' knows no prompt {job.UpstreamId} (neither queued nor in its history: was it restarted?).");
    }

    public Task<ResultContent> OpenResultAsync(UpstreamJob job, string resultLocation, ChannelSettings channel, CancellationToken cancellationToken)
    {
        // The location is the /view path and query of the saved file, on the channel's own server.
        var url = UpstreamClient.Combine(Api.BaseUrl(channel), resultLocation);
        return upstream.OpenAsync(url, Api.BaseUrl(channel), m => Api.Authorize(m, channel), channel, cancellationToken);
    }

    /// <summary>Removes the prompt if it is still pending, then interrupts it if it is the one running.</summary>
    public async Task CancelAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken)
    {
        using (var delete = Api.Request(HttpMethod.Post, channel, "/queue",
            JsonContent.Create(new ComfyQueueDelete([job.UpstreamId]), ComfyJsonContext.Default.ComfyQueueDelete)))
        {
            await upstream.SendAsync(delete, channel, cancellationToken);
        }

        // With a prompt id, /interrupt stops only that prompt, never another task's.
        using var interrupt = Api.Request(HttpMethod.Post, channel, "/interrupt",
            JsonContent.Create(new ComfyInterrupt(job.UpstreamId), ComfyJsonContext.Default.ComfyInterrupt));
        await upstream.SendAsync(interrupt, channel, cancellationToken);
    }

    public ValueTask DisposeAsync() => _sockets.DisposeAsync();

    [LoggerMessage(Level = LogLevel.Debug, Message = "Submitting task {TaskId} to ComfyUI channel {Channel} as {Model}")]
    private static partial void LogSubmitting(ILogger logger, string channel, string taskId, string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "ComfyUI channel {Channel} accepted task {TaskId} as prompt {PromptId}")]
    private static partial void LogSubmitted(ILogger logger, string channel, string taskId, string promptId);

    /// <summary>A canonical lower-case UUID from the task id (recent builds require that form).</summary>
    internal static string PromptIdFor(string taskId)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(taskId)).AsSpan(0, 16).ToArray();
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash, bigEndian: true).ToString("D");
    }

    /// <summary>The workflow text: a built-in by name, else a file (re-read when it changes on disk).</summary>
    private string LoadWorkflow(VideoJobRequest request)
    {
        if (!request.Options.TryGetValue(WorkflowOption, out var name) || string.IsNullOrWhiteSpace(name))
        {
            throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.ChannelMisconfigured,
                $"Model '{request.Model}' has no '{WorkflowOption}' option: a ComfyUI model needs an API-format workflow (a built-in name or a file path) in its catalog entry.");
        }

        if (!name.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            using var stream = typeof(ComfyUiProvider).Assembly.GetManifestResourceStream(BuiltInPrefix + name + ".json")
                ?? throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.ChannelMisconfigured,
                    $"There is no built-in ComfyUI workflow '{name}'; name a .json file in API format instead.");
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }

        var path = Path.GetFullPath(name, AppContext.BaseDirectory);
        if (!File.Exists(path))
        {
            throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.ChannelMisconfigured, $"The ComfyUI workflow file '{path}' does not exist.");
        }

        var written = File.GetLastWriteTimeUtc(path);
        if (!_workflows.TryGetValue(path, out var cached) || cached.Written != written)
        {
            cached = (written, File.ReadAllText(path));
            _workflows[path] = cached;
        }

        return cached.Text;
    }

    /// <summary>
    /// Fills the placeholders: a string that is exactly <c>{{name}}</c> becomes the value with its type
    /// (numbers stay numbers), one that contains it gets the text. Names: prompt, negative_prompt,
    /// seed, width, height, frames, fps, duration, image, end_image, filename_prefix.
    /// </summary>
    private static JsonObject Fill(string workflow, VideoJobRequest request, List<string> images)
    {
        var fps = Number(request, FpsOption, 24);
        var step = Math.Max(1, Number(request, FrameStepOption, 4));
        var sizeStep = Math.Max(1, Number(request, SizeStepOption, 32));
        var values = new Dictionary<string, JsonNode?>(StringComparer.Ordinal)
        {
            ["prompt"] = request.Prompt,
            ["negative_prompt"] = request.NegativePrompt ?? "",
            // Seeds are the client's, else random: API format has no "randomize after generate".
            ["seed"] = request.Seed ?? Random.Shared.NextInt64(0, 1L << 48),
            ["width"] = RoundTo(request.Width, sizeStep),
            ["height"] = RoundTo(request.Height, sizeStep),
            // Video models count frames in steps plus one (Wan: 4k+1, 81 ≈ 5 s at 16 fps).
            ["frames"] = (int)Math.Round(request.DurationSeconds * fps / (double)step) * step + 1,
            ["fps"] = fps,
            ["duration"] = request.DurationSeconds,
            ["image"] = images.Count > 0 ? images[0] : null,
            ["end_image"] = images.Count > 1 ? images[1] : null,
            ["filename_prefix"] = "reelay/" + string.Concat(request.TaskId.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_')),
        };

        JsonObject graph;
        try
        {
            graph = JsonNode.Parse(workflow)?.AsObject() ?? throw new JsonException("empty");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.ChannelMisconfigured, $"The ComfyUI workflow is not an API-format JSON object: {e.Message}");
        }

        Replace(graph, values, request);
        return graph;
    }

    private static void Replace(JsonNode node, Dictionary<string, JsonNode?> values, VideoJobRequest request)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, child) in obj.ToList())
                {
                    if (child is JsonValue value && value.TryGetValue<string>(out var text) && text.Contains("{{", StringComparison.Ordinal))
                    {
                        obj[key] = Substitute(text, values, request);
                    }
                    else if (child is not null)
                    {
                        Replace(child, values, request);
                    }
                }

                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    if (array[i] is JsonValue value && value.TryGetValue<string>(out var text) && text.Contains("{{", StringComparison.Ordinal))
                    {
                        array[i] = Substitute(text, values, request);
                    }
                    else if (array[i] is { } child)
                    {
                        Replace(child, values, request);
                    }
                }

                break;
        }
    }

    private static JsonNode? Substitute(string text, Dictionary<string, JsonNode?> values, VideoJobRequest request)
    {
        var trimmed = text.Trim();
        if (trimmed.StartsWith("{{", StringComparison.Ordinal) && trimmed.EndsWith("}}", StringComparison.Ordinal) && trimmed.IndexOf("{{", 2, StringComparison.Ordinal) < 0)
        {
            return Value(trimmed[2..^2].Trim(), values, request)?.DeepClone();
        }

        var result = new StringBuilder(text);
        foreach (var (name, value) in values)
        {
            result.Replace("{{" + name + "}}", value?.ToString() ?? "");
        }

        return result.ToString();
    }

    private static JsonNode? Value(string name, Dictionary<string, JsonNode?> values, VideoJobRequest request)
    {
        if (!values.TryGetValue(name, out var value))
        {
            throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.ChannelMisconfigured,
                $"The ComfyUI workflow of '{request.Model}' has an unknown placeholder {{{{{name}}}}} (known: {string.Join(", ", values.Keys)}).");
        }

        return value ?? throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.InvalidArgument,
            $"The ComfyUI workflow of '{request.Model}' needs {{{{{name}}}}}, which this request does not have (send {(name == "end_image" ? "two images" : "an image")}).");
    }

    private static int RoundTo(int value, int step) => Math.Max(step, (int)Math.Round(value / (double)step) * step);

    private static int Number(VideoJobRequest request, string option, int fallback) =>
        request.Options.TryGetValue(option, out var text) && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;

    /// <summary>Uploads one image as <c>input</c>; the returned name (with its subfolder) is what LoadImage takes.</summary>
    private async Task<string> UploadAsync(ReferenceImage image, string taskId, int index, ChannelSettings channel, CancellationToken cancellationToken)
    {
        var extension = image.MediaType switch { "image/jpeg" => ".jpg", "image/webp" => ".webp", "image/gif" => ".gif", _ => ".png" };
        var file = new ByteArrayContent(image.Content.ToArray());
        file.Headers.ContentType = new MediaTypeHeaderValue(image.MediaType);
        using var form = new MultipartFormDataContent
        {
            { file, "image", $"reelay-{PromptIdFor(taskId)}-{index}{extension}" },
            { new StringContent("input"), "type" },
            { new StringContent("true"), "overwrite" },
        };
        using var message = Api.Request(HttpMethod.Post, channel, "/upload/image", form);
        var reply = await upstream.SendAsync(message, channel, cancellationToken);
        var uploaded = UpstreamClient.ReadJson(reply.Body, ComfyJsonContext.Default.ComfyUploaded, channel);
        if (string.IsNullOrEmpty(uploaded?.Name))
        {
            throw UpstreamFailures.Malformed(channel, detail: "no uploaded image name");
        }

        return string.IsNullOrEmpty(uploaded.Subfolder) ? uploaded.Name : uploaded.Subfolder + "/" + uploaded.Name;
    }

    private static bool Contains(IReadOnlyList<JsonElement>? items, string promptId) =>
        items?.Any(item => item.ValueKind == JsonValueKind.Array && item.GetArrayLength() > 1
            && item[1].ValueKind == JsonValueKind.String && item[1].GetString() == promptId) ?? false;

    private static PollResult FromEntry(ComfyHistoryEntry entry, string raw, ChannelSettings channel)
    {
        if (entry.Status?.StatusStr == "error")
        {
            var (interrupted, message) = ErrorOf(entry.Status);
            return new PollResult(UpstreamState.Failed)
            {
                Error = new UpstreamError(interrupted ? TaskErrors.Cancelled : TaskErrors.UpstreamError,
                    UpstreamFailures.Redact(UpstreamFailures.Truncate(message), channel)),
                Raw = raw,
            };
        }

        if (entry.Status?.Completed == false)
        {
            return new PollResult(UpstreamState.Running) { Raw = raw };
        }

        return VideoOf(entry.Outputs) is { } location
            ? new PollResult(UpstreamState.Succeeded) { Progress = 100, ResultLocation = location, Raw = raw }
            : new PollResult(UpstreamState.Failed)
            {
                Error = new UpstreamError(TaskErrors.UpstreamResultInvalid,
                    "The ComfyUI workflow finished without saving a video (.mp4, .webm, .mov, .mkv): give it an output node such as SaveVideo or VHS_VideoCombine with an h264 format."),
                Raw = raw,
            };
    }

    /// <summary>The first saved video among the output nodes' <c>gifs</c>, <c>images</c> and <c>video</c> lists, as a <c>/view</c> path.</summary>
    private static string? VideoOf(Dictionary<string, JsonElement>? outputs)
    {
        foreach (var output in outputs?.Values ?? Enumerable.Empty<JsonElement>())
        {
            if (output.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            foreach (var list in (string[])["gifs", "videos", "video", "images"])
            {
                if (!output.TryGetProperty(list, out var files) || files.ValueKind != JsonValueKind.Array)
                {
                    continue;
                }

                foreach (var file in files.EnumerateArray())
                {
                    var name = file.TryGetProperty("filename", out var f) ? f.GetString() : null;
                    if (name is not null && VideoExtensions.Any(e => name.EndsWith(e, StringComparison.OrdinalIgnoreCase)))
                    {
                        var subfolder = file.TryGetProperty("subfolder", out var s) ? s.GetString() ?? "" : "";
                        var type = file.TryGetProperty("type", out var t) ? t.GetString() ?? "output" : "output";
                        return $"/view?filename={Uri.EscapeDataString(name)}&subfolder={Uri.EscapeDataString(subfolder)}&type={Uri.EscapeDataString(type)}";
                    }
                }
            }
        }

        return null;
    }

    private static (bool Interrupted, string Message) ErrorOf(ComfyStatus status)
    {
        foreach (var message in status.Messages ?? [])
        {
            if (message.ValueKind != JsonValueKind.Array || message.GetArrayLength() < 2)
            {
                continue;
            }

            var kind = message[0].GetString();
            var data = message[1];
            if (kind == "execution_interrupted")
            {
                return (true, "The ComfyUI prompt was interrupted.");
            }

            if (kind == "execution_error" && data.ValueKind == JsonValueKind.Object)
            {
                var node = data.TryGetProperty("node_type", out var n) ? n.GetString() : null;
                var text = data.TryGetProperty("exception_message", out var m) ? m.GetString() : null;
                return (false, $"ComfyUI failed in {node ?? "a node"}: {text ?? "no message"}");
            }
        }

        return (false, "ComfyUI reported the prompt failed.");
    }

    /// <summary>A 400 from /prompt names the node and input at fault (a model file not installed is <c>value_not_in_list</c>).</summary>
    private static UpstreamException Refine(UpstreamException failure, string raw)
    {
        if (failure.Stage != UpstreamFailureStage.Rejected || !raw.Contains("node_errors", StringComparison.Ordinal))
        {
            return failure;
        }

        try
        {
            using var document = JsonDocument.Parse(raw);
            var details = new List<string>();
            if (document.RootElement.TryGetProperty("node_errors", out var nodes) && nodes.ValueKind == JsonValueKind.Object)
            {
                foreach (var node in nodes.EnumerateObject())
                {
                    var type = node.Value.TryGetProperty("class_type", out var c) ? c.GetString() : "?";
                    foreach (var error in node.Value.TryGetProperty("errors", out var e) && e.ValueKind == JsonValueKind.Array ? e.EnumerateArray() : default)
                    {
                        details.Add($"node {node.Name} ({type}): {(error.TryGetProperty("message", out var m) ? m.GetString() : "")} {(error.TryGetProperty("details", out var d) ? d.GetString() : "")}".Trim());
                    }
                }
            }

            return details.Count == 0
                ? failure
                : new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.InvalidArgument,
                    UpstreamFailures.Truncate($"{failure.Message} — {string.Join("; ", details)}"), inner: failure);
        }
        catch (JsonException)
        {
            return failure;
        }
    }
}
