using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Reelay.Api.Errors;
using Reelay.Api.OpenAi;
using Reelay.Api.Unified;
using Reelay.Blobs;
using Reelay.Tasks;
using Reelay.Webhooks;

namespace Reelay.Api;

/// <summary>
/// A webhook's body: <c>{"id","object":"event","type","created_at","data"}</c>, where <c>data</c> is the task
/// as the surface that created it shows it — the unified query answer, or OpenAI's video object — written
/// with the same JSON settings as the answers. An event about a running task shows the task as it was
/// then (processing, at the event's progress) even when it has ended since; an end never changes.
/// </summary>
public sealed class WebhookPayloads(IBlobStore blobs, IOptions<FileLinkOptions> links, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json, IServer server)
    : IWebhookPayloads
{
    public byte[] Write(WebhookDelivery delivery, VideoTask task)
    {
        var shown = delivery.EventType is WebhookEvents.Processing or WebhookEvents.Progress && task.Stage != TaskStage.Running
            ? task with { Stage = TaskStage.Running, Progress = delivery.EventProgress, UpdatedAt = delivery.EventAt, CompletedAt = null, Error = null, Charged = null, Released = null }
            : task with { Progress = delivery.EventType == WebhookEvents.Progress ? delivery.EventProgress : task.Progress };
        var request = LinkRequest();
        var ttl = links.Value.FileUrlTtl;
        var options = json.Value.SerializerOptions;
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = options.Encoder }))
        {
            writer.WriteStartObject();
            writer.WriteString("id", delivery.EventId);
            writer.WriteString("object", "event");
            writer.WriteString("type", delivery.EventType);
            writer.WriteNumber("created_at", delivery.EventAt / 1000);
            writer.WritePropertyName("data");
            if (task.Surface == TaskSurface.OpenAi)
            {
                JsonSerializer.Serialize(writer, shown.AsOpenAiVideo(blobs, ttl, request), (JsonTypeInfo<OpenAiVideo>)options.GetTypeInfo(typeof(OpenAiVideo)));
            }
            else
            {
                JsonSerializer.Serialize(writer, shown.AsQueryResponse(blobs, ttl, request), (JsonTypeInfo<UnifiedQueryResponse>)options.GetTypeInfo(typeof(UnifiedQueryResponse)));
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// The request links are signed for. Outside a request there is no Host header: links use
    /// <c>PUBLIC_URL</c>, else the first address Reelay listens on (right for one box; set <c>PUBLIC_URL</c> behind a proxy).
    /// </summary>
    private HttpRequest LinkRequest()
    {
        var context = new DefaultHttpContext();
        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        if (address is not null && Uri.TryCreate(address.Replace("://+", "://localhost", StringComparison.Ordinal).Replace("://*", "://localhost", StringComparison.Ordinal), UriKind.Absolute, out var uri))
        {
            context.Request.Scheme = uri.Scheme;
            context.Request.Host = new HostString(uri.Authority);
        }
        else
        {
            context.Request.Scheme = "http";
            context.Request.Host = new HostString("localhost");
        }

        return context.Request;
    }
}

/// <summary><c>webhook_events_filter</c> on the create routes: which event types the task's <c>callback_url</c> receives.</summary>
public static class WebhookFilterField
{
    public const string Name = "webhook_events_filter";

    /// <summary>Reads the field of a JSON body into the draft; absent or null leaves the default (every type but progress).</summary>
    public static ApiError? Read(JsonElement body, JsonFields fields, TaskDraft draft)
    {
        if (!body.TryGetProperty(Name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var types = fields.StringArray(Name, WebhookEvents.All.Count * 2, "an event type such as video.completed");
        return fields.Error ?? Apply(types, draft);
    }

    /// <summary>Checks the types given (a form's comma-separated or repeated values, or a JSON array) and puts them on the draft.</summary>
    public static ApiError? Apply(IReadOnlyList<string> given, TaskDraft draft)
    {
        if (WebhookEvents.Normalize(given, out var types) is { } problem)
        {
            return ApiError.BadRequest($"'{Name}' {problem}.", Name, "invalid_webhook_events_filter");
        }

        draft.WebhookEvents = types;
        return null;
    }
}
