using System.Net;
using System.Security.Cryptography;

namespace Reelay.Accounts;

/// <summary>
/// What an account or one of its keys may do. Every field is optional (null: no limit of that kind);
/// a key narrows its account, never widens it: both must allow a model or an address, and each
/// count (in flight, spend per day, requests per minute) is kept against both.
/// </summary>
public sealed record AccessLimits
{
    /// <summary>No limit of any kind.</summary>
    public static readonly AccessLimits None = new();

    /// <summary>Model names, or prefixes ending in <c>*</c> (<c>grok-*</c>); null: every model.</summary>
    public IReadOnlyList<string>? AllowedModels { get; init; }

    /// <summary>Unix ms after which requests answer 401.</summary>
    public long? ExpiresAt { get; init; }

    /// <summary>Create requests per minute (both create routes and remix), refilled evenly.</summary>
    public int? RequestsPerMinute { get; init; }

    /// <summary>Unfinished tasks at once.</summary>
    public int? MaxInFlight { get; init; }

    /// <summary>Micro-credits charged or held per UTC day.</summary>
    public long? MaxSpendPerDay { get; init; }

    /// <summary>Client addresses as CIDRs (<c>203.0.113.0/24</c>, <c>2001:db8::/32</c>) or single addresses; null: any.</summary>
    public IReadOnlyList<string>? AllowedIps { get; init; }

    /// <summary>The <c>callback_url</c> of a create that names none.</summary>
    public string? CallbackUrl { get; init; }

    /// <summary>Whether <paramref name="model"/> (the catalog name) or <paramref name="alias"/> (as the client wrote it) is allowed.</summary>
    public bool AllowsModel(string model, string? alias = null) =>
        AllowedModels is null || AllowedModels.Any(pattern => Matches(pattern, model) || (alias is not null && Matches(pattern, alias)));

    /// <summary>Whether a client address may use the key; an IPv4 address mapped into IPv6 counts as the IPv4 one.</summary>
    public bool AllowsAddress(IPAddress? address)
    {
        if (AllowedIps is null)
        {
            return true;
        }

        if (address is null)
        {
            return false;
        }

        var plain = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        return AllowedIps.Any(cidr => TryParseNetwork(cidr, out var network) && network.Contains(plain));
    }

    /// <summary>A CIDR or a single address (a /32 or /128 network).</summary>
    public static bool TryParseNetwork(string text, out IPNetwork network)
    {
        if (IPNetwork.TryParse(text, out network))
        {
            return true;
        }

        if (IPAddress.TryParse(text, out var single))
        {
            network = new IPNetwork(single, single.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }

        return false;
    }

    private static bool Matches(string pattern, string name) =>
        pattern.EndsWith('*')
            ? name.StartsWith(pattern[..^1], StringComparison.OrdinalIgnoreCase)
            : name.Equals(pattern, StringComparison.OrdinalIgnoreCase);
}

/// <summary>An account as stored: the balance its keys spend and the limits they share.</summary>
/// <param name="Id">Public id (<c>acct_…</c>).</param>
/// <param name="Name">Operator's label.</param>
/// <param name="Balance">Micro-credits: top-ups and adjustments minus charges. Negative only on an unlimited account.</param>
/// <param name="Held">Micro-credits held for unfinished tasks.</param>
/// <param name="Unlimited">Creates are never refused for want of credits; charges are still recorded.</param>
/// <param name="CreatedAt">Unix ms.</param>
/// <param name="RevokedAt">Unix ms once revoked: every key of the account answers 401.</param>
public sealed record Account(string Id, string Name, long Balance, long Held, bool Unlimited, long CreatedAt, long UpdatedAt, long? RevokedAt)
{
    public AccessLimits Limits { get; init; } = AccessLimits.None;

    public string? Notes { get; init; }

    /// <summary>What a create may hold now: balance minus open holds.</summary>
    public long Available => Balance - Held;

    /// <summary>A new account id.</summary>
    public static string NewId() => "acct_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
}

/// <summary>The kinds of money movement, each one ledger row.</summary>
public enum LedgerKind
{
    /// <summary>Credits added by an operator (positive).</summary>
    TopUp,

    /// <summary>A correction by an operator, either way.</summary>
    Adjust,

    /// <summary>Set aside at create for a task (the price of what it asked for).</summary>
    Hold,

    /// <summary>Taken from the balance when a task completes: what it actually cost, never more than its hold.</summary>
    Charge,

    /// <summary>The rest of a hold, given back when the task ends.</summary>
    Release,
}

/// <summary>
/// One money movement, as the append-only ledger keeps it. <see cref="Sequence"/> counts the
/// account's rows from 1 without gaps, and each row carries the balance and holds after it, so a
/// row changed or removed afterwards breaks the chain for anyone who checks.
/// </summary>
public sealed record LedgerEntry(
    string AccountId,
    long Sequence,
    LedgerKind Kind,
    long Amount,
    long BalanceAfter,
    long HeldAfter,
    long At)
{
    public string? KeyId { get; init; }

    public string? TaskId { get; init; }

    public string? Model { get; init; }

    /// <summary>Why an operator moved credits.</summary>
    public string? Reason { get; init; }

    /// <summary>The admin key that moved credits (<c>admin</c> for the bootstrap key).</summary>
    public string? Actor { get; init; }

    /// <summary>The ledger's words for the kinds, as the database and the API spell them.</summary>
    public static string KindText(LedgerKind kind) => kind switch
    {
        LedgerKind.TopUp => "topup",
        LedgerKind.Adjust => "adjust",
        LedgerKind.Hold => "hold",
        LedgerKind.Charge => "charge",
        _ => "release",
    };

    public static LedgerKind ParseKind(string text) => text switch
    {
        "topup" => LedgerKind.TopUp,
        "adjust" => LedgerKind.Adjust,
        "hold" => LedgerKind.Hold,
        "charge" => LedgerKind.Charge,
        "release" => LedgerKind.Release,
        _ => throw new InvalidDataException($"Unknown ledger kind '{text}' in the database."),
    };
}

/// <summary>Credits on the wire, micro-credits in storage: integers, so sums never drift.</summary>
public static class Credits
{
    /// <summary>Micro-credits in one credit.</summary>
    public const long Micro = 1_000_000;

    public static decimal ToCredits(long micro) => micro / (decimal)Micro;

    /// <summary>Credits → micro-credits; false when the amount has more than six decimals or does not fit.</summary>
    public static bool TryToMicro(decimal credits, out long micro)
    {
        micro = 0;
        var scaled = credits * Micro;
        if (scaled != decimal.Truncate(scaled) || scaled > long.MaxValue / 4 || scaled < long.MinValue / 4)
        {
            return false;
        }

        micro = (long)scaled;
        return true;
    }

    /// <summary>"2.5" — how messages write an amount.</summary>
    public static string Format(long micro) => ToCredits(micro).ToString("0.######", System.Globalization.CultureInfo.InvariantCulture);
}
