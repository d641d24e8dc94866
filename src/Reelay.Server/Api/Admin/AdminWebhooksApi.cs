using System.ComponentModel;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Reelay.Accounts;
using Reelay.Api.Errors;
using Reelay.Images;
using Reelay.Tasks;
using Reelay.Webhooks;

namespace Reelay.Api.Admin;

/// <summary>An endpoint as admins see it.</summary>
/// <param name="Events">The event types it receives.</param>
/// <param name="DisabledReason">Why Reelay turned it off (a 410 Gone), else null.</param>
public sealed record WebhookEndpointView(
    string Id, string Object, string AccountId, string Url, IReadOnlyList<string> Events, string? Description, bool Enabled, string? DisabledReason, long CreatedAt, long UpdatedAt)
{
    public static WebhookEndpointView From(WebhookEndpoint endpoint) => new(
        endpoint.Id, "webhook_endpoint", endpoint.AccountId, endpoint.Url, endpoint.Events ?? DefaultEvents, endpoint.Description, endpoint.Enabled,
        endpoint.DisabledReason, endpoint.CreatedAt, endpoint.UpdatedAt);

    private static readonly IReadOnlyList<string> DefaultEvents = [.. WebhookEvents.All.Where(type => type != WebhookEvents.Progress)];
}

public sealed record WebhookEndpointList(string Object, IReadOnlyList<WebhookEndpointView> Data);

/// <summary>Body of <c>POST /admin/webhooks/endpoints</c>.</summary>
public sealed record CreateWebhookEndpointRequest
{
    [Description("The account whose tasks' events it receives.")]
    public required string AccountId { get; init; }

    [Description("An http(s) URL at a public address (the SSRF guard checks it again at every delivery).")]
    public required string Url { get; init; }

    [Description("Event types: video.processing, video.progress, video.completed, video.failed, video.cancelled. Every type but video.progress when left out.")]
    public IReadOnlyList<string>? Events { get; init; }

    [Description("A note for operators, up to 500 characters.")]
    public string? Description { get; init; }

    [Description("false to register it turned off; true when left out.")]
    public bool? Enabled { get; init; }
}

/// <summary>Body of <c>PATCH /admin/webhooks/endpoints/{id}</c>: the fields given change.</summary>
public sealed record UpdateWebhookEndpointRequest
{
    [Description("A new http(s) URL.")]
    public string? Url { get; init; }

    [Description("The event types it receives; null for the default (every type but video.progress).")]
    public IReadOnlyList<string>? Events { get; init; }

    [Description("A note for operators, up to 500 characters.")]
    public string? Description { get; init; }

    [Description("Turn it on or off. Turning it on clears the reason Reelay turned it off; its deliveries still pending go out again.")]
    public bool? Enabled { get; init; }
}

/// <summary>Optional body of <c>POST /admin/webhooks/deliveries/{id}/redeliver</c> and <c>POST /admin/accounts/{id}/webhook-secret</c>.</summary>
public sealed record WebhookAdminActionRequest
{
    [Description("Why, up to 500 characters; kept in the audit log.")]
    public string? Reason { get; init; }
}

/// <summary>A new signing secret, shown this once.</summary>
/// <param name="PreviousValidUntil">Until when the secret it replaced still signs (Unix ms); null when there was none.</param>
public sealed record WebhookSecretView(string Object, string AccountId, string Secret, long RotatedAt, long? PreviousValidUntil);

/// <summary>A rotation as the audit log keeps it: never the secret.</summary>
public sealed record WebhookSecretRecord(string Object, string AccountId, long RotatedAt, long? PreviousValidUntil);

/// <summary>
/// Webhooks for operators: endpoints per account (create, list, change, turn on or off, delete), the
/// delivery log of a task or an endpoint (every try with its status, latency and error, and the next
/// try), redelivery, and rotation of an account's signing secret. Every change is audited.
/// </summary>
public static class AdminWebhooksApi
{
    /// <summary>How long a replaced signing secret still signs: receivers get a day to switch.</summary>
    public static readonly TimeSpan PreviousSecretLifetime = TimeSpan.FromHours(24);

    private const int MaxDescriptionChars = 500;

    public static IEndpointRouteBuilder MapAdminWebhooksApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/admin/webhooks").RequireAdminKey().ProducesApiErrors(401, 403).WithTags("Admin");
        group.MapPost("/endpoints", CreateAsync).WithName("CreateWebhookEndpoint").WithSummary("Register an endpoint that receives an account's webhook events")
            .AcceptsBody<CreateWebhookEndpointRequest>().ProducesApiErrors(400, 404, 413, 415);
        group.MapGet("/endpoints", ListAsync).WithName("ListWebhookEndpoints").WithSummary("Endpoints, oldest first; of one account with account_id").ProducesApiErrors(400);
        group.MapGet("/endpoints/{id}", GetAsync).WithName("GetWebhookEndpoint").WithSummary("One endpoint").ProducesApiErrors(404);
        group.MapPatch("/endpoints/{id}", UpdateAsync).WithName("UpdateWebhookEndpoint").WithSummary("Change an endpoint's URL, events or note, or turn it on or off")
            .AcceptsBody<UpdateWebhookEndpointRequest>().ProducesApiErrors(400, 404, 413, 415);
        group.MapDelete("/endpoints/{id}", DeleteAsync).WithName("DeleteWebhookEndpoint").WithSummary("Delete an endpoint; its pending deliveries end, its log stays")
            .ProducesApiErrors(404);
        group.MapGet("/endpoints/{id}/deliveries", EndpointDeliveriesAsync).WithName("ListEndpointDeliveries")
            .WithSummary("The endpoint's deliveries, newest first, with every try").ProducesApiErrors(400, 404);
        group.MapPost("/deliveries/{id}/redeliver", RedeliverAsync).WithName("RedeliverWebhook")
            .WithSummary("Send a delivery again now (same webhook-id), whatever its state").AcceptsBody<WebhookAdminActionRequest>().ProducesApiErrors(400, 404, 413, 415);
        routes.MapGet("/admin/tasks/{id}/webhooks", TaskDeliveriesAsync).RequireAdminKey().ProducesApiErrors(400, 401, 403, 404).WithTags("Admin")
            .WithName("ListTaskDeliveries").WithSummary("A task's webhook deliveries, newest first, with every try");
        routes.MapPost("/admin/accounts/{id}/webhook-secret", RotateSecretAsync).RequireAdminKey().ProducesApiErrors(400, 401, 403, 404, 413, 415).WithTags("Admin")
            .AcceptsBody<WebhookAdminActionRequest>()
            .WithName("RotateWebhookSecret").WithSummary("A new signing secret for the account, shown once; the old one still signs for 24 h");
        return routes;
    }

    private static async Task<Results<Created<WebhookEndpointView>, ApiError>> CreateAsync(
        HttpContext http, IWebhookStore store, IAccountStore accounts, NetworkPolicy network, IOptions<LimitsOptions> limits, [FromKeyedServices(WebhookNotifier.ClockKey)] TimeProvider time)
    {
        var (document, error) = await JsonBody.ReadObjectAsync(http.Request, 64 * 1024);
        if (error is not null)
        {
            return error;
        }

        using (document)
        {
            var body = document!.RootElement;
            var fields = JsonBody.Fields(body);
            var accountId = fields.String("account_id");
            var url = fields.String("url");
            var description = fields.String("description");
            var enabled = fields.Boolean("enabled");
            if ((Unknown(body, ["account_id", "url", "events", "description", "enabled"]) ?? fields.Error) is { } invalid)
            {
                return invalid;
            }

            if (string.IsNullOrWhiteSpace(accountId))
            {
                return ApiError.BadRequest("'account_id' is required: the account whose tasks' events the endpoint receives.", "account_id", "missing_field");
            }

            if (url is null)
            {
                return ApiError.BadRequest("'url' is required: an http(s) URL at a public address.", "url", "missing_field");
            }

            var eventsError = ReadEvents(body, fields, out var events);
            if ((CheckUrl(url, network, limits.Value) ?? CheckDescription(description) ?? eventsError) is { } problem)
            {
                return problem;
            }

            if (await accounts.GetAsync(accountId, http.RequestAborted) is null)
            {
                return ApiError.NotFound($"No account with id '{Shorten(accountId)}' exists.", "account_id");
            }

            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            var endpoint = new WebhookEndpoint("we_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)), accountId, url, events.Value, description, enabled ?? true, null, now, now);
            await store.InsertEndpointAsync(endpoint, http.RequestAborted);
            var view = WebhookEndpointView.From(endpoint);
            await AdminAudit.WriteAsync(http, "webhook_endpoint.create", "webhook_endpoint", endpoint.Id, null, view);
            return TypedResults.Created($"/admin/webhooks/endpoints/{endpoint.Id}", view);
        }
    }

    private static async Task<Results<Ok<WebhookEndpointList>, ApiError>> ListAsync(IWebhookStore store, [FromQuery(Name = "account_id")] string? accountId, CancellationToken cancellationToken) =>
        accountId is not null && string.IsNullOrWhiteSpace(accountId)
            ? ApiError.BadRequest("'account_id' is empty: name an account, or leave it out for every account's endpoints.", "account_id", "invalid_value")
            : TypedResults.Ok(new WebhookEndpointList("list", [.. (await store.ListEndpointsAsync(accountId, cancellationToken)).Select(WebhookEndpointView.From)]));

    private static async Task<Results<Ok<WebhookEndpointView>, ApiError>> GetAsync(string id, IWebhookStore store, CancellationToken cancellationToken) =>
        await store.GetEndpointAsync(id, cancellationToken) is { } endpoint ? TypedResults.Ok(WebhookEndpointView.From(endpoint)) : UnknownEndpoint(id);

    private static async Task<Results<Ok<WebhookEndpointView>, ApiError>> UpdateAsync(
        string id, HttpContext http, IWebhookStore store, NetworkPolicy network, IOptions<LimitsOptions> limits, [FromKeyedServices(WebhookNotifier.ClockKey)] TimeProvider time)
    {
        var (document, error) = await JsonBody.ReadObjectAsync(http.Request, 64 * 1024);
        if (error is not null)
        {
            return error;
        }

        using (document)
        {
            var body = document!.RootElement;
            var fields = JsonBody.Fields(body);
            var url = fields.String("url");
            var description = fields.String("description");
            var enabled = fields.Boolean("enabled");
            var eventsError = ReadEvents(body, fields, out var events);
            if ((Unknown(body, ["url", "events", "description", "enabled"]) ?? fields.Error
                ?? (url is null ? null : CheckUrl(url, network, limits.Value)) ?? CheckDescription(description) ?? eventsError) is { } invalid)
            {
                return invalid;
            }

            if (await store.GetEndpointAsync(id, http.RequestAborted) is not { } before)
            {
                return UnknownEndpoint(id);
            }

            var turnedOn = enabled == true && !before.Enabled;
            var after = before with
            {
                Url = url ?? before.Url,
                Events = events.Given ? events.Value : before.Events,
                Description = body.TryGetProperty("description", out _) ? description : before.Description,
                Enabled = enabled ?? before.Enabled,
                DisabledReason = turnedOn ? null : before.DisabledReason,
                UpdatedAt = time.GetUtcNow().ToUnixTimeMilliseconds(),
            };
            if (!await store.UpdateEndpointAsync(after, http.RequestAborted))
            {
                return UnknownEndpoint(id);
            }

            var view = WebhookEndpointView.From(after);
            await AdminAudit.WriteAsync(http, "webhook_endpoint.update", "webhook_endpoint", id, WebhookEndpointView.From(before), view);
            return TypedResults.Ok(view);
        }
    }

    private static async Task<Results<Ok<WebhookEndpointView>, ApiError>> DeleteAsync(string id, HttpContext http, IWebhookStore store)
    {
        if (await store.GetEndpointAsync(id, http.RequestAborted) is not { } endpoint || !await store.DeleteEndpointAsync(id, http.RequestAborted))
        {
            return UnknownEndpoint(id);
        }

        var view = WebhookEndpointView.From(endpoint);
        await AdminAudit.WriteAsync(http, "webhook_endpoint.delete", "webhook_endpoint", id, view, null);
        return TypedResults.Ok(view);
    }

    private static async Task<Results<Ok<WebhookDeliveryList>, ApiError>> EndpointDeliveriesAsync(string id, IWebhookStore store, string? limit, CancellationToken cancellationToken)
    {
        if (AdminPaging.Limit(limit, out var pageSize) is { } error)
        {
            return error;
        }

        if (await store.GetEndpointAsync(id, cancellationToken) is null)
        {
            return UnknownEndpoint(id);
        }

        return TypedResults.Ok(new WebhookDeliveryList("list", [.. (await store.ListDeliveriesAsync(null, id, pageSize, cancellationToken)).Select(WebhookDeliveryView.From)]));
    }

    private static async Task<Results<Ok<WebhookDeliveryList>, ApiError>> TaskDeliveriesAsync(string id, IWebhookStore store, ITaskMonitor tasks, string? limit, CancellationToken cancellationToken)
    {
        if (AdminPaging.Limit(limit, out var pageSize) is { } error)
        {
            return error;
        }

        var deliveries = await store.ListDeliveriesAsync(id, null, pageSize, cancellationToken);
        // A deleted task's deliveries stay readable; an id that never had a task or a delivery is unknown.
        if (deliveries.Count == 0 && await tasks.GetAsync(id, cancellationToken) is null)
        {
            return ApiError.NotFound($"No task with id '{Shorten(id)}' exists.", "id");
        }

        return TypedResults.Ok(new WebhookDeliveryList("list", [.. deliveries.Select(WebhookDeliveryView.From)]));
    }

    private static async Task<Results<Ok<WebhookDeliveryView>, ApiError>> RedeliverAsync(
        string id, HttpContext http, IWebhookStore store, [FromKeyedServices(WebhookNotifier.ClockKey)] TimeProvider time)
    {
        var (reason, error) = await ReasonAsync(http);
        if (error is not null)
        {
            return error;
        }

        if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var deliveryId) || await store.GetDeliveryAsync(deliveryId, http.RequestAborted) is not { } before)
        {
            return ApiError.NotFound($"No webhook delivery with id '{Shorten(id)}' exists.", "id");
        }

        await store.RedeliverAsync(deliveryId, time.GetUtcNow().ToUnixTimeMilliseconds(), http.RequestAborted);
        var after = WebhookDeliveryView.From((await store.GetDeliveryAsync(deliveryId, http.RequestAborted))!);
        await AdminAudit.WriteAsync(http, "webhook_delivery.redeliver", "webhook_delivery", id, WebhookDeliveryView.From(before) with { Attempts = [] }, after with { Attempts = [] }, reason);
        return TypedResults.Ok(after);
    }

    private static async Task<Results<Ok<WebhookSecretView>, ApiError>> RotateSecretAsync(
        string id, HttpContext http, IWebhookStore store, IAccountStore accounts, [FromKeyedServices(WebhookNotifier.ClockKey)] TimeProvider time)
    {
        var (reason, error) = await ReasonAsync(http);
        if (error is not null)
        {
            return error;
        }

        if (await accounts.GetAsync(id, http.RequestAborted) is null)
        {
            return ApiError.NotFound($"No account with id '{Shorten(id)}' exists.", "id");
        }

        var before = await store.SecretInfoAsync(id, http.RequestAborted);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        long? keepUntil = before is null ? null : now + (long)PreviousSecretLifetime.TotalMilliseconds;
        var secret = await store.RotateSecretAsync(id, now, keepUntil ?? now, http.RequestAborted);
        // The audit shows when, never what: the secret is in the answer only.
        await AdminAudit.WriteAsync(http, "webhook_secret.rotate", "account", id,
            before is { } was ? new WebhookSecretRecord("webhook_secret", id, was.RotatedAt, was.PreviousUntil) : null,
            new WebhookSecretRecord("webhook_secret", id, now, keepUntil), note: reason is null ? "secret rotated" : "secret rotated: " + reason);
        return TypedResults.Ok(new WebhookSecretView("webhook_secret", id, secret, now, keepUntil));
    }

    /// <summary>The optional <c>{"reason"}</c> body; no body at all (curl -X POST) is fine.</summary>
    private static async Task<(string? Reason, ApiError? Error)> ReasonAsync(HttpContext http)
    {
        if (!(http.Request.ContentLength > 0 || (http.Request.ContentLength is null && http.Request.Headers.TransferEncoding.Count > 0)))
        {
            return (null, null);
        }

        var (document, error) = await JsonBody.ReadObjectAsync(http.Request, 4 * 1024);
        if (error is not null)
        {
            return (null, error);
        }

        using (document)
        {
            var fields = JsonBody.Fields(document!.RootElement);
            var reason = fields.String("reason");
            return fields.Error is { } invalid ? (null, invalid)
                : reason is { Length: > MaxDescriptionChars } ? (null, ApiError.BadRequest($"'reason' has {reason.Length} characters; at most {MaxDescriptionChars} are kept.", "reason", "too_long"))
                : (string.IsNullOrWhiteSpace(reason) ? null : reason.Trim(), null);
        }
    }

    private static ApiError? CheckUrl(string url, NetworkPolicy network, LimitsOptions limits)
    {
        if (url.Length > limits.MaxUrlChars || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return ApiError.BadRequest($"'url' must be an absolute http(s) URL of at most {limits.MaxUrlChars} characters.", "url", "invalid_url");
        }

        return network.CheckCallbackUrl(url) is { } refused ? ApiError.BadRequest($"'url' {refused}.", "url", "invalid_url") : null;
    }

    private static ApiError? CheckDescription(string? description) =>
        description is { Length: > MaxDescriptionChars }
            ? ApiError.BadRequest($"'description' has {description.Length} characters; at most {MaxDescriptionChars} are kept.", "description", "too_long")
            : null;

    /// <summary>The <c>events</c> field: given or not (null given means the default), and the types.</summary>
    private static ApiError? ReadEvents(JsonElement body, JsonFields fields, out (bool Given, IReadOnlyList<string>? Value) events)
    {
        events = (false, null);
        if (!body.TryGetProperty("events", out var value))
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.Null)
        {
            events = (true, null);
            return null;
        }

        var given = fields.StringArray("events", WebhookEvents.All.Count * 2, "an event type such as video.completed");
        if (fields.Error is { } error)
        {
            return error;
        }

        if (WebhookEvents.Normalize(given, out var types) is { } problem)
        {
            return ApiError.BadRequest($"'events' {problem}.", "events", "invalid_events");
        }

        events = (true, types);
        return null;
    }

    private static ApiError? Unknown(JsonElement body, string[] known)
    {
        foreach (var property in body.EnumerateObject())
        {
            if (!known.Contains(property.Name, StringComparer.Ordinal))
            {
                return ApiError.BadRequest($"'{Shorten(property.Name)}' is not a field of a webhook endpoint; send {string.Join(", ", known)}.", Shorten(property.Name), "unknown_field");
            }
        }

        return null;
    }

    private static ApiError UnknownEndpoint(string id) => ApiError.NotFound($"No webhook endpoint with id '{Shorten(id)}' exists.", "id");

    private static string Shorten(string text) => text.Length > 80 ? text[..80] + "…" : text;
}
