using Dapper;
using Reelay.Audit;

namespace Reelay.Storage.Relational;

/// <summary><see cref="IAuditLog"/> on SQLite or PostgreSQL: rows numbered in the order written, read newest first.</summary>
public sealed class RelationalAuditLog(IRelationalDatabase database) : IAuditLog
{
    public Task WriteAsync(AuditEntry entry, CancellationToken cancellationToken) =>
        database.WriteAsync(connection => connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO audit (at, actor, action, target_type, target_id, before_json, after_json, note)
            VALUES (@At, @Actor, @Action, @TargetType, @TargetId, @Before, @After, @Note)
            """, entry, cancellationToken: cancellationToken)), cancellationToken);

    public async Task<IReadOnlyList<AuditEntry>> ListAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        var rows = await database.ReadAsync(connection => connection.QueryAsync<AuditRow>(new CommandDefinition(
            """
            SELECT id AS Id, at AS At, actor AS Actor, action AS Action, target_type AS TargetType, target_id AS TargetId,
                before_json AS Before, after_json AS After, note AS Note
            FROM audit
            WHERE (@before IS NULL OR id < @before) AND (@actor IS NULL OR actor = @actor)
              AND (@targetType IS NULL OR target_type = @targetType) AND (@targetId IS NULL OR target_id = @targetId)
              AND (@action IS NULL OR action = @action)
            ORDER BY id DESC LIMIT @limit
            """,
            new { before = query.Before, actor = query.Actor, targetType = query.TargetType, targetId = query.TargetId, action = query.Action, limit = query.Limit },
            cancellationToken: cancellationToken)), cancellationToken);
        return [.. rows.Select(r => new AuditEntry(r.At, r.Actor, r.Action, r.TargetType, r.TargetId, r.Before, r.After) { Id = r.Id, Note = r.Note })];
    }

    private sealed class AuditRow
    {
        public long Id { get; set; }
        public long At { get; set; }
        public string Actor { get; set; } = "";
        public string Action { get; set; } = "";
        public string TargetType { get; set; } = "";
        public string TargetId { get; set; } = "";
        public string? Before { get; set; }
        public string? After { get; set; }
        public string? Note { get; set; }
    }
}
