using Microsoft.AspNetCore.Http.HttpResults;
using Reelay.Api.Errors;
using Reelay.Keys;
using Reelay.Tasks;

namespace Reelay.Api.Admin;

/// <summary>Everything an operator needs to know about one task, including the route it took.</summary>
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
    long? CompletedAt);

/// <summary><c>GET /admin/tasks/{id}</c>: any key's task, with its route and attempt count.</summary>
public static class AdminTasksApi
{
    public static IEndpointRouteBuilder MapAdminTasksApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/admin/tasks/{id}", GetAsync).RequireAdminKey().ProducesApiErrors(401, 403, 404).WithTags("Admin").WithName("AdminGetTask").WithSummary("One task, any owner");
        return routes;
    }

    private static async Task<Results<Ok<AdminTaskView>, ApiError>> GetAsync(string id, ITaskMonitor monitor, CancellationToken cancellationToken)
    {
        var task = TaskIds.LooksValid(id) ? await monitor.GetAsync(id, cancellationToken) : null;
        if (task is null)
        {
            return ApiError.NotFound($"No task with id '{id}'.", "id");
        }

        return TypedResults.Ok(new AdminTaskView(
            task.Id, "admin.task", task.OwnerKeyId, ApiKey.ModeText(task.Mode), task.Model, task.Status, task.Stage.ToString().ToLowerInvariant(), task.Progress,
            task.Attempts, task.Polls, task.Channel, task.Provider, task.UpstreamModel, task.UpstreamId, task.Route,
            task.Error?.Code, task.Error?.Message, task.CreatedAt, task.UpdatedAt, task.CompletedAt));
    }
}
