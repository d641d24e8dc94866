using Microsoft.Extensions.Options;
using Reelay.Accounts;
using Reelay.Catalog;

namespace Reelay.Billing;

/// <summary>Prices and cost prices (section <c>Billing</c>). A model without a price is free; prices set through the admin API override these.</summary>
public sealed class BillingOptions
{
    /// <summary>Price per catalog model (its name or an alias).</summary>
    public Dictionary<string, PriceOptions> Prices { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Optional cost price per channel: credits the operator pays upstream per second of video the
    /// channel delivers. Usage reports then show upstream cost and margin beside revenue.
    /// </summary>
    public Dictionary<string, decimal> ChannelCosts { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

/// <summary>One model's price, in credits (up to six decimals).</summary>
public sealed class PriceOptions
{
    /// <summary>Credits per second of output; the charge follows the stored video's real length, never above what was asked for.</summary>
    public decimal? PerSecond { get; set; }

    /// <summary>Credits per video, whatever its length.</summary>
    public decimal? PerVideo { get; set; }

    /// <summary>The per-unit price by size class (<c>1080P</c>, <c>4K</c>), replacing the base one.</summary>
    public Dictionary<string, decimal> Sizes { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Per-unit surcharges for options that change what the upstream charges: <c>name=value</c>, or <c>name</c> for <c>name=true</c>.</summary>
    public Dictionary<string, decimal> Options { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>Stops startup on a price that cannot work or names no catalog model, naming the setting.</summary>
internal sealed class BillingOptionsValidator(IOptions<CatalogOptions> catalog) : IValidateOptions<BillingOptions>
{
    public ValidateOptionsResult Validate(string? name, BillingOptions options)
    {
        var names = catalog.Value.Models.SelectMany(pair => pair.Value.Aliases.Prepend(pair.Key)).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var builder = new ValidateOptionsResultBuilder();
        foreach (var (model, price) in options.Prices)
        {
            if (!names.Contains(model))
            {
                builder.AddError($"names no catalog model (Catalog:Models); a model only a channel lists is priced through PUT /admin/prices/{{model}}", $"Billing:Prices:{model}");
            }
            else if (Price.From(price, out var problem) is null)
            {
                builder.AddError(problem!, $"Billing:Prices:{model}");
            }
        }

        foreach (var (channel, cost) in options.ChannelCosts)
        {
            if (!Credits.TryToMicro(cost, out var micro) || micro < 0)
            {
                builder.AddError($"must be zero or more credits per second with at most six decimals, got {cost}", $"Billing:ChannelCosts:{channel}");
            }
        }

        return builder.Build();
    }
}
