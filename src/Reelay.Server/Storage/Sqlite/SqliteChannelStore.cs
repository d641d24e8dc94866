using Dapper;
using Microsoft.Data.Sqlite;
using Reelay.Channels;

namespace Reelay.Storage.Sqlite;

/// <summary><see cref="IChannelStore"/> on SQLite. A database that cannot be reached or written raises <see cref="StoreUnavailableException"/>.</summary>
public sealed class SqliteChannelStore(SqliteDatabase database) : IChannelStore
{
    public async Task<IReadOnlyList<ChannelOptions>> ListAsync(CancellationToken cancellationToken)
    {
        var rows = await database.ReadAsync(connection => connection.QueryAsync<ChannelRow>(new CommandDefinition("SELECT name AS Name, provider AS Provider, base_url AS BaseUrl, api_key AS ApiKey, models_json AS ModelsJson, priority AS Priority, weight AS Weight, enabled AS Enabled, submits_per_minute AS SubmitsPerMinute, polls_per_minute AS PollsPerMinute, poll_interval_ms AS PollIntervalMs FROM channels ORDER BY created_at, name", cancellationToken: cancellationToken)), cancellationToken);
        return [.. rows.Select(r => r.ToOptions())];
    }

    public Task<bool> InsertAsync(ChannelOptions channel, long now, CancellationToken cancellationToken) =>
        database.WriteAsync(async connection =>
        {
            try
            {
                await connection.ExecuteAsync(new CommandDefinition("""
                    INSERT INTO channels (name, provider, base_url, api_key, models_json, priority, weight, enabled, submits_per_minute, polls_per_minute, poll_interval_ms, created_at, updated_at)
                    VALUES (@Name, @Provider, @BaseUrl, @ApiKey, @ModelsJson, @Priority, @Weight, @Enabled, @SubmitsPerMinute, @PollsPerMinute, @PollIntervalMs, @now, @now)
                    """, Parameters(channel, now), cancellationToken: cancellationToken));
                return true;
            }
            catch (SqliteException e) when (e.SqliteErrorCode == 19)
            {
                // SQLITE_CONSTRAINT: the primary key decided that the name is taken.
                return false;
            }
        }, cancellationToken);

    public Task<bool> UpdateAsync(ChannelOptions channel, long now, CancellationToken cancellationToken) =>
        database.WriteAsync(async connection => await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE channels SET provider = @Provider, base_url = @BaseUrl, api_key = @ApiKey, models_json = @ModelsJson, priority = @Priority,
                weight = @Weight, enabled = @Enabled, submits_per_minute = @SubmitsPerMinute, polls_per_minute = @PollsPerMinute, poll_interval_ms = @PollIntervalMs, updated_at = @now
            WHERE name = @Name
            """, Parameters(channel, now), cancellationToken: cancellationToken)) == 1, cancellationToken);

    public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken) =>
        database.WriteAsync(async connection => await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM channels WHERE name = @name", new { name }, cancellationToken: cancellationToken)) == 1, cancellationToken);

    private static DynamicParameters Parameters(ChannelOptions channel, long now)
    {
        var parameters = new DynamicParameters(new
        {
            channel.Name,
            channel.Provider,
            channel.BaseUrl,
            channel.ApiKey,
            ModelsJson = SqliteTaskRows.Json(channel.Models),
            channel.Priority,
            channel.Weight,
            channel.Enabled,
            channel.SubmitsPerMinute,
            channel.PollsPerMinute,
            PollIntervalMs = (long?)channel.PollInterval?.TotalMilliseconds,
        });
        parameters.Add("now", now);
        return parameters;
    }

    private sealed class ChannelRow
    {
        public string Name { get; set; } = "";
        public string Provider { get; set; } = "";
        public string? BaseUrl { get; set; }
        public string? ApiKey { get; set; }
        public string ModelsJson { get; set; } = "[]";
        public int Priority { get; set; }
        public int Weight { get; set; }
        public bool Enabled { get; set; }
        public int SubmitsPerMinute { get; set; }
        public int PollsPerMinute { get; set; }
        public long? PollIntervalMs { get; set; }

        public ChannelOptions ToOptions() => new()
        {
            Name = Name,
            Provider = Provider,
            BaseUrl = BaseUrl,
            ApiKey = ApiKey,
            Models = [.. SqliteTaskRows.ReadList(ModelsJson)],
            Priority = Priority,
            Weight = Weight,
            Enabled = Enabled,
            SubmitsPerMinute = SubmitsPerMinute,
            PollsPerMinute = PollsPerMinute,
            PollInterval = PollIntervalMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null,
        };
    }
}
