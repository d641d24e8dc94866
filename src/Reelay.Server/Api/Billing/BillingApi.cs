using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Reelay.Accounts;
using Reelay.Api.Errors;
using Reelay.Billing;
using Reelay.Catalog;
using Reelay.Channels;
using Reelay.Keys;
using Reelay.Tasks;

namespace Reelay.Api.Billing;

/// <summary>A dry run's answer: what the request would hold, and whether the account covers it now.</summary>
/// <param name="Price">Credits the create would hold (and at most charge).</param>
/// <param name="UnitPrice">Credits per <paramref name="Unit"/>.</param>
/// <param name="Unit"><c>second</c> or <c>video</c>; null when the model is free.</param>
/// <param name="Available">The account's balance less its open holds, in credits.</param>
/// <param name="Sufficient">Whether a create would be accepted as far as credits go (limits aside).</param>
/// <param name="TestMode">A test-mode key: never charged.</param>
public sealed record PriceQuoteView(
    string Object, bool DryRun, string Model, string Size, int Duration, string? Unit, decimal UnitPrice, decimal Price,
    decimal Available, decimal Balance, decimal Held, bool Unlimited, bool Sufficient, bool TestMode)
{
    public static PriceQuoteView From(TaskQuoteResult result, Caller caller)
    {
        var (quote, account, task) = (result.Quote!, result.Account, result.Task!);
        var unlimited = account?.Unlimited ?? false;
        var available = account?.Available ?? 0;
        return new PriceQuoteView(
            "video.price_quote", true, task.Model, task.Size, task.Duration,
            quote.Amount > 0 ? Reelay.Billing.Price.UnitText(quote.Unit) : null, Credits.ToCredits(quote.UnitPrice), Credits.ToCredits(quote.Amount),
            Credits.ToCredits(available), Credits.ToCredits(account?.Balance ?? 0), Credits.ToCredits(account?.Held ?? 0),
            unlimited, quote.Amount == 0 || unlimited || available >= quote.Amount, caller.Mode == KeyMode.Test);
    }
}

/// <summary>A model's price as <c>GET /v1/pricing</c> and <c>GET /admin/prices</c> show it, in credits.</summary>
/// <param name="Unit"><c>second</c> or <c>video</c>; null when free.</param>
/// <param name="Price">Credits per unit at the model's default size, before option surcharges.</param>
/// <param name="Sizes">Credits per unit by size class, where it differs.</param>
/// <param name="Options">Credits added per unit when the request carries the option (<c>name=value</c>, or <c>name</c> for true).</param>
/// <param name="Source"><c>configuration</c>, <c>admin</c>, or null when free (admin views only).</param>
public sealed record ModelPriceView(
    string Model, string Object, string? Unit, decimal Price, IReadOnlyDictionary<string, decimal> Sizes, IReadOnlyDictionary<string, decimal> Options, bool Free, string? Source, long? UpdatedAt)
{
    public static ModelPriceView For(string model, PricedModel? priced, bool testMode = false) =>
        priced is null || testMode
            ? new(model, "model.price", null, 0, new Dictionary<string, decimal>(), new Dictionary<string, decimal>(), true, priced?.Source, priced?.UpdatedAt)
            : new(model, "model.price", Reelay.Billing.Price.UnitText(priced.Price.Unit), Credits.ToCredits(priced.Price.Amount),
                priced.Price.Sizes.ToDictionary(p => p.Key, p => Credits.ToCredits(p.Value), StringComparer.Ordinal),
                priced.Price.Options.ToDictionary(p => p.Key, p => Credits.ToCredits(p.Value), StringComparer.Ordinal),
                false, priced.Source, priced.UpdatedAt);
}

public sealed record PricingList(string Object, string Currency, bool TestMode, IReadOnlyList<ModelPriceView> Data);

/// <summary>One group's usage, in credits.</summary>
/// <param name="Group">The model, channel, key or account the row counts (named by the list's <c>group_by</c>).</param>
/// <param name="Charged">Credits charged: the revenue.</param>
/// <param name="Held">Credits still held by unfinished tasks.</param>
/// <param name="UpstreamCost">Credits the channels' cost prices put on the completed tasks (admin views).</param>
/// <param name="Margin">Charged less upstream cost (admin views).</param>
public sealed record UsageRowView(string? Day, string? Group, int Tasks, int Completed, int Failed, int Unfinished, double Seconds, decimal Charged, decimal Held, decimal? UpstreamCost, decimal? Margin);

/// <summary>An account's usage over a period: its credits now, then the rows.</summary>
public sealed record UsageView(
    string Object, string? AccountId, decimal? Balance, decimal? Held, decimal? Available, bool? Unlimited, string From, string To, string GroupBy,
    decimal TotalCharged, IReadOnlyList<UsageRowView> Data);

/// <summary><c>GET /v1/pricing</c> (what this key's models cost) and <c>GET /v1/usage</c> (its account's credits and spending).</summary>
public static class BillingApi
{
    private static readonly TimeSpan DefaultPeriod = TimeSpan.FromDays(30);

    public static IEndpointRouteBuilder MapBillingApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1").RequireClientKey().ProducesApiErrors(401, 403).WithTags("Billing");
        group.MapGet("/pricing", Pricing).WithName("Pricing").WithSummary("What each model this key may use costs, in credits");
        group.MapGet("/usage", UsageAsync).WithName("Usage").WithSummary("The account's credits, and its charges and task counts per model and day")
            .ProducesApiErrors(400);
        return routes;
    }

    private static Ok<PricingList> Pricing(HttpContext http, ModelCatalog catalog, ChannelRouter router, PriceList prices)
    {
        var caller = http.GetCaller();
        var test = caller.Mode == KeyMode.Test;
        var models = catalog.Entries
            .Where(model => router.Candidates(model, caller.Mode).Count > 0 && caller.AllowsModel(model.Name))
            .Select(model => ModelPriceView.For(model.Name, prices.Priced(model.Name), test) with { Source = null, UpdatedAt = null })
            .ToList();
        return TypedResults.Ok(new PricingList("list", "credit", test, models));
    }

    private static async Task<Results<Ok<UsageView>, ApiError>> UsageAsync(HttpContext http, IAccountStore accounts, TimeProvider time, string? from, string? to)
    {
        if (Period(from, to, time, out var start, out var end) is { } error)
        {
            return error;
        }

        var caller = http.GetCaller();
        var account = await accounts.GetAsync(caller.AccountId, http.RequestAborted);
        var rows = await accounts.UsageAsync(new UsageQuery(start, end, UsageGrouping.Model, ByDay: true) { AccountId = caller.AccountId }, http.RequestAborted);
        return TypedResults.Ok(View(account, start, end, "model", rows, withCost: false));
    }

    /// <summary>The answer of a usage query; upstream cost and margin only for operators.</summary>
    public static UsageView View(Account? account, long start, long end, string groupBy, IReadOnlyList<UsageRow> rows, bool withCost) => new(
        "usage", account?.Id, account is null ? null : Credits.ToCredits(account.Balance), account is null ? null : Credits.ToCredits(account.Held),
        account is null ? null : Credits.ToCredits(account.Available), account?.Unlimited, Day(start), Day(end - 1), groupBy,
        Credits.ToCredits(rows.Sum(r => r.Charged)),
        [.. rows.Select(r => new UsageRowView(r.Day, r.Group, r.Tasks, r.Completed, r.Failed, r.Unfinished, Math.Round(r.Seconds, 3),
            Credits.ToCredits(r.Charged), Credits.ToCredits(r.Held),
            withCost ? Credits.ToCredits(r.UpstreamCost) : null, withCost ? Credits.ToCredits(r.Charged - r.UpstreamCost) : null))]);

    /// <summary>
    /// <c>from</c> and <c>to</c> as UTC days (<c>yyyy-MM-dd</c>), both included: by default the 30 days up to
    /// today. The result is [start, end) in Unix ms.
    /// </summary>
    public static ApiError? Period(string? from, string? to, TimeProvider time, out long start, out long end)
    {
        start = end = 0;
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        DateOnly? Parse(string? text) =>
            text is null ? null : DateOnly.TryParseExact(text.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day) ? day : DateOnly.MinValue;
        var (last, first) = (Parse(to), Parse(from));
        if (last == DateOnly.MinValue)
        {
            return ApiError.BadRequest($"'to' must be a UTC day as yyyy-MM-dd, got '{Shorten(to!)}'.", "to", "invalid_date");
        }

        if (first == DateOnly.MinValue)
        {
            return ApiError.BadRequest($"'from' must be a UTC day as yyyy-MM-dd, got '{Shorten(from!)}'.", "from", "invalid_date");
        }

        var lastDay = last ?? today;
        var firstDay = first ?? lastDay.AddDays(-(int)DefaultPeriod.TotalDays + 1);
        if (firstDay > lastDay)
        {
            return ApiError.BadRequest($"'from' {firstDay:yyyy-MM-dd} is after 'to' {lastDay:yyyy-MM-dd}.", "from", "invalid_period");
        }

        start = new DateTimeOffset(firstDay.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeMilliseconds();
        end = new DateTimeOffset(lastDay.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeMilliseconds();
        return null;
    }

    private static string Day(long unixMs) => DateTimeOffset.FromUnixTimeMilliseconds(unixMs).UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string Shorten(string value) => value.Length <= 40 ? value : value[..40] + "…";
}
