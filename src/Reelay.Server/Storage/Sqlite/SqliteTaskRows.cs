using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Data.Sqlite;
using Reelay.Billing;
using Reelay.Keys;
using Reelay.Tasks;

namespace Reelay.Storage.Sqlite;

/// <summary>
/// The task row ↔ <see cref="VideoTask"/> mapping, by hand: the query and create paths run it on
/// every request, so columns are read by position from one fixed list instead of by reflection.
/// </summary>
internal static class SqliteTaskRows
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

    public static VideoTask Read(SqliteDataReader r) => new()
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

    /// <summary>Reads every row of a command into tasks.</summary>
    public static async Task<List<VideoTask>> ReadAllAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        var tasks = new List<VideoTask>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            tasks.Add(Read(reader));
        }

        return tasks;
    }

    /// <summary>The insert's parameters, in the order <see cref="BindInsert"/> sets them.</summary>
    private static readonly string[] InsertParameters =
    [
        "$id", "$owner", "$mode", "$model", "$requested_model", "$prompt", "$negative_prompt", "$aspect_ratio", "$size",
        "$duration", "$seed", "$images_json", "$options_json", "$callback_url", "$idempotency_key", "$surface", "$remixed_from",
        "$stage", "$progress", "$created_at", "$updated_at", "$deadline_at", "$next_at",
        "$account_id", "$held", "$price_unit", "$unit_price", "$hold_seq", "$cancel_at", "$webhook_events", "$trace_parent",
    ];

    /// <summary>
    /// Binds the columns a new task is inserted with. The session keeps the prepared insert with its
    /// parameters: they are made once per session, and each row only sets their values.
    /// </summary>
    public static void BindInsert(SqliteCommand command, VideoTask task, long? holdSeq)
    {
        var p = command.Parameters;
        if (p.Count != InsertParameters.Length)
        {
            p.Clear();
            foreach (var name in InsertParameters)
            {
                p.Add(new SqliteParameter { ParameterName = name });
            }
        }

        p[0].Value = task.Id;
        p[1].Value = task.OwnerKeyId;
        p[2].Value = ToText(task.Mode);
        p[3].Value = task.Model;
        p[4].Value = task.RequestedModel;
        p[5].Value = task.Prompt;
        p[6].Value = (object?)task.NegativePrompt ?? DBNull.Value;
        p[7].Value = task.AspectRatio;
        p[8].Value = task.Size;
        p[9].Value = task.Duration;
        p[10].Value = (object?)task.Seed ?? DBNull.Value;
        p[11].Value = Json(task.Images);
        p[12].Value = Json(task.Options);
        p[13].Value = (object?)task.CallbackUrl ?? DBNull.Value;
        p[14].Value = (object?)task.IdempotencyKey ?? DBNull.Value;
        p[15].Value = task.Surface == TaskSurface.OpenAi ? OpenAiSurface : UnifiedSurface;
        p[16].Value = (object?)task.RemixedFrom ?? DBNull.Value;
        p[17].Value = ToText(task.Stage);
        p[18].Value = task.Progress;
        p[19].Value = task.CreatedAt;
        p[20].Value = task.UpdatedAt;
        p[21].Value = task.DeadlineAt;
        p[22].Value = task.NextAt;
        p[23].Value = task.AccountId;
        p[24].Value = task.Held;
        p[25].Value = task.PriceUnit is { } unit ? Price.UnitText(unit) : DBNull.Value;
        p[26].Value = task.UnitPrice;
        p[27].Value = (object?)holdSeq ?? DBNull.Value;
        p[28].Value = (object?)task.CancelAt ?? DBNull.Value;
        p[29].Value = task.WebhookEvents is { } events ? Json(events) : DBNull.Value;
        p[30].Value = (object?)task.TraceParent ?? DBNull.Value;
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
        values.Count == 0 ? "[]" : JsonSerializer.Serialize(values, SqliteJsonContext.Default.IReadOnlyListString);

    public static string Json(IReadOnlyDictionary<string, string> options) =>
        options.Count == 0 ? "{}" : JsonSerializer.Serialize(options, SqliteJsonContext.Default.IReadOnlyDictionaryStringString);

    public static string Json(IReadOnlyList<RouteStep> route) => JsonSerializer.Serialize(route, SqliteJsonContext.Default.IReadOnlyListRouteStep);

    public static IReadOnlyList<string> ReadList(string json) =>
        json == "[]" ? [] : JsonSerializer.Deserialize(json, SqliteJsonContext.Default.IReadOnlyListString) ?? [];

    // Client reads select '{}' here (ClientColumns): every query would otherwise parse it into a new dictionary.
    private static IReadOnlyDictionary<string, string> ReadOptions(string json) =>
        json == "{}" ? NoOptions : JsonSerializer.Deserialize(json, SqliteJsonContext.Default.IReadOnlyDictionaryStringString) ?? NoOptions;

    private static readonly IReadOnlyDictionary<string, string> NoOptions = System.Collections.ObjectModel.ReadOnlyDictionary<string, string>.Empty;

    private static IReadOnlyList<RouteStep> ReadRoute(string json) =>
        json == "[]" ? [] : JsonSerializer.Deserialize(json, SqliteJsonContext.Default.IReadOnlyListRouteStep) ?? [];

    private const string UnifiedSurface = "unified";
    private const string OpenAiSurface = "openai";

    private static string? String(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static long? Int64(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetInt64(i);
}

/// <summary>The JSON columns of the schema: lists and maps the row keeps as text.</summary>
[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
[JsonSerializable(typeof(IReadOnlyList<RouteStep>))]
[JsonSerializable(typeof(IReadOnlyDictionary<string, long>))]
[JsonSerializable(typeof(Reelay.Catalog.ModelOptions))]
internal sealed partial class SqliteJsonContext : JsonSerializerContext;
