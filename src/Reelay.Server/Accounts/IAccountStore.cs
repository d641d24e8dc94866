namespace Reelay.Accounts;

/// <summary>Which accounts a list shows, oldest first, a page at a time.</summary>
/// <param name="NameContains">Case-insensitive part of the name.</param>
/// <param name="Revoked">true: revoked ones only; false: active ones only; null: both.</param>
/// <param name="After">Id of the last account of the previous page.</param>
public sealed record AccountQuery(int Limit, string? After = null, string? NameContains = null, bool? Unlimited = null, bool? Revoked = null);

/// <summary>A page of an account's ledger, oldest first from <paramref name="AfterSequence"/>; or one task's rows.</summary>
public sealed record LedgerQuery(int Limit, long AfterSequence = 0, string? TaskId = null);

/// <summary>An operator's top-up or adjustment.</summary>
/// <param name="Amount">Micro-credits: positive for a top-up, either sign for an adjustment.</param>
/// <param name="Reason">Why, kept on the ledger row.</param>
/// <param name="Actor">The admin key that did it.</param>
public sealed record CreditMove(LedgerKind Kind, long Amount, string Reason, string Actor, long At);

/// <summary>What a top-up or adjustment did: the account after it and the ledger row, or why nothing moved.</summary>
/// <param name="Refused">Set when an adjustment would take the available credits below zero (the account is then as it was).</param>
public sealed record CreditMoveResult(Account? Account, LedgerEntry? Entry, bool Refused = false);

/// <summary>What usage is grouped by, besides the UTC day when asked.</summary>
public enum UsageGrouping
{
    Model,
    Channel,
    Key,
    Account,
}

/// <summary>Usage over [<paramref name="From"/>, <paramref name="To"/>) in Unix ms, of tasks created then, filtered and grouped.</summary>
public sealed record UsageQuery(long From, long To, UsageGrouping GroupBy, bool ByDay)
{
    public string? AccountId { get; init; }
    public string? KeyId { get; init; }
    public string? Model { get; init; }
    public string? Channel { get; init; }
}

/// <summary>One group's usage.</summary>
/// <param name="Day">UTC day (yyyy-MM-dd) when grouped by day.</param>
/// <param name="Group">The model, channel, key or account id; null for tasks without one (no channel yet).</param>
/// <param name="Seconds">Seconds of stored video.</param>
/// <param name="Held">Micro-credits still held by unfinished tasks.</param>
/// <param name="Charged">Micro-credits charged (revenue).</param>
/// <param name="UpstreamCost">Micro-credits the channels' cost prices put on the completed tasks.</param>
public sealed record UsageRow(string? Day, string? Group, int Tasks, int Completed, int Failed, int Unfinished, double Seconds, long Held, long Charged, long UpstreamCost);

/// <summary>Accounts, their credits and the ledger. A create's hold and a task's settlement are written by the task store, in the task's own transactions.</summary>
public interface IAccountStore
{
    /// <summary>Stores a new account; with <paramref name="initialCredits"/> it starts with that top-up, as a ledger row.</summary>
    Task<Account> CreateAsync(Account account, CreditMove? initialCredits, CancellationToken cancellationToken);

    Task<Account?> GetAsync(string id, CancellationToken cancellationToken);

    Task<IReadOnlyList<Account>> ListAsync(AccountQuery query, CancellationToken cancellationToken);

    /// <summary>Replaces name, unlimited, limits and notes of an active account; null when there is none.</summary>
    Task<Account?> UpdateAsync(Account account, long now, CancellationToken cancellationToken);

    /// <summary>Revokes the account: its keys answer 401. Null when no active account has the id.</summary>
    Task<Account?> RevokeAsync(string id, long now, CancellationToken cancellationToken);

    /// <summary>A top-up or adjustment: one ledger row, in one transaction with the balance it changes.</summary>
    Task<CreditMoveResult> MoveCreditsAsync(string accountId, CreditMove move, CancellationToken cancellationToken);

    Task<IReadOnlyList<LedgerEntry>> LedgerAsync(string accountId, LedgerQuery query, CancellationToken cancellationToken);

    /// <summary>Every ledger row of one task, in order.</summary>
    Task<IReadOnlyList<LedgerEntry>> TaskLedgerAsync(string taskId, CancellationToken cancellationToken);

    Task<IReadOnlyList<UsageRow>> UsageAsync(UsageQuery query, CancellationToken cancellationToken);
}
