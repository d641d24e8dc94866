using System.Data.Common;
using Dapper;
using Reelay.Channels;
using Reelay.Secrets;

namespace Reelay.Storage.Relational;

/// <summary>
/// <see cref="IChannelStore"/> on SQLite or PostgreSQL. A database that cannot be reached or written raises <see cref="StoreUnavailableException"/>.
/// API keys are stored only encrypted (<c>api_key_ciphertext</c>, <see cref="SecretProtector"/>); a row
/// whose key does not decrypt is read as a disabled channel without a key, and reported to
/// <see cref="UnreadableSecrets"/> with the reason.
/// </summary>
public sealed class RelationalChannelStore(IRelationalDatabase database, SecretProtector secrets, UnreadableSecrets unreadable) : IChannelStore, ISecretHolder
{
    public string Name => SecretPurposes.ChannelApiKey;

    public async Task<IReadOnlyList<ChannelOptions>> ListAsync(CancellationToken cancellationToken)
    {
        var rows = await database.ReadAsync(connection => connection.QueryAsync<ChannelRow>(new CommandDefinition("SELECT name AS Name, provider AS Provider, base_url AS BaseUrl, api_key AS PlainApiKey, api_key_ciphertext AS ProtectedApiKey, models_json AS ModelsJson, priority AS Priority, weight AS Weight, enabled AS Enabled, submits_per_minute AS SubmitsPerMinute, polls_per_minute AS PollsPerMinute, poll_interval_ms AS PollIntervalMs, public_callback_base_url AS PublicCallbackBaseUrl, settings_json AS SettingsJson FROM channels ORDER BY created_at, name", cancellationToken: cancellationToken)), cancellationToken);
        var channels = new List<ChannelOptions>();
        var failed = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var row in rows)
        {
            var channel = row.ToOptions();
            if (row.ProtectedApiKey is { } protectedKey)
            {
                var read = secrets.Unprotect(Name, protectedKey);
                if (read.Succeeded)
                {
                    channel.ApiKey = read.Value;
                }
                else
                {
                    // Never the ciphertext as a key, never a call without one: the channel is off until
                    // an admin sends a new key or the key ring that encrypted it comes back.
                    channel.Enabled = false;
                    failed[row.Name] = $"api_key cannot be decrypted: {read.Reason}. Send a new api_key (PATCH /admin/channels/{row.Name}) or restore that key into the key ring";
                }
            }
            else
            {
                // Written in plain text by an earlier version still running beside this one; encrypted at the next start or rotation.
                channel.ApiKey = row.PlainApiKey;
            }

            channels.Add(channel);
        }

        unreadable.Report(Name, failed);
        return channels;
    }

    public Task<bool> InsertAsync(ChannelOptions channel, long now, CancellationToken cancellationToken)
    {
        var parameters = Parameters(channel, now);
        return database.WriteAsync(async connection =>
        {
            try
            {
                await connection.ExecuteAsync(new CommandDefinition("""
                    INSERT INTO channels (name, provider, base_url, api_key, api_key_ciphertext, models_json, priority, weight, enabled, submits_per_minute, polls_per_minute, poll_interval_ms, public_callback_base_url, settings_json, created_at, updated_at)
                    VALUES (@Name, @Provider, @BaseUrl, NULL, @ProtectedApiKey, @ModelsJson, @Priority, @Weight, @Enabled, @SubmitsPerMinute, @PollsPerMinute, @PollIntervalMs, @PublicCallbackBaseUrl, @SettingsJson, @now, @now)
                    """, parameters, cancellationToken: cancellationToken));
                return true;
            }
            catch (DbException e) when (database.Dialect.IsUniqueViolation(e))
            {
                // The key on the name (without case) decided that the name is taken.
                return false;
            }
        }, cancellationToken);
    }

    public Task<bool> UpdateAsync(ChannelOptions channel, long now, CancellationToken cancellationToken)
    {
        var parameters = Parameters(channel, now);
        return database.WriteAsync(async connection => await connection.ExecuteAsync(new CommandDefinition($"""
            UPDATE channels SET provider = @Provider, base_url = @BaseUrl, api_key = NULL, api_key_ciphertext = @ProtectedApiKey, models_json = @ModelsJson, priority = @Priority,
                weight = @Weight, enabled = @Enabled, submits_per_minute = @SubmitsPerMinute, polls_per_minute = @PollsPerMinute, poll_interval_ms = @PollIntervalMs,
                public_callback_base_url = @PublicCallbackBaseUrl, settings_json = @SettingsJson, updated_at = @now
            WHERE {database.Dialect.SameName("name", "@Name")}
            """, parameters, cancellationToken: cancellationToken)) == 1, cancellationToken);
    }

    public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken) =>
        database.WriteAsync(async connection => await connection.ExecuteAsync(new CommandDefinition(
            $"DELETE FROM channels WHERE {database.Dialect.SameName("name", "@name")}", new { name }, cancellationToken: cancellationToken)) == 1, cancellationToken);

    /// <summary>
    /// Encrypts the API keys an earlier version or another tool stored in plain text, in one transaction
    /// that leaves no readable copy of them where the backend can promise it.
    /// </summary>
    public Task<int> ProtectPlainTextAsync(CancellationToken cancellationToken) =>
        database.OverwriteSecretsAsync(async (connection, transaction) =>
        {
            var plain = (await connection.QueryAsync<(string Name, string ApiKey)>(new CommandDefinition(
                "SELECT name, api_key FROM channels WHERE api_key IS NOT NULL", transaction: transaction, cancellationToken: cancellationToken))).ToList();
            foreach (var (name, apiKey) in plain)
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    "UPDATE channels SET api_key_ciphertext = @protectedKey, api_key = NULL WHERE name = @name AND api_key = @apiKey",
                    new { name, apiKey, protectedKey = secrets.Protect(Name, apiKey) }, transaction, cancellationToken: cancellationToken));
            }

            return plain.Count;
        }, cancellationToken);

    public async Task<IReadOnlyList<StoredSecret>> ReadProtectedAsync(CancellationToken cancellationToken)
    {
        var rows = await database.ReadAsync(connection => connection.QueryAsync<(string Name, string Protected)>(new CommandDefinition(
            "SELECT name, api_key_ciphertext FROM channels WHERE api_key_ciphertext IS NOT NULL ORDER BY name", cancellationToken: cancellationToken)), cancellationToken);
        return [.. rows.Select(row => new StoredSecret(row.Name, row.Protected))];
    }

    public Task<int> ReplaceProtectedAsync(IReadOnlyList<ReprotectedSecret> reprotected, CancellationToken cancellationToken) =>
        database.WriteAsync(async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var stored = 0;
            foreach (var secret in reprotected)
            {
                // Only where the row still holds the value read: an admin's new key written meanwhile stays.
                stored += await connection.ExecuteAsync(new CommandDefinition(
                    $"UPDATE channels SET api_key_ciphertext = @New WHERE {database.Dialect.SameName("name", "@Item")} AND api_key_ciphertext = @Old",
                    secret, transaction, cancellationToken: cancellationToken));
            }

            await transaction.CommitAsync(cancellationToken);
            return stored;
        }, cancellationToken);

    private DynamicParameters Parameters(ChannelOptions channel, long now)
    {
        var parameters = new DynamicParameters(new
        {
            channel.Name,
            channel.Provider,
            channel.BaseUrl,
            ProtectedApiKey = string.IsNullOrEmpty(channel.ApiKey) ? null : secrets.Protect(Name, channel.ApiKey),
            ModelsJson = TaskRows.Json(channel.Models),
            channel.Priority,
            channel.Weight,
            channel.Enabled,
            channel.SubmitsPerMinute,
            channel.PollsPerMinute,
            PollIntervalMs = (long?)channel.PollInterval?.TotalMilliseconds,
            channel.PublicCallbackBaseUrl,
            SettingsJson = ChannelSettingsJson.Write(channel),
        });
        parameters.Add("now", now);
        return parameters;
    }

    private sealed class ChannelRow
    {
        public string Name { get; set; } = "";
        public string Provider { get; set; } = "";
        public string? BaseUrl { get; set; }
        public string? PlainApiKey { get; set; }
        public string? ProtectedApiKey { get; set; }
        public string ModelsJson { get; set; } = "[]";
        public int Priority { get; set; }
        public int Weight { get; set; }
        public bool Enabled { get; set; }
        public int SubmitsPerMinute { get; set; }
        public int PollsPerMinute { get; set; }
        public long? PollIntervalMs { get; set; }
        public string? PublicCallbackBaseUrl { get; set; }
        public string? SettingsJson { get; set; }

        /// <summary>Everything but the key, which <see cref="ListAsync"/> decrypts.</summary>
        public ChannelOptions ToOptions() => ChannelSettingsJson.Read(SettingsJson, new()
        {
            Name = Name,
            Provider = Provider,
            BaseUrl = BaseUrl,
            Models = [.. TaskRows.ReadList(ModelsJson)],
            Priority = Priority,
            Weight = Weight,
            Enabled = Enabled,
            SubmitsPerMinute = SubmitsPerMinute,
            PollsPerMinute = PollsPerMinute,
            PollInterval = PollIntervalMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null,
            PublicCallbackBaseUrl = PublicCallbackBaseUrl,
        });
    }
}
