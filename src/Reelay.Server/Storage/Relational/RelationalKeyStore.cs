using Dapper;
using Reelay.Accounts;
using Reelay.Keys;

namespace Reelay.Storage.Relational;

/// <summary>
/// <see cref="IKeyStore"/> on SQLite or PostgreSQL: client keys in <c>api_keys</c> (each of an account), named admin
/// keys in <c>admin_keys</c>. A database that cannot be reached or written raises <see cref="StoreUnavailableException"/>.
/// </summary>
public sealed class RelationalKeyStore(IRelationalDatabase database) : IKeyStore
{
    /// <summary>A client key's columns under the names of <see cref="KeyRow"/>'s properties; revocation apart, as the lookup by secret reads it otherwise.</summary>
    private static string KeyColumns(string alias = "") =>
        string.Join(", ", ((string[])["id AS Id", "name AS Name", "mode AS Mode", "prefix AS Prefix", "hash AS Hash", "created_at AS CreatedAt", "account_id AS AccountId", "notes AS Notes"])
            .Select(column => (alias.Length > 0 ? alias + "." : "") + column)) + ", " + AccessLimitsRow.Columns(alias);

    private static readonly string Columns = KeyColumns() + ", revoked_at AS RevokedAt";

    private const string AdminColumns = "id AS Id, name AS Name, 'admin' AS Mode, prefix AS Prefix, hash AS Hash, created_at AS CreatedAt, revoked_at AS RevokedAt, '' AS AccountId";

    public Task<bool> InsertAsync(ApiKey key, CancellationToken cancellationToken) =>
        database.WriteAsync(async connection =>
        {
            if (key.Mode == KeyMode.Admin)
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    "INSERT INTO admin_keys (id, name, prefix, hash, created_at) VALUES (@Id, @Name, @Prefix, @Hash, @CreatedAt)",
                    new { key.Id, key.Name, key.Prefix, key.Hash, key.CreatedAt }, cancellationToken: cancellationToken));
                return true;
            }

            // A key joins only an account that exists and is not revoked: the condition rides in the insert.
            return await connection.ExecuteAsync(new CommandDefinition(
                $"""
                INSERT INTO api_keys (id, name, mode, prefix, hash, created_at, account_id, notes, {AccessLimitsRow.InsertColumns})
                SELECT @Id, @Name, @Mode, @Prefix, @Hash, @CreatedAt, @AccountId, @Notes, {AccessLimitsRow.InsertValues}
                WHERE EXISTS (SELECT 1 FROM accounts WHERE id = @AccountId AND revoked_at IS NULL)
                """, Parameters(key), cancellationToken: cancellationToken)) == 1;
        }, cancellationToken);

    public Task InsertWithAccountAsync(ApiKey key, Account account, CancellationToken cancellationToken) =>
        database.WriteAsync(async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition(RelationalAccountStore.InsertSql, RelationalAccountStore.Parameters(account), transaction, cancellationToken: cancellationToken));
            await connection.ExecuteAsync(new CommandDefinition(
                $"""
                INSERT INTO api_keys (id, name, mode, prefix, hash, created_at, account_id, notes, {AccessLimitsRow.InsertColumns})
                VALUES (@Id, @Name, @Mode, @Prefix, @Hash, @CreatedAt, @AccountId, @Notes, {AccessLimitsRow.InsertValues})
                """, Parameters(key with { AccountId = account.Id }), transaction, cancellationToken: cancellationToken));
            await transaction.CommitAsync(cancellationToken);
            return true;
        }, cancellationToken);

    public async Task<ApiKey?> FindByHashAsync(byte[] hash, CancellationToken cancellationToken)
    {
        // A key of a revoked account reads as revoked; its account's limits come along, so the caller needs no second lookup.
        var row = await database.ReadAsync(connection => connection.QuerySingleOrDefaultAsync<KeyRow>(new CommandDefinition(
            $"""
            SELECT {KeyColumns("k")}, COALESCE(k.revoked_at, a.revoked_at) AS RevokedAt, {AccessLimitsRow.Columns("a", "Account")}
            FROM api_keys k LEFT JOIN accounts a ON a.id = k.account_id WHERE k.hash = @hash
            """, new { hash }, cancellationToken: cancellationToken)), cancellationToken);
        row ??= await database.ReadAsync(connection => connection.QuerySingleOrDefaultAsync<KeyRow>(new CommandDefinition(
            $"SELECT {AdminColumns} FROM admin_keys WHERE hash = @hash", new { hash }, cancellationToken: cancellationToken)), cancellationToken);
        return row?.ToKey();
    }

    public async Task<ApiKey?> GetAsync(string id, CancellationToken cancellationToken)
    {
        var row = await database.ReadAsync(connection => connection.QuerySingleOrDefaultAsync<KeyRow>(new CommandDefinition(
            $"SELECT {Columns} FROM api_keys WHERE id = @id", new { id }, cancellationToken: cancellationToken)), cancellationToken);
        return row?.ToKey();
    }

    public Task<IReadOnlyList<ApiKey>> ListAsync(CancellationToken cancellationToken) =>
        ListAsync(new KeyQuery(int.MaxValue), cancellationToken);

    public async Task<IReadOnlyList<ApiKey>> ListAsync(KeyQuery query, CancellationToken cancellationToken)
    {
        // Keyset pages on (created_at, id): stable while keys are added.
        var sql = query.Mode == KeyMode.Admin
            ? $"""
              SELECT {AdminColumns} FROM admin_keys
              WHERE (@revoked IS NULL OR (revoked_at IS NOT NULL) = @revoked)
                AND (@after IS NULL OR (created_at, id) > (SELECT created_at, id FROM admin_keys AS previous WHERE previous.id = @after))
              ORDER BY created_at, id LIMIT @limit
              """
            : $"""
              SELECT {Columns} FROM api_keys
              WHERE (@account IS NULL OR account_id = @account) AND (@mode IS NULL OR mode = @mode)
                AND (@revoked IS NULL OR (revoked_at IS NOT NULL) = @revoked)
                AND (@after IS NULL OR (created_at, id) > (SELECT created_at, id FROM api_keys AS previous WHERE previous.id = @after))
              ORDER BY created_at, id LIMIT @limit
              """;
        var rows = await database.ReadAsync(connection => connection.QueryAsync<KeyRow>(new CommandDefinition(sql, new
        {
            account = query.AccountId,
            mode = query.Mode is { } mode ? ApiKey.ModeText(mode) : null,
            revoked = query.Revoked,
            after = query.After,
            limit = query.Limit,
        }, cancellationToken: cancellationToken)), cancellationToken);
        return [.. rows.Select(r => r.ToKey())];
    }

    public async Task<ApiKey?> UpdateAsync(ApiKey key, CancellationToken cancellationToken)
    {
        var row = await database.WriteAsync(connection => connection.QuerySingleOrDefaultAsync<KeyRow>(new CommandDefinition(
            $"""
            UPDATE api_keys SET name = @Name, notes = @Notes, {AccessLimitsRow.Assignments}
            WHERE id = @Id AND revoked_at IS NULL
            RETURNING {Columns}
            """, Parameters(key), cancellationToken: cancellationToken)), cancellationToken);
        return row?.ToKey();
    }

    public async Task<ApiKey?> RevokeAsync(string id, long revokedAt, CancellationToken cancellationToken)
    {
        var row = await database.WriteAsync(connection => connection.QuerySingleOrDefaultAsync<KeyRow>(new CommandDefinition(
            $"UPDATE api_keys SET revoked_at = @revokedAt WHERE id = @id AND revoked_at IS NULL RETURNING {Columns}",
            new { id, revokedAt }, cancellationToken: cancellationToken)), cancellationToken);
        row ??= await database.WriteAsync(connection => connection.QuerySingleOrDefaultAsync<KeyRow>(new CommandDefinition(
            $"UPDATE admin_keys SET revoked_at = @revokedAt WHERE id = @id AND revoked_at IS NULL RETURNING {AdminColumns}",
            new { id, revokedAt }, cancellationToken: cancellationToken)), cancellationToken);
        return row?.ToKey();
    }

    private static DynamicParameters Parameters(ApiKey key)
    {
        var parameters = new DynamicParameters(new { key.Id, key.Name, Mode = ApiKey.ModeText(key.Mode), key.Prefix, key.Hash, key.CreatedAt, key.AccountId, key.Notes });
        AccessLimitsRow.Bind(parameters, key.Limits);
        return parameters;
    }

    private sealed class KeyRow : AccessLimitsRow
    {
        public string Id { get; set; } = "";
        public string Name { get; set; } = "";
        public string Mode { get; set; } = "";
        public string Prefix { get; set; } = "";
        public byte[] Hash { get; set; } = [];
        public long CreatedAt { get; set; }
        public long? RevokedAt { get; set; }
        public string? AccountId { get; set; }
        public string? Notes { get; set; }
        public string? AccountAllowedModelsJson { get; set; }
        public long? AccountExpiresAt { get; set; }
        public long? AccountRpm { get; set; }
        public long? AccountMaxInFlight { get; set; }
        public long? AccountMaxSpendPerDay { get; set; }
        public string? AccountAllowedIpsJson { get; set; }
        public string? AccountCallbackUrl { get; set; }

        public ApiKey ToKey() => new(Id, Name, Mode switch { "test" => KeyMode.Test, "admin" => KeyMode.Admin, _ => KeyMode.Live }, Prefix, Hash, CreatedAt, RevokedAt)
        {
            AccountId = AccountId ?? "",
            Notes = Notes,
            Limits = ToLimits(),
            AccountLimits = new AccessLimitsRow
            {
                AllowedModelsJson = AccountAllowedModelsJson,
                ExpiresAt = AccountExpiresAt,
                Rpm = AccountRpm,
                MaxInFlight = AccountMaxInFlight,
                MaxSpendPerDay = AccountMaxSpendPerDay,
                AllowedIpsJson = AccountAllowedIpsJson,
                CallbackUrl = AccountCallbackUrl,
            }.ToLimits(),
        };
    }
}
