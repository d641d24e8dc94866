using Reelay.Api;

namespace Reelay.Tests.Api;

public class CancelAfterTests
{
    [Theory]
    [InlineData("90s", 90)]
    [InlineData("5m", 300)]
    [InlineData("1h30m", 5400)]
    [InlineData("1.5h", 5400)]
    [InlineData("2m30s", 150)]
    [InlineData("1500ms", 1.5)]
    [InlineData(" 24h ", 86400)]
    public void TryParse_ReplicateDurations_ReadAsGoWritesThem(string text, double seconds)
    {
        Assert.True(CancelAfter.TryParse(text, out var duration));
        Assert.Equal(TimeSpan.FromSeconds(seconds), duration);
    }

    [Theory]
    [InlineData("")]
    [InlineData("90")]
    [InlineData("s")]
    [InlineData("5 m")]
    [InlineData("-5s")]
    [InlineData("500ms")]
    [InlineData("24h1s")]
    [InlineData("1d")]
    [InlineData("1e3s")]
    public void TryParse_NoUnitOutOfRangeOrForeign_Refused(string text) =>
        Assert.False(CancelAfter.TryParse(text, out _));
}
