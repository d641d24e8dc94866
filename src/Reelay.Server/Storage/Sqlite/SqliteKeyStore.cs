using Dapper;
using Reelay.Keys;

namespace Reelay.Storage.Sqlite;

/// <summary><see cref="IKeyStore"/> on SQLite. A database that cannot be reached or written raises <see cref="StoreUnavailableException"/>.</summary>
public sealed class SqliteKeyStore(SqliteDatabase database) : IKeyStore
{
    /// <summary>Columns under the names of <see cref="KeyRow"/>'s properties.</summary>
    private const string Columns = "id AS Id, name AS Name, mode AS Mode, prefix AS Prefix, hash AS Hash, created_at AS CreatedAt, revoked_at AS RevokedAt";

    public Task InsertAsync(ApiKey key, CancellationToken cancellationToken) =>
        database.WriteAsync(connection => connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO api_keys (id, name, mode, prefix, hash, created_at) VALUES (@Id, @Name, @mode, @Prefix, @Hash, @CreatedAt)",
            new { key.Id, key.Name, mode = ToText(key.Mode), key.Prefix, key.Hash, key.CreatedAt }, cancellationToken: cancellationToken)), cancellationToken);

    public async Task<ApiKey?> FindByHashAsync(byte[] hash, CancellationToken cancellationToken)
    {
        var row = await database.ReadAsync(connection => connection.QuerySingleOrDefaultAsync<KeyRow>(new CommandDefinition(
            "SELECT " + Columns + " FROM api_keys WHERE hash = @hash", new { hash }, cancellationToken: cancellationToken)), cancellationToken);
        return row?.ToKey();
    }

    public async Task<IReadOnlyList<ApiKey>> ListAsync(CancellationToken cancellationToken)
    {
        var rows = await database.ReadAsync(connection => connection.QueryAsync<KeyRow>(new CommandDefinition(
            "SELECT " + Columns + " FROM api_keys ORDER BY created_at, id", cancellationToken: cancellationToken)), cancellationToken);
        return [.. rows.Select(r => r.ToKey())];
    }

    public async Task<ApiKey?> RevokeAsync(string id, long revokedAt, CancellationToken cancellationToken)
    {
        var row = await database.WriteAsync(connection => connection.QuerySingleOrDefaultAsync<KeyRow>(new CommandDefinition(
            "UPDATE api_keys SET revoked_at = @revokedAt WHERE id = @id AND revoked_at IS NULL RETURNING " + Columns,
            new { id, revokedAt }, cancellationToken: cancellationToken)), cancellationToken);
        return row?.ToKey();
    }

    private static string ToText(KeyMode mode) => mode == KeyMode.Test ? "test" : "live";

    private sealed class KeyRow
    {
        public string Id { get; set; } = "";
        public string Name { get; set; } = "";
        public string Mode { get; set; } = "";
        public string Prefix { get; set; } = "";
        public byte[] Hash { get; set; } = [];
        public long CreatedAt { get; set; }
        public long? RevokedAt { get; set; }

        public ApiKey ToKey() => new(Id, Name, Mode == "test" ? KeyMode.Test : KeyMode.Live, Prefix, Hash, CreatedAt, RevokedAt);
    }
}
