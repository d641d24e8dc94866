using Reelay.Billing;

namespace Reelay.Tests.Billing;

/// <summary>Prices and settlement as pure arithmetic on micro-credits.</summary>
public sealed class PriceTests
{
    private static readonly Price PerSecond = Price.From(new PriceOptions
    {
        PerSecond = 0.05m,
        Sizes = { ["1080p"] = 0.08m },
        Options = { ["enable_upsample"] = 0.01m, ["style=anime"] = 0.02m },
    }, out _)!;

    [Theory]
    [InlineData("720P", 50_000)]
    [InlineData("1080P", 80_000)]
    [InlineData("1792x1024", 80_000)]
    [InlineData("480P", 50_000)]
    public void UnitPrice_BySize_ReplacesTheBaseAmount(string size, long expected) =>
        Assert.Equal(expected, PerSecond.UnitPrice(size, new Dictionary<string, string>()));

    [Fact]
    public void UnitPrice_OptionsCarried_AddTheirSurcharges()
    {
        var options = new Dictionary<string, string> { ["enable_upsample"] = "true", ["style"] = "anime", ["watermark"] = "false" };

        Assert.Equal(80_000, PerSecond.UnitPrice("720P", options));
        Assert.Equal(50_000, PerSecond.UnitPrice("720P", new Dictionary<string, string> { ["enable_upsample"] = "false", ["style"] = "comic" }));
    }

    [Fact]
    public void QuoteFor_PerSecondAndPerVideo_HoldUnitTimesSecondsOrOnce()
    {
        var perVideo = Price.From(new PriceOptions { PerVideo = 2 }, out _)!;

        Assert.Equal(500_000, PerSecond.QuoteFor("m", "720P", 10, new Dictionary<string, string>()).Amount);
        Assert.Equal(2_000_000, perVideo.QuoteFor("m", "720P", 10, new Dictionary<string, string>()).Amount);
        Assert.Equal("10 s × 0.05 credits per second", PerSecond.QuoteFor("m", "720P", 10, new Dictionary<string, string>()).Explain());
    }

    [Theory]
    [InlineData(PriceUnit.Second, 50_000, 500_000, 6.0, 300_000)]
    [InlineData(PriceUnit.Second, 50_000, 500_000, 1.0004, 50_000)]
    [InlineData(PriceUnit.Second, 50_000, 500_000, 1.0006, 50_050)]
    [InlineData(PriceUnit.Second, 50_000, 500_000, 10.04, 500_000)]
    [InlineData(PriceUnit.Second, 50_000, 500_000, 25, 500_000)]
    [InlineData(PriceUnit.Video, 2_000_000, 2_000_000, 1, 2_000_000)]
    [InlineData(PriceUnit.Second, 0, 0, 10, 0)]
    public void Charge_ActualSeconds_NeverMoreThanTheHold(PriceUnit unit, long unitPrice, long held, double seconds, long expected) =>
        Assert.Equal(expected, Settlement.Charge(unit, unitPrice, held, seconds));

    [Theory]
    [InlineData(null, null, "set exactly one of PerSecond and PerVideo")]
    [InlineData(1.0, 1.0, "set exactly one of PerSecond and PerVideo")]
    [InlineData(-0.5, null, "PerSecond must be zero or more credits with at most six decimals, got -0.5")]
    [InlineData(null, 0.0000001, "PerVideo must be zero or more credits with at most six decimals, got 0.0000001")]
    public void From_InvalidAmounts_SayWhatToFix(double? perSecond, double? perVideo, string problem)
    {
        var price = Price.From(new PriceOptions { PerSecond = (decimal?)perSecond, PerVideo = (decimal?)perVideo }, out var message);

        Assert.Null(price);
        Assert.Equal(problem, message);
    }
}
