using System.Data.Common;
using Dapper;
using Reelay.Accounts;

namespace Reelay.Storage.Relational;

/// <summary>
/// <see cref="IAccountStore"/> on SQLite or PostgreSQL. Every credit movement changes the account row and appends its
/// ledger row in one transaction; the row's <c>ledger_seq</c> numbers the rows without gaps. A database
/// that cannot be reached or written raises <see cref="StoreUnavailableException"/>.
/// </summary>
public sealed class RelationalAccountStore(IRelationalDatabase database) : IAccountStore
{
    private static readonly string Columns =
        "id AS Id, name AS Name, balance AS Balance, held AS Held, unlimited AS Unlimited, created_at AS CreatedAt, updated_at AS UpdatedAt, " +
        "revoked_at AS RevokedAt, notes AS Notes, " + AccessLimitsRow.Columns();

    private const string LedgerColumns =
        "account_id AS AccountId, seq AS Seq, kind AS Kind, amount AS Amount, balance_after AS BalanceAfter, held_after AS HeldAfter, " +
        "key_id AS KeyId, task_id AS TaskId, model AS Model, reason AS Reason, actor AS Actor, at AS At";

    internal static readonly string InsertSql = $"""
        INSERT INTO accounts (id, name, unlimited, notes, created_at, updated_at, {AccessLimitsRow.InsertColumns})
        VALUES (@Id, @Name, @Unlimited, @Notes, @CreatedAt, @UpdatedAt, {AccessLimitsRow.InsertValues})
        """;

    public Task<Account> CreateAsync(Account account, CreditMove? initialCredits, CancellationToken cancellationToken) =>
        database.WriteAsync(async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition(InsertSql, Parameters(account), transaction, cancellationToken: cancellationToken));
            if (initialCredits is not null)
            {
                await MoveAsync(connection, transaction, account.Id, initialCredits, cancellationToken);
            }

            var created = await connection.QuerySingleAsync<AccountRow>(new CommandDefinition(
                $"SELECT {Columns} FROM accounts WHERE id = @Id", new { account.Id }, transaction, cancellationToken: cancellationToken));
            await transaction.CommitAsync(cancellationToken);
            return created.ToAccount();
        }, cancellationToken);

    public async Task<Account?> GetAsync(string id, CancellationToken cancellationToken) =>
        (await database.ReadAsync(connection => connection.QuerySingleOrDefaultAsync<AccountRow>(new CommandDefinition(
            $"SELECT {Columns} FROM accounts WHERE id = @id", new { id }, cancellationToken: cancellationToken)), cancellationToken))?.ToAccount();

    public async Task<IReadOnlyList<Account>> ListAsync(AccountQuery query, CancellationToken cancellationToken)
    {
        var rows = await database.ReadAsync(connection => connection.QueryAsync<AccountRow>(new CommandDefinition(
            $"""
            SELECT {Columns} FROM accounts
            WHERE (@name IS NULL OR {database.Dialect.Contains("lower(name)", "lower(@name)")}) AND (@unlimited IS NULL OR unlimited = CAST(@unlimited AS integer))
              AND (@revoked IS NULL OR (revoked_at IS NOT NULL) = @revoked)
              AND (@after IS NULL OR (created_at, id) > (SELECT created_at, id FROM accounts AS previous WHERE previous.id = @after))
            ORDER BY created_at, id LIMIT @limit
            """,
            new { name = query.NameContains, unlimited = query.Unlimited, revoked = query.Revoked, after = query.After, limit = query.Limit },
            cancellationToken: cancellationToken)), cancellationToken);
        return [.. rows.Select(r => r.ToAccount())];
    }

    public async Task<Account?> UpdateAsync(Account account, long now, CancellationToken cancellationToken)
    {
        var parameters = Parameters(account);
        parameters.Add("now", now);
        var row = await database.WriteAsync(connection => connection.QuerySingleOrDefaultAsync<AccountRow>(new CommandDefinition(
            $"""
            UPDATE accounts SET name = @Name, unlimited = @Unlimited, notes = @Notes, updated_at = @now, {AccessLimitsRow.Assignments}
            WHERE id = @Id AND revoked_at IS NULL
            RETURNING {Columns}
            """, parameters, cancellationToken: cancellationToken)), cancellationToken);
        return row?.ToAccount();
    }

    public async Task<Account?> RevokeAsync(string id, long now, CancellationToken cancellationToken) =>
        (await database.WriteAsync(connection => connection.QuerySingleOrDefaultAsync<AccountRow>(new CommandDefinition(
            $"UPDATE accounts SET revoked_at = @now, updated_at = @now WHERE id = @id AND revoked_at IS NULL RETURNING {Columns}",
            new { id, now }, cancellationToken: cancellationToken)), cancellationToken))?.ToAccount();

    public Task<CreditMoveResult> MoveCreditsAsync(string accountId, CreditMove move, CancellationToken cancellationToken) =>
        database.WriteAsync(async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var entry = await MoveAsync(connection, transaction, accountId, move, cancellationToken);
            if (entry is null)
            {
                var exists = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                    "SELECT COUNT(*) FROM accounts WHERE id = @accountId AND revoked_at IS NULL", new { accountId }, transaction, cancellationToken: cancellationToken));
                return new CreditMoveResult(null, null, Refused: exists > 0);
            }

            var account = await connection.QuerySingleAsync<AccountRow>(new CommandDefinition(
                $"SELECT {Columns} FROM accounts WHERE id = @accountId", new { accountId }, transaction, cancellationToken: cancellationToken));
            await transaction.CommitAsync(cancellationToken);
            return new CreditMoveResult(account.ToAccount(), entry);
        }, cancellationToken);

    /// <summary>
    /// Moves the balance and appends the ledger row, in the caller's transaction. The update refuses (null)
    /// what would take an account's available credits below zero, unless it is unlimited.
    /// </summary>
    private static async Task<LedgerEntry?> MoveAsync(DbConnection connection, DbTransaction transaction, string accountId, CreditMove move, CancellationToken cancellationToken)
    {
        var after = await connection.QuerySingleOrDefaultAsync<(long Balance, long Held, long Seq)>(new CommandDefinition(
            """
            UPDATE accounts SET balance = balance + @amount, ledger_seq = ledger_seq + 1, updated_at = @at
            WHERE id = @accountId AND revoked_at IS NULL AND (unlimited = 1 OR @amount >= 0 OR balance + @amount - held >= 0)
            RETURNING balance, held, ledger_seq
            """, new { amount = move.Amount, at = move.At, accountId }, transaction, cancellationToken: cancellationToken));
        if (after == default)
        {
            return null;
        }

        var entry = new LedgerEntry(accountId, after.Seq, move.Kind, move.Amount, after.Balance, after.Held, move.At) { Reason = move.Reason, Actor = move.Actor };
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO ledger (account_id, seq, kind, amount, balance_after, held_after, reason, actor, at)
            VALUES (@AccountId, @Sequence, @kind, @Amount, @BalanceAfter, @HeldAfter, @Reason, @Actor, @At)
            """, new { entry.AccountId, entry.Sequence, kind = LedgerEntry.KindText(entry.Kind), entry.Amount, entry.BalanceAfter, entry.HeldAfter, entry.Reason, entry.Actor, entry.At },
            transaction, cancellationToken: cancellationToken));
        return entry;
    }

    public async Task<IReadOnlyList<LedgerEntry>> LedgerAsync(string accountId, LedgerQuery query, CancellationToken cancellationToken)
    {
        var rows = await database.ReadAsync(connection => connection.QueryAsync<LedgerRow>(new CommandDefinition(
            $"""
            SELECT {LedgerColumns} FROM ledger
            WHERE account_id = @accountId AND seq > @after AND (@task IS NULL OR task_id = @task)
            ORDER BY seq LIMIT @limit
            """, new { accountId, after = query.AfterSequence, task = query.TaskId, limit = query.Limit }, cancellationToken: cancellationToken)), cancellationToken);
        return [.. rows.Select(r => r.ToEntry())];
    }

    public async Task<IReadOnlyList<LedgerEntry>> TaskLedgerAsync(string taskId, CancellationToken cancellationToken)
    {
        var rows = await database.ReadAsync(connection => connection.QueryAsync<LedgerRow>(new CommandDefinition(
            $"""
            SELECT {LedgerColumns} FROM ledger
            WHERE account_id = (SELECT account_id FROM tasks WHERE id = @taskId) AND task_id = @taskId
              AND seq IN ((SELECT hold_seq FROM tasks WHERE id = @taskId), (SELECT settle_seq FROM tasks WHERE id = @taskId), (SELECT settle_seq + 1 FROM tasks WHERE id = @taskId))
            ORDER BY seq
            """, new { taskId }, cancellationToken: cancellationToken)), cancellationToken);
        return [.. rows.Select(r => r.ToEntry())];
    }

    public async Task<IReadOnlyList<UsageRow>> UsageAsync(UsageQuery query, CancellationToken cancellationToken)
    {
        var group = query.GroupBy switch
        {
            UsageGrouping.Channel => "channel",
            UsageGrouping.Key => "owner_key_id",
            UsageGrouping.Account => "account_id",
            _ => "model",
        };
        var day = query.ByDay ? database.Dialect.UtcDay("created_at") : "CAST(NULL AS text)";
        // Only the filters given go into the statement: an account's or a key's usage is read along ix_tasks_owner.
        var where = string.Concat(
            query.AccountId is null ? "" : " AND owner_key_id IN (SELECT id FROM api_keys WHERE account_id = @account)",
            query.KeyId is null ? "" : " AND owner_key_id = @key",
            query.Model is null ? "" : " AND model = @model",
            query.Channel is null ? "" : " AND channel = @channel");
        var rows = await database.ReadAsync(connection => connection.QueryAsync<UsageSqlRow>(new CommandDefinition(
            $"""
            SELECT {day} AS Day, {group} AS GroupKey, COUNT(*) AS Tasks,
                COUNT(*) FILTER (WHERE stage = 'completed') AS Completed, COUNT(*) FILTER (WHERE stage IN ('failed', 'cancelled')) AS Failed,
                COUNT(*) FILTER (WHERE stage IN ('pending', 'submitting', 'running', 'finishing')) AS Unfinished,
                CAST(COALESCE(SUM(CASE WHEN stage = 'completed' THEN video_duration END), 0) AS double precision) AS Seconds,
                CAST(COALESCE(SUM(CASE WHEN charged IS NULL THEN held ELSE 0 END), 0) AS bigint) AS Held,
                CAST(COALESCE(SUM(charged), 0) AS bigint) AS Charged, CAST(COALESCE(SUM(upstream_cost), 0) AS bigint) AS UpstreamCost
            FROM tasks
            WHERE created_at >= @from AND created_at < @to{where}
            GROUP BY 1, 2 ORDER BY 1, 2
            """,
            new { from = query.From, to = query.To, account = query.AccountId, key = query.KeyId, model = query.Model, channel = query.Channel },
            cancellationToken: cancellationToken)), cancellationToken);
        return [.. rows.Select(r => new UsageRow(r.Day, r.GroupKey, (int)r.Tasks, (int)r.Completed, (int)r.Failed, (int)r.Unfinished, r.Seconds, r.Held, r.Charged, r.UpstreamCost))];
    }

    internal static DynamicParameters Parameters(Account account)
    {
        var parameters = new DynamicParameters(new { account.Id, account.Name, Unlimited = account.Unlimited ? 1 : 0, account.Notes, account.CreatedAt, account.UpdatedAt });
        AccessLimitsRow.Bind(parameters, account.Limits);
        return parameters;
    }

    private sealed class AccountRow : AccessLimitsRow
    {
        public string Id { get; set; } = "";
        public string Name { get; set; } = "";
        public long Balance { get; set; }
        public long Held { get; set; }
        public long Unlimited { get; set; }
        public long CreatedAt { get; set; }
        public long UpdatedAt { get; set; }
        public long? RevokedAt { get; set; }
        public string? Notes { get; set; }

        public Account ToAccount() => new(Id, Name, Balance, Held, Unlimited == 1, CreatedAt, UpdatedAt, RevokedAt) { Limits = ToLimits(), Notes = Notes };
    }

    private sealed class LedgerRow
    {
        public string AccountId { get; set; } = "";
        public long Seq { get; set; }
        public string Kind { get; set; } = "";
        public long Amount { get; set; }
        public long BalanceAfter { get; set; }
        public long HeldAfter { get; set; }
        public string? KeyId { get; set; }
        public string? TaskId { get; set; }
        public string? Model { get; set; }
        public string? Reason { get; set; }
        public string? Actor { get; set; }
        public long At { get; set; }

        public LedgerEntry ToEntry() => new(AccountId, Seq, LedgerEntry.ParseKind(Kind), Amount, BalanceAfter, HeldAfter, At)
        {
            KeyId = KeyId,
            TaskId = TaskId,
            Model = Model,
            Reason = Reason,
            Actor = Actor,
        };
    }

    private sealed class UsageSqlRow
    {
        public string? Day { get; set; }
        public string? GroupKey { get; set; }
        public long Tasks { get; set; }
        public long Completed { get; set; }
        public long Failed { get; set; }
        public long Unfinished { get; set; }
        public double Seconds { get; set; }
        public long Held { get; set; }
        public long Charged { get; set; }
        public long UpstreamCost { get; set; }
    }
}
