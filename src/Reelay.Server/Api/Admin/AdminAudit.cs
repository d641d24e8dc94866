using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Reelay.Api.Errors;
using Reelay.Audit;

namespace Reelay.Api.Admin;

/// <summary>An audit row as <c>GET /admin/audit</c> shows it; <c>before</c> and <c>after</c> are the admin views of the thing, as JSON.</summary>
/// <param name="Note">What the views cannot show, such as <c>api_key changed</c>; never a secret.</param>
public sealed record AuditEntryView(long Id, string Object, long At, string Actor, string Action, string TargetType, string TargetId, JsonElement? Before, JsonElement? After, string? Note);

public sealed record AuditList(string Object, IReadOnlyList<AuditEntryView> Data, bool HasMore, long? LastId);

/// <summary>Writes and lists the audit rows of admin changes.</summary>
public static class AdminAudit
{
    public static IEndpointRouteBuilder MapAdminAuditApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/admin/audit", ListAsync).RequireAdminKey().ProducesApiErrors(400, 401, 403).WithTags("Admin")
            .WithName("ListAudit").WithSummary("Admin changes, newest first: who (which admin key), what, before and after, when");
        return routes;
    }

    /// <summary>
    /// Records a change the calling admin key made. The views are what admins see, so secrets (which no
    /// view shows) never reach the log; <paramref name="note"/> says in words what they cannot show.
    /// </summary>
    public static Task WriteAsync(HttpContext http, string action, string targetType, string targetId, object? before, object? after, string? note = null)
    {
        var log = http.RequestServices.GetRequiredService<IAuditLog>();
        var time = http.RequestServices.GetRequiredService<TimeProvider>();
        return log.WriteAsync(new AuditEntry(
            time.GetUtcNow().ToUnixTimeMilliseconds(), http.GetCaller().KeyId, action, targetType, targetId, Json(before), Json(after)) { Note = note },
            CancellationToken.None);
    }

    /// <summary>A wire record as the API writes it; every audited view is in <see cref="ApiJsonContext"/>.</summary>
    private static string? Json(object? view) =>
        view is null ? null : JsonSerializer.Serialize(view, ApiJson.Context.GetTypeInfo(view.GetType()) ?? throw new InvalidOperationException($"{view.GetType().Name} is not in ApiJsonContext."));

    private static async Task<Results<Ok<AuditList>, ApiError>> ListAsync(
        IAuditLog log, string? actor, [FromQuery(Name = "target_type")] string? targetType, [FromQuery(Name = "target_id")] string? targetId,
        string? action, string? limit, string? before, CancellationToken cancellationToken)
    {
        if (AdminPaging.Limit(limit, out var pageSize) is { } error)
        {
            return error;
        }

        long? cursor = null;
        if (before is not null)
        {
            if (!long.TryParse(before, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                return ApiError.BadRequest("'before' must be the last_id of the previous page (a whole number).", "before", "invalid_cursor");
            }

            cursor = id;
        }

        var rows = await log.ListAsync(new AuditQuery(pageSize + 1, cursor, actor, targetType, targetId, action), cancellationToken);
        var page = rows.Take(pageSize).Select(r => new AuditEntryView(r.Id, "audit_entry", r.At, r.Actor, r.Action, r.TargetType, r.TargetId, Parse(r.Before), Parse(r.After), r.Note)).ToList();
        return TypedResults.Ok(new AuditList("list", page, rows.Count > pageSize, page.LastOrDefault()?.Id));
    }

    private static JsonElement? Parse(string? json)
    {
        if (json is null)
        {
            return null;
        }

        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}

/// <summary>The page size rule of every admin list: <c>limit</c> 1–1000, 100 when left out.</summary>
public static class AdminPaging
{
    public const int DefaultLimit = 100;

    public static ApiError? Limit(string? text, out int limit)
    {
        limit = DefaultLimit;
        if (text is null)
        {
            return null;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out limit) && limit is >= 1 and <= 1000
            ? null
            : ApiError.BadRequest($"'limit' must be a whole number from 1 to 1000, got '{(text.Length > 40 ? text[..40] + "…" : text)}'.", "limit", "invalid_limit");
    }

    /// <summary>true/false query values.</summary>
    public static ApiError? Flag(string? text, string name, out bool? flag)
    {
        flag = null;
        if (text is null)
        {
            return null;
        }

        if (bool.TryParse(text, out var value))
        {
            flag = value;
            return null;
        }

        return ApiError.BadRequest($"'{name}' must be true or false.", name, "invalid_value");
    }
}
