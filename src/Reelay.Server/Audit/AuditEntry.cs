namespace Reelay.Audit;

/// <summary>One admin change: who made it (the admin key's id, <c>admin</c> for the bootstrap key), what, before and after, when.</summary>
/// <param name="Action">What was done, as <c>target.verb</c> (<c>account.top_up</c>, <c>key.revoke</c>, <c>price.set</c>…).</param>
/// <param name="TargetType">What kind of thing changed (<c>account</c>, <c>key</c>, <c>admin_key</c>, <c>price</c>, <c>channel</c>, <c>task</c>).</param>
/// <param name="Before">The thing as admins saw it before, as JSON; null when it was created.</param>
/// <param name="After">As JSON afterwards; null when it was deleted. Secrets never appear in either.</param>
public sealed record AuditEntry(long At, string Actor, string Action, string TargetType, string TargetId, string? Before, string? After)
{
    /// <summary>Its place in the log, assigned when written.</summary>
    public long Id { get; init; }

    /// <summary>What the views cannot show, in words: which write-only secrets changed (<c>api_key changed</c>), never their values.</summary>
    public string? Note { get; init; }
}

/// <summary>Which audit rows a list shows, newest first, a page at a time.</summary>
/// <param name="Before">Id of the last row of the previous page.</param>
public sealed record AuditQuery(int Limit, long? Before = null, string? Actor = null, string? TargetType = null, string? TargetId = null, string? Action = null);

/// <summary>The audit log: append and read; rows are never changed.</summary>
public interface IAuditLog
{
    Task WriteAsync(AuditEntry entry, CancellationToken cancellationToken);

    Task<IReadOnlyList<AuditEntry>> ListAsync(AuditQuery query, CancellationToken cancellationToken);
}
