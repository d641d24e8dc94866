using System.ComponentModel;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Reelay.Api.Errors;
using Reelay.Catalog;
using Reelay.Channels;
using Reelay.Secrets;
using Reelay.Storage;

namespace Reelay.Api.Admin;

/// <summary>A channel as admins see it: the secret is write-only, shown only as <c>has_api_key</c>.</summary>
/// <param name="DisabledReason">Why Reelay keeps it disabled whatever <c>enabled</c> says (its api_key does not decrypt); null otherwise.</param>
public sealed record ChannelView(
    string Name,
    string Object,
    string Provider,
    string? BaseUrl,
    bool HasApiKey,
    IReadOnlyList<string> Models,
    int Priority,
    int Weight,
    bool Enabled,
    int SubmitsPerMinute,
    int PollsPerMinute,
    long? PollIntervalMs,
    string? PublicCallbackBaseUrl,
    string Source,
    string Breaker,
    int ConsecutiveFailures,
    string? DisabledReason)
{
    /// <summary>Google Cloud project (Vertex AI channels); left out elsewhere.</summary>
    /// <summary>Unfinished tasks this instance has on the channel (submitted or polled, not ended).</summary>
    public int InFlight { get; init; }

    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Project { get; init; }

    /// <summary>Google Cloud location (Vertex AI channels); left out elsewhere.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Location { get; init; }

    /// <summary>Cloud Storage bucket results go to (Vertex AI channels); left out elsewhere.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Bucket { get; init; }

    /// <summary>Median and 95th percentile of the channel's recent upstream calls on this instance, by operation (submit, poll, download, cancel); empty before the first call.</summary>
    public IReadOnlyDictionary<string, LatencySummary> Latency { get; init; } = new Dictionary<string, LatencySummary>();

    /// <summary>The listed models it retires, by name (empty when none).</summary>
    public IReadOnlyDictionary<string, RetirementView> RetiredModels { get; init; } = new Dictionary<string, RetirementView>();
}

public sealed record ChannelList(string Object, IReadOnlyList<ChannelView> Data);

/// <summary>
/// Body of <c>POST /admin/channels</c>. The handler reads it field by field (<see cref="JsonBody"/>) so a
/// mistake is answered with the field's name; this record declares the same shape in the OpenAPI document.
/// </summary>
public sealed record CreateChannelRequest
{
    [Description("A unique label such as \"xai-main\", recorded on every task routed through it.")]
    public required string Name { get; init; }

    [Description("xai, veo, vertex-veo, gemini-omni, sora, unified, seedance, kling… (the provider names; a bad one is answered with the list).")]
    public required string Provider { get; init; }

    [Description("Upstream address; the provider's public endpoint when left out (required for unified).")]
    public string? BaseUrl { get; init; }

    [Description("The upstream secret; write-only (answers show has_api_key).")]
    public string? ApiKey { get; init; }

    [Description("vertex-veo, or gemini-omni on Vertex AI: the service-account JSON key (the key file's text, or the object itself) instead of api_key; write-only, kept like api_key (answers show has_api_key).")]
    public string? ServiceAccountKey { get; init; }

    [Description("Vertex AI: the Google Cloud project; the key's project_id when left out.")]
    public string? Project { get; init; }

    [Description("Vertex AI: the region (us-central1 when left out; gemini-omni is global only).")]
    public string? Location { get; init; }

    [Description("Vertex AI: a Cloud Storage bucket (my-bucket or gs://my-bucket/prefix) for results; inline when left out.")]
    public string? Bucket { get; init; }

    [Description("Public model names it serves; \"public=upstream\" maps a name. Empty: every catalog model with an upstream id for this provider.")]
    public IReadOnlyList<string>? Models { get; init; }

    [Description("Lower is tried first.")]
    public int? Priority { get; init; }

    [Description("Share of traffic among channels of equal priority (1 when left out).")]
    public int? Weight { get; init; }

    [Description("true when left out.")]
    public bool? Enabled { get; init; }

    [Description("Submit budget; 0 is unlimited.")]
    public int? SubmitsPerMinute { get; init; }

    [Description("Poll budget; 0 is unlimited.")]
    public int? PollsPerMinute { get; init; }

    [Description("First poll delay in milliseconds (50 to 3600000); the provider's when left out.")]
    public long? PollIntervalMs { get; init; }

    [Description("Reelay's address as the upstream sees it (absolute http(s), no query), e.g. \"https://reelay.example.com/\": providers that call back get a per-job callback URL under it. None when left out.")]
    public string? PublicCallbackBaseUrl { get; init; }

    [Description("Models it lists that are retired, by name: {\"old-model\":{\"on\":\"2026-06-30\",\"replaced_by\":\"new-model\",\"redirect\":false}}. The whole map; null or {} puts them all back in service. A catalog model is retired in its catalog entry instead.")]
    public IReadOnlyDictionary<string, RetirementView>? RetiredModels { get; init; }
}

/// <summary>Body of <c>PATCH /admin/channels/{name}</c>: only the fields present change; a channel cannot be renamed.</summary>
public sealed record UpdateChannelRequest
{
    [Description("If present, the channel's current name: channels cannot be renamed.")]
    public string? Name { get; init; }

    [Description("xai, veo, vertex-veo, gemini-omni, sora, unified, seedance, kling… (the provider names; a bad one is answered with the list).")]
    public string? Provider { get; init; }

    [Description("Upstream address; null or \"\" resets it to the provider's public endpoint.")]
    public string? BaseUrl { get; init; }

    [Description("The upstream secret; null or \"\" removes it.")]
    public string? ApiKey { get; init; }

    [Description("A new service-account JSON key (Vertex AI), replacing the channel's secret; null or \"\" removes it.")]
    public string? ServiceAccountKey { get; init; }

    [Description("Vertex AI project; null or \"\" uses the key's project_id.")]
    public string? Project { get; init; }

    [Description("Vertex AI region; null or \"\" resets it to the provider's default.")]
    public string? Location { get; init; }

    [Description("Cloud Storage bucket for results; null or \"\" makes results inline.")]
    public string? Bucket { get; init; }

    [Description("Public model names it serves; \"public=upstream\" maps a name.")]
    public IReadOnlyList<string>? Models { get; init; }

    [Description("Lower is tried first.")]
    public int? Priority { get; init; }

    [Description("Share of traffic among channels of equal priority.")]
    public int? Weight { get; init; }

    public bool? Enabled { get; init; }

    [Description("Submit budget; 0 is unlimited.")]
    public int? SubmitsPerMinute { get; init; }

    [Description("Poll budget; 0 is unlimited.")]
    public int? PollsPerMinute { get; init; }

    [Description("First poll delay in milliseconds (50 to 3600000).")]
    public long? PollIntervalMs { get; init; }

    [Description("Reelay's address as the upstream sees it (absolute http(s), no query); null or \"\" turns callbacks off.")]
    public string? PublicCallbackBaseUrl { get; init; }

    [Description("Models it lists that are retired, by name: {\"old-model\":{\"on\":\"2026-06-30\",\"replaced_by\":\"new-model\",\"redirect\":false}}. The whole map; null or {} puts them all back in service. A catalog model is retired in its catalog entry instead.")]
    public IReadOnlyDictionary<string, RetirementView>? RetiredModels { get; init; }
}

/// <summary>
/// Channels at run time: <c>POST/GET/PATCH/DELETE /admin/channels</c>, fields as in configuration
/// but snake_case. Channels defined in configuration are listed but changed only there.
/// </summary>
public static class AdminChannelsApi
{
    public static IEndpointRouteBuilder MapAdminChannelsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/admin/channels").RequireAdminKey().ProducesApiErrors(401, 403).WithTags("Admin");
        group.MapPost("/", CreateAsync).WithName("CreateChannel").WithSummary("Add an upstream channel")
            .AcceptsBody<CreateChannelRequest>().ProducesApiErrors(400, 409, 413, 415);
        group.MapGet("/", List).WithName("ListChannels").WithSummary("List channels with their health");
        group.MapGet("/{name}", Get).WithName("GetChannel").WithSummary("One channel").ProducesApiErrors(404);
        group.MapPatch("/{name}", UpdateAsync).WithName("UpdateChannel").WithSummary("Change an admin-created channel")
            .AcceptsBody<UpdateChannelRequest>().ProducesApiErrors(400, 404, 409, 413, 415);
        // 409: channels from configuration are changed only there.
        group.MapDelete("/{name}", DeleteAsync).WithName("DeleteChannel").WithSummary("Remove an admin-created channel").ProducesApiErrors(404, 409);
        return routes;
    }

    private static async Task<Results<Created<ChannelView>, ApiError>> CreateAsync(HttpContext http, ChannelRegistry registry, IChannelStore store, ModelCatalog catalog, UnreadableSecrets unreadable, IStoredConfigurationChanges changes, TimeProvider time)
    {
        var (document, error) = await JsonBody.ReadObjectAsync(http.Request, 64 * 1024);
        if (error is not null)
        {
            return error;
        }

        using (document)
        {
            var channel = new ChannelOptions();
            error = Apply(document!.RootElement, channel, creating: true);
            if (error is not null)
            {
                return error;
            }

            var taken = new HashSet<string>(registry.Channels.Select(c => c.Name).Append(ChannelRegistry.LocalChannelName), StringComparer.OrdinalIgnoreCase);
            if (registry.Validate(channel, taken) is { } problem)
            {
                return problem.Kind == ChannelProblemKind.NameTaken
                    ? new ApiError(409, $"A channel named '{channel.Name}' already exists.", "channel_exists", "name")
                    : ApiError.BadRequest(problem.Message, problem.Field, "invalid_channel");
            }

            if (RetiresCatalogModel(channel, catalog) is { } misplaced)
            {
                return misplaced;
            }

            if (!await store.InsertAsync(channel, time.GetUtcNow().ToUnixTimeMilliseconds(), http.RequestAborted))
            {
                return new ApiError(409, $"A channel named '{channel.Name}' already exists.", "channel_exists", "name");
            }

            await registry.ReloadAsync(http.RequestAborted);
            await changes.PublishAsync(StoredConfiguration.Channels);
            var created = AsView(registry, registry.Find(channel.Name)!, unreadable);
            await AdminAudit.WriteAsync(http, "channel.create", "channel", created.Name, null, created, SecretNote(document.RootElement));
            return TypedResults.Created($"/admin/channels/{channel.Name}", created);
        }
    }

    private static Ok<ChannelList> List(ChannelRegistry registry, UnreadableSecrets unreadable) =>
        TypedResults.Ok(new ChannelList("list", [.. registry.Channels.Select(c => AsView(registry, c, unreadable))]));

    private static Results<Ok<ChannelView>, ApiError> Get(string name, ChannelRegistry registry, UnreadableSecrets unreadable) =>
        registry.Find(name) is { } channel && channel != registry.Local
            ? TypedResults.Ok(AsView(registry, channel, unreadable))
            : ApiError.NotFound($"No channel named '{name}'.", "name");

    private static async Task<Results<Ok<ChannelView>, ApiError>> UpdateAsync(string name, HttpContext http, ChannelRegistry registry, IChannelStore store, ModelCatalog catalog, UnreadableSecrets unreadable, IStoredConfigurationChanges changes, TimeProvider time)
    {
        var current = (await store.ListAsync(http.RequestAborted)).FirstOrDefault(c => c.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
        if (current is null)
        {
            return registry.IsConfigured(name) ? InConfiguration(name) : ApiError.NotFound($"No channel named '{name}'.", "name");
        }

        var (document, error) = await JsonBody.ReadObjectAsync(http.Request, 64 * 1024);
        if (error is not null)
        {
            return error;
        }

        using (document)
        {
            // A name that is not a string falls through to Apply, which answers that it must be one.
            if (document!.RootElement.TryGetProperty("name", out var newName) && newName.ValueKind == JsonValueKind.String
                && newName.GetString() is { } renamed && !renamed.Equals(current.Name, StringComparison.OrdinalIgnoreCase))
            {
                return ApiError.BadRequest("A channel cannot be renamed: create a new one and delete this one.", "name", "invalid_channel");
            }

            // A key that does not decrypt is replaced, not kept: changing anything else would leave the channel off.
            if (unreadable.Find(SecretPurposes.ChannelApiKey, current.Name) is { } reason)
            {
                if (!document.RootElement.TryGetProperty("api_key", out _) && !document.RootElement.TryGetProperty("service_account_key", out _))
                {
                    return ApiError.BadRequest($"Channel '{current.Name}' is disabled: its {reason}. Send \"api_key\" (or \"service_account_key\") with this change.", "api_key", "api_key_unreadable");
                }

                // It was off only for want of a key: with a new one it is back on, unless the body says otherwise.
                current.Enabled = true;
            }

            error = Apply(document.RootElement, current, creating: false);
            if (error is not null)
            {
                return error;
            }

            var taken = new HashSet<string>(registry.Channels.Where(c => !c.Name.Equals(current.Name, StringComparison.OrdinalIgnoreCase)).Select(c => c.Name), StringComparer.OrdinalIgnoreCase);
            if (registry.Validate(current, taken) is { } problem)
            {
                return ApiError.BadRequest(problem.Message, problem.Field, "invalid_channel");
            }

            if (RetiresCatalogModel(current, catalog) is { } misplaced)
            {
                return misplaced;
            }

            var before = registry.Find(current.Name) is { } old ? AsView(registry, old, unreadable) : null;
            await store.UpdateAsync(current, time.GetUtcNow().ToUnixTimeMilliseconds(), http.RequestAborted);
            await registry.ReloadAsync(http.RequestAborted);
            await changes.PublishAsync(StoredConfiguration.Channels);
            var updated = AsView(registry, registry.Find(current.Name)!, unreadable);
            await AdminAudit.WriteAsync(http, "channel.update", "channel", updated.Name, before, updated, SecretNote(document.RootElement));
            return TypedResults.Ok(updated);
        }
    }

    private static async Task<Results<Ok<ChannelView>, ApiError>> DeleteAsync(string name, HttpContext http, ChannelRegistry registry, IChannelStore store, UnreadableSecrets unreadable, IStoredConfigurationChanges changes, CancellationToken cancellationToken)
    {
        var channel = registry.Find(name);
        if (channel is null || channel == registry.Local)
        {
            return channel is null ? ApiError.NotFound($"No channel named '{name}'.", "name") : InConfiguration(name);
        }

        if (channel.Source == ChannelSource.Config)
        {
            return InConfiguration(name);
        }

        var deleted = AsView(registry, channel, unreadable);
        await store.DeleteAsync(channel.Name, cancellationToken);
        await registry.ReloadAsync(cancellationToken);
        await changes.PublishAsync(StoredConfiguration.Channels);
        await AdminAudit.WriteAsync(http, "channel.delete", "channel", deleted.Name, deleted, null);
        return TypedResults.Ok(deleted);
    }

    /// <summary>
    /// The audit's words for the write-only secrets a body sets or clears (<c>api_key changed</c>): the
    /// views before and after show only that one is there, so without this a new key would leave no trace.
    /// </summary>
    private static string? SecretNote(JsonElement body)
    {
        foreach (var field in (string[])["api_key", "service_account_key"])
        {
            if (body.TryGetProperty(field, out var secret))
            {
                var set = secret.ValueKind == JsonValueKind.Object || (secret.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(secret.GetString()));
                return set ? $"{field} changed" : $"{field} removed";
            }
        }

        return null;
    }

    /// <summary>Copies the fields present in the body onto the channel. <c>name</c> and <c>provider</c> are required on create.</summary>
    private static ApiError? Apply(JsonElement body, ChannelOptions channel, bool creating)
    {
        var fields = JsonBody.Fields(body);
        var name = fields.String("name");
        var provider = fields.String("provider");
        var baseUrl = fields.String("base_url");
        var apiKey = fields.String("api_key");
        var models = body.TryGetProperty("models", out _) ? fields.StringArray("models", 500, "a public model name, or public=upstream") : null;
        var priority = fields.Integer("priority", -1_000_000, 1_000_000);
        var weight = fields.Integer("weight", 1, 1_000_000);
        var enabled = fields.Boolean("enabled");
        var submits = fields.Integer("submits_per_minute", 0, 1_000_000);
        var polls = fields.Integer("polls_per_minute", 0, 1_000_000);
        var pollInterval = fields.Integer("poll_interval_ms", 50, 3_600_000);
        var callbackBase = fields.String("public_callback_base_url");
        var project = fields.String("project");
        var location = fields.String("location");
        var bucket = fields.String("bucket");
        // The key file's text, or the key pasted as the JSON object itself.
        var serviceAccountKey = body.TryGetProperty("service_account_key", out var key) && key.ValueKind == JsonValueKind.Object
            ? key.GetRawText()
            : fields.String("service_account_key");
        if (fields.Error is not null)
        {
            return fields.Error;
        }

        if (body.TryGetProperty("service_account_key", out _) && body.TryGetProperty("api_key", out _))
        {
            return ApiError.BadRequest("Send 'service_account_key' or 'api_key', not both: a channel holds one secret.", "service_account_key", "invalid_channel");
        }

        if (creating)
        {
            if (string.IsNullOrWhiteSpace(name))
            {
                return ApiError.BadRequest("'name' is required: a unique label such as \"xai-main\".", "name", "missing_field");
            }

            if (string.IsNullOrWhiteSpace(provider))
            {
                return ApiError.BadRequest("'provider' is required: one of xai, veo, sora, unified, local.", "provider", "missing_field");
            }

            channel.Name = name.Trim();
        }

        if (provider is not null)
        {
            channel.Provider = provider.Trim().ToLowerInvariant();
        }

        if (body.TryGetProperty("base_url", out _))
        {
            channel.BaseUrl = string.IsNullOrWhiteSpace(baseUrl) ? null : baseUrl.Trim();
        }

        if (body.TryGetProperty("api_key", out _))
        {
            channel.ApiKey = string.IsNullOrWhiteSpace(apiKey) ? null : apiKey.Trim();
        }

        // The same secret, by the name Google gives it: stored, encrypted and reported as api_key is.
        if (body.TryGetProperty("service_account_key", out _))
        {
            channel.ApiKey = string.IsNullOrWhiteSpace(serviceAccountKey) ? null : serviceAccountKey.Trim();
        }

        if (body.TryGetProperty("project", out _))
        {
            channel.Project = string.IsNullOrWhiteSpace(project) ? null : project.Trim();
        }

        if (body.TryGetProperty("location", out _))
        {
            channel.Location = string.IsNullOrWhiteSpace(location) ? null : location.Trim();
        }

        if (body.TryGetProperty("bucket", out _))
        {
            channel.Bucket = string.IsNullOrWhiteSpace(bucket) ? null : bucket.Trim();
        }

        channel.Models = models ?? channel.Models;
        channel.Priority = (int)(priority ?? channel.Priority);
        channel.Weight = (int)(weight ?? channel.Weight);
        channel.Enabled = enabled ?? channel.Enabled;
        channel.SubmitsPerMinute = (int)(submits ?? channel.SubmitsPerMinute);
        channel.PollsPerMinute = (int)(polls ?? channel.PollsPerMinute);
        if (pollInterval is { } ms)
        {
            channel.PollInterval = TimeSpan.FromMilliseconds(ms);
        }

        if (body.TryGetProperty("public_callback_base_url", out _))
        {
            // Checked with the rest of the channel (ChannelRules): absolute http(s), no query.
            channel.PublicCallbackBaseUrl = string.IsNullOrWhiteSpace(callbackBase) ? null : callbackBase.Trim();
        }

        // The whole map, as models is: a name left out is back in service.
        if (body.TryGetProperty("retired_models", out var retiredModels))
        {
            return ReadRetiredModels(retiredModels, channel);
        }

        return null;
    }

    /// <summary><c>{"old-model": {"on", "replaced_by", "redirect"}}</c> (or null: none retired), checked against the models by <see cref="ChannelRules"/>.</summary>
    private static ApiError? ReadRetiredModels(JsonElement value, ChannelOptions channel)
    {
        var retired = new Dictionary<string, RetirementOptions>(StringComparer.OrdinalIgnoreCase);
        channel.RetiredModels = retired;
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            return JsonBody.WrongType("retired_models", "an object of retirements by model name, or null", value);
        }

        foreach (var model in value.EnumerateObject())
        {
            var field = "retired_models." + (model.Name.Length <= 80 ? model.Name : model.Name[..80] + "…");
            if (RetirementField.Read(model.Value, field, out var retirement) is { } error)
            {
                return error;
            }

            if (retirement is not null)
            {
                retired[model.Name.Trim()] = retirement;
            }
        }

        return null;
    }

    /// <summary>A catalog model's listing is overridden by its entry, so a channel's retirement of it would do nothing: say where it goes.</summary>
    private static ApiError? RetiresCatalogModel(ChannelOptions channel, ModelCatalog catalog) =>
        channel.RetiredModels.Keys.FirstOrDefault(model => catalog.Find(model) is { ListedBy: null }) is { } name
            ? ApiError.BadRequest($"'{name}' is a catalog model: retire it in its catalog entry (PUT /admin/models/{catalog.Find(name)!.Name} with \"retired\"), not on a channel.", "retired_models", "invalid_channel")
            : null;

    private static ApiError InConfiguration(string name) =>
        new(409, $"Channel '{name}' is defined in configuration (appsettings.json or REELAY_Channels__*); change it there and restart.", "channel_in_configuration", "name");

    private static ChannelView AsView(ChannelRegistry registry, Channel channel, UnreadableSecrets unreadable)
    {
        var state = registry.StateOf(channel);
        return new ChannelView(
            channel.Name,
            "channel",
            channel.Provider,
            channel.Settings.BaseUrl?.ToString().TrimEnd('/'),
            channel.Settings.ApiKey is not null,
            channel.ModelsAsConfigured,
            channel.Priority,
            channel.Weight,
            channel.Enabled,
            channel.SubmitsPerMinute,
            channel.PollsPerMinute,
            (long?)channel.PollInterval?.TotalMilliseconds,
            channel.PublicCallbackBaseUrl?.ToString(),
            channel.Source == ChannelSource.Admin ? "admin" : "config",
            state.Breaker switch
            {
                BreakerState.Open => "open",
                BreakerState.HalfOpen => "half_open",
                _ => "closed",
            },
            state.ConsecutiveFailures,
            channel.Source == ChannelSource.Admin ? unreadable.Find(SecretPurposes.ChannelApiKey, channel.Name) : null)
        {
            InFlight = state.InFlight,
            Latency = state.Latency.Summarize(),
            Project = channel.Settings.Project,
            Location = channel.Settings.Location,
            Bucket = channel.Settings.Bucket,
            RetiredModels = channel.RetiredModels.ToDictionary(pair => pair.Key, pair => RetirementView.Of(pair.Value)!, StringComparer.Ordinal),
        };
    }
}
