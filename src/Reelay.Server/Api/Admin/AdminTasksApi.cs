using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Reelay.Accounts;
using Reelay.Api.Billing;
using Reelay.Api.Errors;
using Reelay.Keys;
using Reelay.Tasks;

namespace Reelay.Api.Admin;

/// <summary>Everything an operator needs to know about one task, including the route it took and what it cost (credits).</summary>
/// <param name="Held">Credits held at create.</param>
/// <param name="Charged">Credits charged once it ended; null while it runs.</param>
/// <param name="Released">Credits of the hold given back once it ended; null while it runs.</param>
/// <param name="Cost">The hold while it runs, the charge once it ended.</param>
/// <param name="UpstreamCost">What the channel's cost price puts on it, when one is set.</param>
/// <param name="Ledger">Its ledger rows (in a list, left out: read one task for them).</param>
public sealed record AdminTaskView(
    string Id,
    string Object,
    string OwnerKeyId,
    string Mode,
    string Model,
    string Status,
    string Stage,
    int Progress,
    int Attempts,
    int Polls,
    string? Channel,
    string? Provider,
    string? UpstreamModel,
    string? UpstreamId,
    IReadOnlyList<RouteStep> Route,
    string? ErrorCode,
    string? ErrorMessage,
    long CreatedAt,
    long UpdatedAt,
    long? CompletedAt,
    string AccountId,
    decimal Held,
    decimal? Charged,
    decimal? Released,
    decimal Cost,
    decimal? UpstreamCost,
    double? VideoSeconds,
    string? CallbackUrl,
    IReadOnlyList<LedgerEntryView>? Ledger)
{
    public static AdminTaskView From(VideoTask task, IReadOnlyList<LedgerEntry>? ledger) => new(
        task.Id, "admin.task", task.OwnerKeyId, ApiKey.ModeText(task.Mode), task.Model, task.Status, task.Stage.ToString().ToLowerInvariant(), task.Progress,
        task.Attempts, task.Polls, task.Channel, task.Provider, task.UpstreamModel, task.UpstreamId, task.Route,
        task.Error?.Code, task.Error?.Message, task.CreatedAt, task.UpdatedAt, task.CompletedAt,
        task.AccountId, Credits.ToCredits(task.Held), task.Charged is { } charged ? Credits.ToCredits(charged) : null,
        task.Released is { } released ? Credits.ToCredits(released) : null, Credits.ToCredits(task.Cost),
        task.UpstreamCost is { } cost ? Credits.ToCredits(cost) : null, task.VideoDuration, task.CallbackUrl,
        ledger?.Select(LedgerEntryView.From).ToList());
}

public sealed record AdminTaskList(string Object, IReadOnlyList<AdminTaskView> Data, bool HasMore, string? LastId);

/// <summary>Optional body of <c>POST /admin/tasks/{id}/retry</c>.</summary>
public sealed record RetryTaskRequest
{
    [System.ComponentModel.Description("Why, up to 500 characters; kept in the audit log.")]
    public string? Reason { get; init; }
}

/// <summary>A retry as the audit log keeps it: the new task, the one it repeats, and why.</summary>
public sealed record TaskRetryRecord(string Id, string Object, string RetriedFrom, string? Reason, decimal Held);

/// <summary>
/// Operators' view of tasks: list any owner's with filters (account, key, model, channel, status, time),
/// inspect one with its route, attempts, upstream id, errors and ledger rows, and retry a failed one as a
/// new task (a new hold, the owner's limits), plus usage per account, key, model or channel.
/// </summary>
public static class AdminTasksApi
{
    public static IEndpointRouteBuilder MapAdminTasksApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/admin").RequireAdminKey().ProducesApiErrors(401, 403).WithTags("Admin");
        group.MapGet("/tasks", ListAsync).WithName("AdminListTasks").WithSummary("Tasks of any owner, newest first (account_id, key_id, model, channel, status, from, to; paged by after)")
            .ProducesApiErrors(400);
        group.MapGet("/tasks/{id}", GetAsync).WithName("AdminGetTask").WithSummary("One task, any owner, with its route and ledger rows").ProducesApiErrors(404);
        group.MapPost("/tasks/{id}/retry", RetryAsync).WithName("AdminRetryTask").WithSummary("Retry a failed or cancelled task as a new task of the same key (a new hold); the body is optional")
            .AcceptsBody<RetryTaskRequest>().ProducesApiErrors(400, 402, 404, 409, 413, 415, 429, 503);
        group.MapGet("/usage", UsageAsync).WithName("AdminUsage").WithSummary("Revenue, upstream cost and margin per model, channel, key or account (and day)")
            .ProducesApiErrors(400);
        return routes;
    }

    private static async Task<Results<Ok<AdminTaskList>, ApiError>> ListAsync(
        ITaskMonitor monitor, [FromQuery(Name = "account_id")] string? accountId, [FromQuery(Name = "key_id")] string? keyId, string? model, string? channel,
        string? status, string? from, string? to, string? limit, string? after, CancellationToken cancellationToken)
    {
        var limitError = AdminPaging.Limit(limit, out var pageSize);
        var fromError = Time(from, "from", out var fromMs);
        var toError = Time(to, "to", out var toMs);
        if ((limitError ?? fromError ?? toError) is { } error)
        {
            return error;
        }

        IReadOnlyList<TaskStage>? stages = status switch
        {
            null => null,
            VideoStatus.Pending => [TaskStage.Pending, TaskStage.Submitting],
            VideoStatus.Processing => [TaskStage.Running, TaskStage.Finishing],
            VideoStatus.Completed => [TaskStage.Completed],
            VideoStatus.Failed => [TaskStage.Failed],
            VideoStatus.Cancelled => [TaskStage.Cancelled],
            _ => [],
        };
        if (stages is { Count: 0 })
        {
            return ApiError.BadRequest("'status' must be one of pending, processing, completed, failed, cancelled.", "status", "invalid_status");
        }

        var rows = await monitor.ListAsync(new TaskFilter(pageSize + 1, after)
        {
            AccountId = accountId,
            KeyId = keyId,
            Model = model,
            Channel = channel,
            Stages = stages,
            From = fromMs,
            To = toMs,
        }, cancellationToken);
        var page = rows.Take(pageSize).Select(task => AdminTaskView.From(task, null)).ToList();
        return TypedResults.Ok(new AdminTaskList("list", page, rows.Count > pageSize, page.LastOrDefault()?.Id));
    }

    private static async Task<Results<Ok<AdminTaskView>, ApiError>> GetAsync(string id, ITaskMonitor monitor, IAccountStore accounts, CancellationToken cancellationToken)
    {
        var task = TaskIds.LooksValid(id) ? await monitor.GetAsync(id, cancellationToken) : null;
        if (task is null)
        {
            return ApiError.NotFound($"No task with id '{id}'.", "id");
        }

        return TypedResults.Ok(AdminTaskView.From(task, await accounts.TaskLedgerAsync(task.Id, cancellationToken)));
    }

    /// <summary>
    /// A new task with the failed one's request, made as its owner key would make it: the same checks,
    /// the owner's limits, a new hold (the failed task's was released when it failed).
    /// </summary>
    private static async Task<Results<Ok<AdminTaskView>, ApiError>> RetryAsync(string id, HttpContext http, ITaskMonitor monitor, IKeyStore keys, TaskIntake intake)
    {
        string? reason = null;
        if (http.Request.ContentLength is > 0 || !string.IsNullOrEmpty(http.Request.ContentType))
        {
            var (document, error) = await JsonBody.ReadObjectAsync(http.Request, 64 * 1024);
            if (error is not null)
            {
                return error;
            }

            using (document)
            {
                var fields = JsonBody.Fields(document!.RootElement);
                reason = fields.String("reason")?.Trim();
                if (fields.Error is not null)
                {
                    return fields.Error;
                }

                if (reason is { Length: > 500 })
                {
                    return ApiError.BadRequest($"'reason' is {reason.Length} characters long; the limit is 500.", "reason", "invalid_reason");
                }
            }
        }

        var task = TaskIds.LooksValid(id) ? await monitor.GetAsync(id, http.RequestAborted) : null;
        if (task is null)
        {
            return ApiError.NotFound($"No task with id '{id}'.", "id");
        }

        if (task.Stage is not (TaskStage.Failed or TaskStage.Cancelled))
        {
            return new ApiError(409, $"Task '{task.Id}' is {task.Status}; only failed or cancelled tasks are retried.", "task_not_failed", "id");
        }

        if (task.Images.Any(image => image.StartsWith(RequestImages.Prefix, StringComparison.Ordinal)))
        {
            return new ApiError(409, $"Task '{task.Id}' was made with inline images, which are not kept once a task ends; its owner must send the request again.", "images_not_kept", "id");
        }

        // By hash, as authentication finds it: with its account's limits and revocation.
        var stored = await keys.GetAsync(task.OwnerKeyId, http.RequestAborted);
        var owner = stored is null ? null : await keys.FindByHashAsync(stored.Hash, http.RequestAborted);
        if (owner is null || owner.RevokedAt is not null)
        {
            return new ApiError(409, $"Task '{task.Id}' belongs to key '{task.OwnerKeyId}', which is revoked (or its account is); a retry would be made by nobody.", "owner_revoked", "id");
        }

        var draft = new TaskDraft
        {
            Model = task.RequestedModel,
            Prompt = task.Prompt,
            AspectRatio = task.AspectRatio,
            Size = task.Size,
            Duration = task.Duration,
            Seed = task.Seed,
            NegativePrompt = task.NegativePrompt,
            CallbackUrl = task.CallbackUrl,
            Images = [.. task.Images],
            RemixedFrom = task.RemixedFrom,
            Surface = task.Surface,
        };
        foreach (var (name, value) in task.Options)
        {
            draft.Options[name] = value;
        }

        var result = await intake.CreateAsync(draft, Caller.For(owner), http.RequestAborted);
        if (result.Task is not { } retried)
        {
            return ApiError.From(result.Problem!);
        }

        await AdminAudit.WriteAsync(http, "task.retry", "task", task.Id, null,
            new TaskRetryRecord(retried.Id, "task_retry", task.Id, string.IsNullOrEmpty(reason) ? null : reason, Credits.ToCredits(retried.Held)));
        return TypedResults.Ok(AdminTaskView.From(retried, null));
    }

    private static async Task<Results<Ok<UsageView>, ApiError>> UsageAsync(
        IAccountStore accounts, TimeProvider time, [FromQuery(Name = "account_id")] string? accountId, [FromQuery(Name = "key_id")] string? keyId,
        string? model, string? channel, string? from, string? to, [FromQuery(Name = "group_by")] string? groupBy, [FromQuery(Name = "by_day")] string? byDay,
        CancellationToken cancellationToken)
    {
        var periodError = BillingApi.Period(from, to, time, out var start, out var end);
        var dayError = AdminPaging.Flag(byDay, "by_day", out var perDay);
        if ((periodError ?? dayError) is { } error)
        {
            return error;
        }

        UsageGrouping? grouping = groupBy switch
        {
            null or "model" => UsageGrouping.Model,
            "channel" => UsageGrouping.Channel,
            "key" => UsageGrouping.Key,
            "account" => UsageGrouping.Account,
            _ => null,
        };
        if (grouping is null)
        {
            return ApiError.BadRequest("'group_by' must be model, channel, key or account.", "group_by", "invalid_value");
        }

        var rows = await accounts.UsageAsync(new UsageQuery(start, end, grouping.Value, perDay ?? false) { AccountId = accountId, KeyId = keyId, Model = model, Channel = channel }, cancellationToken);
        var account = accountId is null ? null : await accounts.GetAsync(accountId, cancellationToken);
        return TypedResults.Ok(BillingApi.View(account, start, end, groupBy ?? "model", rows, withCost: true));
    }

    /// <summary>Unix ms, or an ISO 8601 time.</summary>
    private static ApiError? Time(string? text, string name, out long? unixMs)
    {
        unixMs = null;
        if (text is null)
        {
            return null;
        }

        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var ms))
        {
            unixMs = ms;
            return null;
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
        {
            unixMs = time.ToUnixTimeMilliseconds();
            return null;
        }

        return ApiError.BadRequest($"'{name}' must be Unix milliseconds or an ISO 8601 time.", name, "invalid_time");
    }
}
