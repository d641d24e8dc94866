using System.ComponentModel;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Reelay.Api.Errors;
using Reelay.Catalog;
using Reelay.Storage;

namespace Reelay.Api.Admin;

/// <summary>A catalog entry as admins see it: every field as it is in force, and where it comes from.</summary>
/// <param name="Source"><c>configuration</c>, <c>admin</c> (set at run time, over any configured entry of the name) or <c>channel</c> (listed by one, with its provider's defaults).</param>
/// <param name="UpdatedAt">When an admin set it (Unix ms); null otherwise.</param>
public sealed record CatalogModelView(
    string Name,
    string Object,
    string Source,
    long? UpdatedAt,
    string? ListedBy,
    IReadOnlyList<string> Aliases,
    string IdPrefix,
    string? Description,
    IReadOnlyList<string> AspectRatios,
    string DefaultAspectRatio,
    IReadOnlyList<string> Sizes,
    string DefaultSize,
    IReadOnlyList<string> PixelSizes,
    IReadOnlyList<int> Durations,
    int MinDuration,
    int MaxDuration,
    int DefaultDuration,
    IReadOnlyDictionary<string, IReadOnlyList<int>> DurationsBySize,
    int MaxImages,
    long MaxLifetimeSeconds,
    IReadOnlyDictionary<string, string> Options,
    IReadOnlyDictionary<string, string> UpstreamModels,
    RetirementView? Retired);

public sealed record CatalogModelList(string Object, IReadOnlyList<CatalogModelView> Data);

/// <summary>
/// Body of <c>PUT /admin/models/{name}</c>: the whole entry, as <c>Catalog:Models:&lt;name&gt;</c> spells it in
/// configuration (snake_case here). Fields left out take the configuration's defaults, not the current entry's.
/// </summary>
public sealed record SetCatalogModelRequest
{
    [Description("Other names clients may use (upstream ids, older relay names).")]
    public IReadOnlyList<string>? Aliases { get; init; }

    [Description("Prefix of the task ids this model issues; the model name by default.")]
    public string? IdPrefix { get; init; }

    [Description("One line for GET /v1/models.")]
    public string? Description { get; init; }

    [Description("Accepted aspect ratios (W:H), required; the first is the default unless default_aspect_ratio says otherwise.")]
    public required IReadOnlyList<string> AspectRatios { get; init; }

    public string? DefaultAspectRatio { get; init; }

    [Description("Accepted size classes (480P, 720P, 1080P, 4K), required.")]
    public required IReadOnlyList<string> Sizes { get; init; }

    public string? DefaultSize { get; init; }

    [Description("Exact pixel sizes (1792x1024) the model also takes.")]
    public IReadOnlyList<string>? PixelSizes { get; init; }

    [Description("Accepted durations in seconds when only some are allowed; otherwise min_duration–max_duration.")]
    public IReadOnlyList<int>? Durations { get; init; }

    public int? MinDuration { get; init; }

    public int? MaxDuration { get; init; }

    public int? DefaultDuration { get; init; }

    [Description("Sizes that allow only some durations, by size class: {\"1080P\":[8]}.")]
    public IReadOnlyDictionary<string, IReadOnlyList<int>>? DurationsBySize { get; init; }

    [Description("Most reference images one request may carry.")]
    public int? MaxImages { get; init; }

    [Description("A task not finished after this many seconds fails with timeout.")]
    public long? MaxLifetimeSeconds { get; init; }

    [Description("Options every task of this model carries, below the client's own.")]
    public IReadOnlyDictionary<string, string>? Options { get; init; }

    [Description("Upstream model id per provider name: {\"xai\":\"grok-imagine-video\"}.")]
    public IReadOnlyDictionary<string, string>? UpstreamModels { get; init; }

    [Description("Retires the model from a day on: {\"on\":\"2026-06-30\",\"replaced_by\":\"veo3.1\",\"redirect\":false}. Requests then get 400 model_retired naming the replacement, or, with redirect, run on it. null or left out: in service.")]
    public RetirementView? Retired { get; init; }
}

/// <summary>
/// The catalog at run time: every model in force with where it comes from; set an entry (persisted,
/// checked by the rules startup applies to the configuration, in force for creates from then on, on
/// other instances within seconds), or drop one back to the configuration's.
/// </summary>
public static partial class AdminModelsApi
{
    private const int MaxNames = 64;

    public static IEndpointRouteBuilder MapAdminModelsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/admin/models").RequireAdminKey().ProducesApiErrors(401, 403).WithTags("Admin");
        group.MapGet("/", List).WithName("ListCatalogModels").WithSummary("Every model in force, with where its entry comes from");
        group.MapGet("/{name}", Get).WithName("GetCatalogModel").WithSummary("One model's entry (by name or alias)").ProducesApiErrors(404);
        group.MapPut("/{name}", SetAsync).WithName("SetCatalogModel").WithSummary("Add a model, or replace one's entry (persisted; new creates use it)")
            .AcceptsBody<SetCatalogModelRequest>().ProducesApiErrors(400, 413, 415);
        group.MapDelete("/{name}", DeleteAsync).WithName("DeleteCatalogModel").WithSummary("Drop the run-time entry: the configuration's applies again, or the model is gone")
            .ProducesApiErrors(404);
        return routes;
    }

    private static Ok<CatalogModelList> List(ModelCatalog catalog) =>
        TypedResults.Ok(new CatalogModelList("list", [.. catalog.Entries.Select(entry => View(catalog, entry))]));

    private static Results<Ok<CatalogModelView>, ApiError> Get(string name, ModelCatalog catalog) =>
        catalog.Find(name) is { } entry ? TypedResults.Ok(View(catalog, entry)) : NotInCatalog(name);

    private static async Task<Results<Ok<CatalogModelView>, ApiError>> SetAsync(string name, HttpContext http, ModelCatalog catalog, IStoredConfigurationChanges changes, TimeProvider time)
    {
        if (!ModelName().IsMatch(name))
        {
            return ApiError.BadRequest($"'{Shorten(name)}' cannot name a model: use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit.", "name", "invalid_model");
        }

        // An alias names its model: PUT /admin/models/grok-imagine-video changes grok-video-3's entry.
        var existing = catalog.Find(name);
        if (existing is { ListedBy: null } && !existing.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        {
            return ApiError.BadRequest($"'{name}' is an alias of '{existing.Name}': change that entry (PUT /admin/models/{existing.Name}).", "name", "invalid_model");
        }

        var (document, error) = await JsonBody.ReadObjectAsync(http.Request, 64 * 1024);
        if (error is not null)
        {
            return error;
        }

        ModelOptions options;
        using (document)
        {
            if (Read(document!.RootElement, out options) is { } problem)
            {
                return problem;
            }
        }

        var modelName = existing?.ListedBy is null ? existing?.Name ?? name : name;
        if (catalog.Check(modelName, options) is [var first, ..] failures)
        {
            // The configuration's words (AspectRatios) as the API spells them (aspect_ratios).
            var message = failures.Count == 1 ? first : $"{first} ({failures.Count - 1} more problem{(failures.Count == 2 ? "" : "s")}.)";
            return ApiError.BadRequest($"The entry cannot be used: {SnakeCase(message)}", null, "invalid_model_entry");
        }

        var before = existing is null ? null : View(catalog, existing);
        await catalog.SetAsync(new StoredModel(modelName, options, time.GetUtcNow().ToUnixTimeMilliseconds()), http.RequestAborted);
        await changes.PublishAsync(StoredConfiguration.Catalog);
        var view = View(catalog, catalog.Find(modelName)!);
        await AdminAudit.WriteAsync(http, "model.set", "model", view.Name, before, view);
        return TypedResults.Ok(view);
    }

    private static async Task<Results<Ok<CatalogModelView>, ApiError>> DeleteAsync(string name, HttpContext http, ModelCatalog catalog, IStoredConfigurationChanges changes)
    {
        var entry = catalog.Find(name);
        var modelName = entry?.ListedBy is null ? entry?.Name ?? name : name;
        if (catalog.Stored(modelName) is null)
        {
            return entry is null
                ? NotInCatalog(name)
                : ApiError.NotFound($"'{Shorten(name)}' was not set at run time ({catalog.SourceOf(entry)} entries are changed there).", "name");
        }

        var before = View(catalog, entry!);
        await catalog.RemoveAsync(modelName, http.RequestAborted);
        await changes.PublishAsync(StoredConfiguration.Catalog);
        var after = catalog.Find(modelName) is { } restored ? View(catalog, restored) : null;
        await AdminAudit.WriteAsync(http, "model.delete", "model", modelName, before, after);
        return TypedResults.Ok(after ?? before);
    }

    /// <summary>Reads the body field by field into an entry, so a mistake is answered with the field's name.</summary>
    private static ApiError? Read(JsonElement body, out ModelOptions options)
    {
        options = new ModelOptions();
        var fields = JsonBody.Fields(body);
        foreach (var property in body.EnumerateObject())
        {
            var field = property.Name;
            switch (field)
            {
                case "aliases": options.Aliases = fields.StringArray(field, MaxNames, "a model name"); break;
                case "id_prefix": options.IdPrefix = fields.String(field); break;
                case "description": options.Description = fields.String(field); break;
                case "aspect_ratios": options.AspectRatios = fields.StringArray(field, MaxNames, "a ratio such as 16:9"); break;
                case "default_aspect_ratio": options.DefaultAspectRatio = fields.String(field); break;
                case "sizes": options.Sizes = fields.StringArray(field, MaxNames, "a size class such as 720P"); break;
                case "default_size": options.DefaultSize = fields.String(field); break;
                case "pixel_sizes": options.PixelSizes = fields.StringArray(field, MaxNames, "a size such as 1792x1024"); break;
                case "durations":
                    if (Seconds(property.Value) is { } durations)
                    {
                        options.Durations = durations;
                    }
                    else if (property.Value.ValueKind != JsonValueKind.Null)
                    {
                        return SecondsError(property.Value, field);
                    }

                    break;
                case "min_duration": options.MinDuration = (int)(fields.Integer(field, 1, 3600) ?? options.MinDuration); break;
                case "max_duration": options.MaxDuration = (int)(fields.Integer(field, 1, 3600) ?? options.MaxDuration); break;
                case "default_duration": options.DefaultDuration = (int)(fields.Integer(field, 1, 3600) ?? options.DefaultDuration); break;
                case "max_images": options.MaxImages = (int)(fields.Integer(field, 0, 16) ?? options.MaxImages); break;
                case "max_lifetime_seconds": options.MaxLifetime = TimeSpan.FromSeconds(fields.Integer(field, 10, 7 * 86_400) ?? (long)options.MaxLifetime.TotalSeconds); break;
                case "durations_by_size":
                    if (fields.Object(field) is { } bySize)
                    {
                        foreach (var size in bySize.EnumerateObject())
                        {
                            if (Seconds(size.Value) is not { } allowed)
                            {
                                return SecondsError(size.Value, $"{field}.{Shorten(size.Name)}");
                            }

                            options.DurationsBySize[size.Name] = allowed;
                        }
                    }

                    break;
                case "options":
                    if (Texts(fields, field, options.Options) is { } optionsError)
                    {
                        return optionsError;
                    }

                    break;
                case "upstream_models":
                    if (Texts(fields, field, options.UpstreamModels) is { } upstreamError)
                    {
                        return upstreamError;
                    }

                    break;
                case "retired":
                    if (RetirementField.Read(property.Value, field, out var retired) is { } retiredError)
                    {
                        return retiredError;
                    }

                    options.Retired = retired;
                    break;
                default:
                    return ApiError.BadRequest($"'{Shorten(field)}' is not a catalog entry field; see SetCatalogModelRequest in /openapi/v1.json.", Shorten(field), "unknown_field");
            }

            if (fields.Error is not null)
            {
                return fields.Error;
            }
        }

        return null;
    }

    /// <summary>An array of whole seconds (1–3600), or null when it is not one.</summary>
    private static List<int>? Seconds(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() > MaxNames)
        {
            return null;
        }

        var seconds = new List<int>();
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out var s) || s is < 1 or > 3600)
            {
                return null;
            }

            seconds.Add(s);
        }

        return seconds;
    }

    private static ApiError SecondsError(JsonElement value, string field) =>
        ApiError.BadRequest($"'{field}' must be an array of at most {MaxNames} whole seconds from 1 to 3600, got {JsonBody.Describe(value.ValueKind)}{(value.ValueKind == JsonValueKind.Array ? " with other items" : "")}.", field, "invalid_type");

    /// <summary>An object of strings by name, copied into <paramref name="into"/>.</summary>
    private static ApiError? Texts(JsonFields fields, string field, Dictionary<string, string> into)
    {
        if (fields.Object(field) is not { } map)
        {
            return fields.Error;
        }

        foreach (var item in map.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
            {
                return JsonBody.WrongType($"{field}.{Shorten(item.Name)}", "a string", item.Value);
            }

            into[item.Name] = item.Value.GetString()!;
        }

        return null;
    }

    private static CatalogModelView View(ModelCatalog catalog, ModelEntry entry) => new(
        entry.Name,
        "catalog.model",
        catalog.SourceOf(entry),
        catalog.Stored(entry.Name)?.UpdatedAt,
        entry.ListedBy,
        entry.Aliases,
        entry.IdPrefix,
        entry.Description,
        entry.AspectRatios,
        entry.DefaultAspectRatio,
        entry.Sizes,
        entry.DefaultSize,
        entry.PixelSizes,
        entry.Durations,
        entry.MinDuration,
        entry.MaxDuration,
        entry.DefaultDuration,
        entry.DurationsBySize,
        entry.MaxImages,
        (long)entry.MaxLifetime.TotalSeconds,
        entry.Options,
        entry.UpstreamModels,
        RetirementView.Of(entry.Retirement));

    private static ApiError NotInCatalog(string name) =>
        ApiError.NotFound($"Model '{Shorten(name)}' is not in the catalog (GET /admin/models lists it; PUT /admin/models/{{name}} adds one).", "name");

    /// <summary>The validator's configuration names (<c>AspectRatios</c>, <c>DefaultDuration</c>) as this API spells them.</summary>
    private static string SnakeCase(string message) =>
        ConfigurationWord().Replace(message, match => JsonNamingPolicy.SnakeCaseLower.ConvertName(match.Value));

    private static string Shorten(string value) => value.Length <= 80 ? value : value[..80] + "…";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex ModelName();

    [GeneratedRegex(@"\b(AspectRatios|Sizes|PixelSizes|DefaultDuration|Durations|DefaultAspectRatio|DefaultSize)\b")]
    private static partial Regex ConfigurationWord();
}
