using System.ComponentModel;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Reelay.Api.Billing;
using Reelay.Api.Errors;
using Reelay.Billing;
using Reelay.Catalog;
using Reelay.Storage;

namespace Reelay.Api.Admin;

/// <summary>Body of <c>PUT /admin/prices/{model}</c>, checked by the same rule as <c>Billing:Prices</c> in configuration.</summary>
public sealed record SetPriceRequest
{
    [Description("Credits per second of output (the charge follows the stored video's length, never above the hold). Exactly one of per_second and per_video.")]
    public decimal? PerSecond { get; init; }

    [Description("Credits per video, whatever its length.")]
    public decimal? PerVideo { get; init; }

    [Description("Credits per unit by size class (480P, 720P, 1080P, 4K), replacing the base price.")]
    public IReadOnlyDictionary<string, decimal>? Sizes { get; init; }

    [Description("Credits added per unit when a request carries the option: \"name=value\", or \"name\" for name=true.")]
    public IReadOnlyDictionary<string, decimal>? Options { get; init; }
}

public sealed record PriceListView(string Object, IReadOnlyList<ModelPriceView> Data);

/// <summary>
/// Prices at run time: every model with its price in force (and where it comes from), set one (persisted,
/// validated like the configuration, applied to creates from then on), or drop it back to the configuration's.
/// </summary>
public static class AdminPricesApi
{
    public static IEndpointRouteBuilder MapAdminPricesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/admin/prices").RequireAdminKey().ProducesApiErrors(401, 403).WithTags("Admin");
        group.MapGet("/", List).WithName("ListPrices").WithSummary("Every model's price in force, and whether configuration or an admin set it");
        group.MapGet("/{model}", Get).WithName("GetPrice").WithSummary("One model's price").ProducesApiErrors(404);
        group.MapPut("/{model}", SetAsync).WithName("SetPrice").WithSummary("Set a model's price (persisted; new creates use it)")
            .AcceptsBody<SetPriceRequest>().ProducesApiErrors(400, 404, 413, 415);
        group.MapDelete("/{model}", DeleteAsync).WithName("DeletePrice").WithSummary("Drop the run-time price: the configuration's applies again, or none")
            .ProducesApiErrors(404);
        return routes;
    }

    private static Ok<PriceListView> List(ModelCatalog catalog, PriceList prices, IStoredConfigurationChanges changes) =>
        TypedResults.Ok(new PriceListView("list", [.. catalog.Entries.Select(model => ModelPriceView.For(model.Name, prices.Priced(model.Name)))]));

    private static Results<Ok<ModelPriceView>, ApiError> Get(string model, ModelCatalog catalog, PriceList prices, IStoredConfigurationChanges changes) =>
        catalog.Find(model) is { } entry ? TypedResults.Ok(ModelPriceView.For(entry.Name, prices.Priced(entry.Name))) : UnknownModel(model);

    private static async Task<Results<Ok<ModelPriceView>, ApiError>> SetAsync(string model, HttpContext http, ModelCatalog catalog, PriceList prices, IStoredConfigurationChanges changes, TimeProvider time)
    {
        if (catalog.Find(model) is not { } entry)
        {
            return UnknownModel(model);
        }

        var (document, error) = await JsonBody.ReadObjectAsync(http.Request, 64 * 1024);
        if (error is not null)
        {
            return error;
        }

        using (document)
        {
            var body = document!.RootElement;
            var options = new PriceOptions();
            foreach (var property in body.EnumerateObject())
            {
                var problem = property.Name switch
                {
                    "per_second" => Amount(property.Value, "per_second", credits => options.PerSecond = credits),
                    "per_video" => Amount(property.Value, "per_video", credits => options.PerVideo = credits),
                    "sizes" => Map(property.Value, "sizes", options.Sizes),
                    "options" => Map(property.Value, "options", options.Options),
                    _ => ApiError.BadRequest($"'{Shorten(property.Name)}' is not a price field; send per_second or per_video, and optionally sizes and options.", Shorten(property.Name), "unknown_field"),
                };
                if (problem is not null)
                {
                    return problem;
                }
            }

            if (Price.From(options, out var invalid) is not { } price)
            {
                // The configuration's words (PerSecond) as the API spells them (per_second).
                var message = invalid!.Replace("PerSecond", "per_second", StringComparison.Ordinal).Replace("PerVideo", "per_video", StringComparison.Ordinal);
                return ApiError.BadRequest($"The price of {entry.Name} cannot be used: {message}.", null, "invalid_price");
            }

            var before = prices.Priced(entry.Name);
            await prices.SetAsync(entry.Name, price, time.GetUtcNow().ToUnixTimeMilliseconds(), http.RequestAborted);
            await changes.PublishAsync(StoredConfiguration.Prices);
            var view = ModelPriceView.For(entry.Name, prices.Priced(entry.Name));
            await AdminAudit.WriteAsync(http, "price.set", "price", entry.Name, before is null ? null : ModelPriceView.For(entry.Name, before), view);
            return TypedResults.Ok(view);
        }
    }

    private static async Task<Results<Ok<ModelPriceView>, ApiError>> DeleteAsync(string model, HttpContext http, ModelCatalog catalog, PriceList prices, IStoredConfigurationChanges changes)
    {
        var name = catalog.Find(model)?.Name ?? model;
        var before = prices.Priced(name);
        if (!await prices.RemoveAsync(name, http.RequestAborted))
        {
            return ApiError.NotFound($"No price was set at run time for '{Shorten(model)}' (prices from configuration are changed there).", "model");
        }

        await changes.PublishAsync(StoredConfiguration.Prices);

        var view = ModelPriceView.For(name, prices.Priced(name));
        await AdminAudit.WriteAsync(http, "price.delete", "price", name, before is null ? null : ModelPriceView.For(name, before), view);
        return TypedResults.Ok(view);
    }

    private static ApiError? Amount(JsonElement value, string field, Action<decimal> set)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDecimal(out var credits))
        {
            return JsonBody.WrongType(field, "an amount of credits (a number)", value);
        }

        set(credits);
        return null;
    }

    private static ApiError? Map(JsonElement value, string field, Dictionary<string, decimal> into)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            return JsonBody.WrongType(field, "an object of credits by name", value);
        }

        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.Number || !item.Value.TryGetDecimal(out var credits))
            {
                return JsonBody.WrongType($"{field}.{Shorten(item.Name)}", "an amount of credits (a number)", item.Value);
            }

            into[item.Name] = credits;
        }

        return null;
    }

    private static ApiError UnknownModel(string model) =>
        ApiError.NotFound($"Model '{Shorten(model)}' is not in the catalog (GET /v1/models lists the models; a channel's own models count once it lists them).", "model");

    private static string Shorten(string value) => value.Length <= 80 ? value : value[..80] + "…";
}
