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
        price_unit, unit_price, upstream_cost
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
        .Replace("route_json", "'[]'", StringComparison.Ordinal);

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

    /// <summary>Binds the columns a new task is inserted with.</summary>
    public static void BindInsert(SqliteCommand command, VideoTask task)
    {
        var p = command.Parameters;
        p.AddWithValue("$id", task.Id);
        p.AddWithValue("$owner", task.OwnerKeyId);
        p.AddWithValue("$mode", ToText(task.Mode));
        p.AddWithValue("$model", task.Model);
        p.AddWithValue("$requested_model", task.RequestedModel);
        p.AddWithValue("$prompt", task.Prompt);
        p.AddWithValue("$negative_prompt", (object?)task.NegativePrompt ?? DBNull.Value);
        p.AddWithValue("$aspect_ratio", task.AspectRatio);
        p.AddWithValue("$size", task.Size);
        p.AddWithValue("$duration", task.Duration);
        p.AddWithValue("$seed", (object?)task.Seed ?? DBNull.Value);
        p.AddWithValue("$images_json", Json(task.Images));
        p.AddWithValue("$options_json", JsonSerializer.Serialize(task.Options, SqliteJsonContext.Default.IReadOnlyDictionaryStringString));
        p.AddWithValue("$callback_url", (object?)task.CallbackUrl ?? DBNull.Value);
        p.AddWithValue("$idempotency_key", (object?)task.IdempotencyKey ?? DBNull.Value);
        p.AddWithValue("$surface", task.Surface == TaskSurface.OpenAi ? OpenAiSurface : UnifiedSurface);
        p.AddWithValue("$remixed_from", (object?)task.RemixedFrom ?? DBNull.Value);
        p.AddWithValue("$stage", ToText(task.Stage));
        p.AddWithValue("$progress", task.Progress);
        p.AddWithValue("$created_at", task.CreatedAt);
        p.AddWithValue("$updated_at", task.UpdatedAt);
        p.AddWithValue("$deadline_at", task.DeadlineAt);
        p.AddWithValue("$next_at", task.NextAt);
        p.AddWithValue("$account_id", task.AccountId);
        p.AddWithValue("$held", task.Held);
        p.AddWithValue("$price_unit", task.PriceUnit is { } unit ? Price.UnitText(unit) : DBNull.Value);
        p.AddWithValue("$unit_price", task.UnitPrice);
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

    public static string Json(IReadOnlyList<string> values) => JsonSerializer.Serialize(values, SqliteJsonContext.Default.IReadOnlyListString);

    public static string Json(IReadOnlyList<RouteStep> route) => JsonSerializer.Serialize(route, SqliteJsonContext.Default.IReadOnlyListRouteStep);

    public static IReadOnlyList<string> ReadList(string json) =>
        json == "[]" ? [] : JsonSerializer.Deserialize(json, SqliteJsonContext.Default.IReadOnlyListString) ?? [];

    private static IReadOnlyDictionary<string, string> ReadOptions(string json) =>
        JsonSerializer.Deserialize(json, SqliteJsonContext.Default.IReadOnlyDictionaryStringString) ?? new Dictionary<string, string>();

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
internal sealed partial class SqliteJsonContext : JsonSerializerContext;
