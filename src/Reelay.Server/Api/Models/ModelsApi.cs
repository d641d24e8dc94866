using Microsoft.AspNetCore.Http.HttpResults;
using Reelay.Catalog;
using Reelay.Channels;
using Reelay.Keys;

namespace Reelay.Api.Models;

/// <summary>A catalog entry as <c>GET /v1/models</c> lists it, with the options a request may use.</summary>
public sealed record ModelView(
    string Id,
    string Object,
    string OwnedBy,
    string? Description,
    IReadOnlyList<string> Aliases,
    IReadOnlyList<string> AspectRatios,
    string DefaultAspectRatio,
    IReadOnlyList<string> Sizes,
    IReadOnlyList<string> PixelSizes,
    string DefaultSize,
    IReadOnlyList<int> Durations,
    int DefaultDuration,
    IReadOnlyDictionary<string, IReadOnlyList<int>> DurationsBySize,
    int MaxImages);

public sealed record ModelList(string Object, IReadOnlyList<ModelView> Data);

/// <summary>
/// <c>GET /v1/models</c>: the models this key may use (its and its account's allowed models) — each catalog entry once, with its aliases,
/// and each name a channel lists that the catalog does not know, with its provider's defaults.
/// </summary>
public static class ModelsApi
{
    public static IEndpointRouteBuilder MapModelsApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/v1/models", List).RequireClientKey().ProducesApiErrors(401, 403).WithTags("Models").WithName("ListModels").WithSummary("Models this key may use");
        return routes;
    }

    private static Ok<ModelList> List(HttpContext http, ModelCatalog catalog, ChannelRouter router, TimeProvider time)
    {
        var caller = http.GetCaller();
        var now = time.GetUtcNow();
        var models = catalog.Entries
            // A retired model cannot be used (unless the operator redirects it to its replacement).
            .Where(model => model.RetiredAt(now) is null or { Redirect: true })
            .Where(model => router.Candidates(model, caller.Mode).Count > 0 && caller.AllowsModel(model.Name))
            .Select(model => new ModelView(
                model.Name, "model", "reelay", model.Description, model.Aliases, model.AspectRatios, model.DefaultAspectRatio,
                model.Sizes, model.PixelSizes, model.DefaultSize,
                model.Durations.Count > 0 ? model.Durations : [.. Enumerable.Range(model.MinDuration, model.MaxDuration - model.MinDuration + 1)],
                model.DefaultDuration, model.DurationsBySize, model.MaxImages))
            .ToList();
        return TypedResults.Ok(new ModelList("list", models));
    }
}
