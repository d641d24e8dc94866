using System.Text.Json;
using System.Text.Json.Serialization;
using System.Data.Common;
using Reelay.Billing;
using Reelay.Keys;
using Reelay.Tasks;

namespace Reelay.Storage.Relational;

/// <summary>
/// The task row ↔ <see cref="VideoTask"/> mapping both backends share (their <c>tasks</c> tables have the
/// same columns), by hand: the query and create paths run it on every request, so columns are read by
/// position from one fixed list instead of by reflection.
/// </summary>
internal static class TaskRows
{
    /// <summary>Every column, in the order <see cref="Read"/> expects them.</summary>
    public const string Columns = """
        id, owner_key_id, mode, model, requested_model, prompt, negative_prompt, aspect_ratio, size, duration, seed,
        images_json, options_json, callback_url, idempotency_key, surface, remixed_from, stage, progress, created_at,
        updated_at, completed_at, deadline_at, next_at, lease_token, lease_until, attempts, polls, poll_failures, channel,
        provider, upstream_model, upstream_id, result_location, route_json, enhanced_prompt, video_key, thumbnail_key,
        width, height, video_duration, video_bytes, error_code, error_message, account_id, held, charged, released,
        price_unit, unit_price, upstream_cost, trace_parent
        """;

    /// <summary>What the poller and finisher claim: everything but the request's image references, which only the dispatcher reads.</summary>
    public static readonly string EngineColumns = Columns.Replace("images_json", "'[]'", StringComparison.Ordinal);

    /// <summary>
    /// The columns client reads need: the same list with the request's images (data URIs can be
    /// megabytes), options and route left out, so a query never drags them through.
    /// </summary>
    public static readonly string ClientColumns = Columns
        .Replace("images_json", "'[]'", StringComparison.Ordinal)
        .Replace("options_json", "'{}'", StringComparison.Ordinal)
        .Replace("route_json", "'[]'", StringComparison.Ordinal)
        .Replace("trace_parent", "NULL", StringComparison.Ordinal);

    public static VideoTask Read(DbDataReader r) => new()
    {
        Id = r.GetString(0),
        OwnerKeyId = r.GetString(1),
        Mode = ParseMode(r.GetString(2)),
        Model = r.GetString(3),
        RequestedModel = r.GetString(4),
        Prompt = r.GetString(5),
        NegativePrompt = String(r, 6),
        AspectRatio = r.GetString(7),
        Size = r.GetString(8),
        Duration = r.GetInt32(9),
        Seed = Int64(r, 10),
        Images = ReadList(r.GetString(11)),
        Options = ReadOptions(r.GetString(12)),
        CallbackUrl = String(r, 13),
        IdempotencyKey = String(r, 14),
        Surface = r.GetString(15) == OpenAiSurface ? TaskSurface.OpenAi : TaskSurface.Unified,
        RemixedFrom = String(r, 16),
        Stage = ParseStage(r.GetString(17)),
        Progress = r.GetInt32(18),
        CreatedAt = r.GetInt64(19),
        UpdatedAt = r.GetInt64(20),
        CompletedAt = Int64(r, 21),
        DeadlineAt = r.GetInt64(22),
        NextAt = r.GetInt64(23),
        LeaseToken = String(r, 24),
        LeaseUntil = Int64(r, 25),
        Attempts = r.GetInt32(26),
        Polls = r.GetInt32(27),
        PollFailures = r.GetInt32(28),
        Channel = String(r, 29),
        Provider = String(r, 30),
        UpstreamModel = String(r, 31),
        UpstreamId = String(r, 32),
        ResultLocation = String(r, 33),
        Route = ReadRoute(r.GetString(34)),
        EnhancedPrompt = String(r, 35),
        VideoKey = String(r, 36),
        ThumbnailKey = String(r, 37),
        Width = r.IsDBNull(38) ? null : r.GetInt32(38),
        Height = r.IsDBNull(39) ? null : r.GetInt32(39),
        VideoDuration = r.IsDBNull(40) ? null : r.GetDouble(40),
        VideoBytes = Int64(r, 41),
        Error = r.IsDBNull(42) ? null : new TaskError(r.GetString(42), String(r, 43) ?? r.GetString(42)),
        AccountId = String(r, 44) ?? "",
        Held = r.GetInt64(45),
        Charged = Int64(r, 46),
        Released = Int64(r, 47),
        PriceUnit = Price.ParseUnit(String(r, 48)),
        UnitPrice = r.GetInt64(49),
        UpstreamCost = Int64(r, 50),
        TraceParent = String(r, 51),
    };

    /// <summary>Runs a command and reads every row it returns into tasks.</summary>
    public static async Task<List<VideoTask>> ReadAllAsync(DbCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await ReadAllAsync(reader, cancellationToken);
    }

    /// <summary>Reads every row into tasks.</summary>
    public static async Task<List<VideoTask>> ReadAllAsync(DbDataReader reader, CancellationToken cancellationToken)
    {
        var tasks = new List<VideoTask>();
        while (await reader.ReadAsync(cancellationToken))
        {
            tasks.Add(Read(reader));
        }

        return tasks;
    }

    /// <summary>
    /// The <c>WHERE</c> clause of an operator's task list and the parameters it names: only the filters given
    /// go into the statement, so an account's or a key's tasks are read along <c>ix_tasks_owner</c>. Rows
    /// come newest first, by (created_at, <see cref="SqlDialect.TaskOrder"/>).
    /// </summary>
    public static (string Where, List<(string Name, object Value)> Parameters) OperatorFilter(TaskFilter filter, SqlDialect dialect)
    {
        var p = dialect.ParameterMarker;
        var order = dialect.TaskOrder;
        var where = new List<string>();
        var parameters = new List<(string Name, object Value)>();
        void Filter(string clause, string name, object? value)
        {
            if (value is not null)
            {
                where.Add(clause);
                parameters.Add((p + name, value));
            }
        }

        Filter($"owner_key_id IN (SELECT id FROM api_keys WHERE account_id = {p}account)", "account", filter.AccountId);
        Filter($"owner_key_id = {p}key", "key", filter.KeyId);
        Filter($"model = {p}model", "model", filter.Model);
        Filter($"channel = {p}channel", "channel", filter.Channel);
        Filter($"created_at >= {p}from", "from", filter.From);
        Filter($"created_at < {p}to", "to", filter.To);
        Filter(dialect.IsAnyOf("stage", $"{p}stages"), "stages", filter.Stages is { } stages ? dialect.Texts([.. stages.Select(ToText)]) : null);
        Filter($"(created_at, {order}) < (SELECT created_at, {order} FROM tasks AS previous WHERE previous.id = {p}after)", "after", filter.After);
        return (where.Count == 0 ? "" : "WHERE " + string.Join(" AND ", where), parameters);
    }

    /// <summary>The stage as the <c>stage</c> column spells it (the SQL of the store names these words).</summary>
    public static string ToText(TaskStage stage) => stage switch
    {
        TaskStage.Pending => "pending",
        TaskStage.Submitting => "submitting",
        TaskStage.Running => "running",
        TaskStage.Finishing => "finishing",
        TaskStage.Completed => "completed",
        TaskStage.Failed => "failed",
        TaskStage.Cancelled => "cancelled",
        _ => throw new ArgumentOutOfRangeException(nameof(stage)),
    };

    public static TaskStage ParseStage(string text) => text switch
    {
        "pending" => TaskStage.Pending,
        "submitting" => TaskStage.Submitting,
        "running" => TaskStage.Running,
        "finishing" => TaskStage.Finishing,
        "completed" => TaskStage.Completed,
        "failed" => TaskStage.Failed,
        "cancelled" => TaskStage.Cancelled,
        _ => throw new InvalidDataException($"Unknown task stage '{text}' in the database."),
    };

    public static string ToText(KeyMode mode) => mode == KeyMode.Test ? "test" : "live";

    public static KeyMode ParseMode(string text) => text == "test" ? KeyMode.Test : KeyMode.Live;

    // Most requests have no images (and no options): their column text needs no serializer.
    public static string Json(IReadOnlyList<string> values) =>
        values.Count == 0 ? "[]" : JsonSerializer.Serialize(values, StoreJsonContext.Default.IReadOnlyListString);

    public static string Json(IReadOnlyDictionary<string, string> options) =>
        options.Count == 0 ? "{}" : JsonSerializer.Serialize(options, StoreJsonContext.Default.IReadOnlyDictionaryStringString);

    public static string Json(IReadOnlyList<RouteStep> route) => JsonSerializer.Serialize(route, StoreJsonContext.Default.IReadOnlyListRouteStep);

    public static IReadOnlyList<string> ReadList(string json) =>
        json == "[]" ? [] : JsonSerializer.Deserialize(json, StoreJsonContext.Default.IReadOnlyListString) ?? [];

    // Client reads select '{}' here (ClientColumns): every query would otherwise parse it into a new dictionary.
    private static IReadOnlyDictionary<string, string> ReadOptions(string json) =>
        json == "{}" ? NoOptions : JsonSerializer.Deserialize(json, StoreJsonContext.Default.IReadOnlyDictionaryStringString) ?? NoOptions;

    private static readonly IReadOnlyDictionary<string, string> NoOptions = System.Collections.ObjectModel.ReadOnlyDictionary<string, string>.Empty;

    private static IReadOnlyList<RouteStep> ReadRoute(string json) =>
        json == "[]" ? [] : JsonSerializer.Deserialize(json, StoreJsonContext.Default.IReadOnlyListRouteStep) ?? [];

    /// <summary>The surface as the <c>surface</c> column spells it.</summary>
    public static string ToText(TaskSurface surface) => surface == TaskSurface.OpenAi ? OpenAiSurface : UnifiedSurface;

    private const string UnifiedSurface = "unified";
    private const string OpenAiSurface = "openai";

    private static string? String(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static long? Int64(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetInt64(i);
}

/// <summary>The JSON columns of the schema: lists and maps the row keeps as text.</summary>
[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
[JsonSerializable(typeof(IReadOnlyList<RouteStep>))]
[JsonSerializable(typeof(IReadOnlyDictionary<string, long>))]
[JsonSerializable(typeof(Reelay.Catalog.ModelOptions))]
internal sealed partial class StoreJsonContext : JsonSerializerContext;
