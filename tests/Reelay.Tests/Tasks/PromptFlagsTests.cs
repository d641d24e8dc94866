using Reelay.Tasks;

namespace Reelay.Tests.Tasks;

public sealed class PromptFlagsTests
{
    [Fact]
    public void Split_TrailingModeFlag_RemovedAndParsed()
    {
        var (prompt, flags) = PromptFlags.Split("a cat eating fish --mode=custom");

        Assert.Equal("a cat eating fish", prompt);
        Assert.Equal("custom", Assert.Single(flags, f => f.Key == "mode").Value);
        Assert.Single(flags);
    }

    [Fact]
    public void Split_SeveralTrailingFlags_AllParsedNamesLowerCased()
    {
        var (prompt, flags) = PromptFlags.Split("a cat  --Mode=extremely-crazy --seed=42  ");

        Assert.Equal("a cat", prompt);
        Assert.Equal("extremely-crazy", flags["mode"]);
        Assert.Equal("42", flags["seed"]);
    }

    [Fact]
    public void Split_RepeatedFlag_LastOneInTextWins()
    {
        var (_, flags) = PromptFlags.Split("a cat --mode=normal --mode=custom");

        Assert.Equal("custom", flags["mode"]);
    }

    [Fact]
    public void Split_FlagInTheMiddle_KeptInPrompt()
    {
        var (prompt, flags) = PromptFlags.Split("use --mode=custom for this cat, then zoom out");

        Assert.Equal("use --mode=custom for this cat, then zoom out", prompt);
        Assert.Empty(flags);
    }

    [Fact]
    public void Split_CjkPrompt_KeepsTextAndReadsFlag()
    {
        var (prompt, flags) = PromptFlags.Split("小猫在吃鱼 --mode=custom");

        Assert.Equal("小猫在吃鱼", prompt);
        Assert.Equal("custom", flags["mode"]);
    }

    [Fact]
    public void Split_CjkPromptWithoutSpaceBeforeFlag_KeptAsText()
    {
        var (prompt, flags) = PromptFlags.Split("小猫在吃鱼--mode=custom");

        Assert.Equal("小猫在吃鱼--mode=custom", prompt);
        Assert.Empty(flags);
    }

    [Theory]
    [InlineData("--mode=custom")]
    [InlineData("  --mode=custom --fps=24 ")]
    public void Split_OnlyFlags_LeavesEmptyPrompt(string text)
    {
        var (prompt, flags) = PromptFlags.Split(text);

        Assert.Equal("", prompt);
        Assert.NotEmpty(flags);
    }

    [Theory]
    [InlineData("a cat -- mode=custom")]
    [InlineData("a cat --mode=")]
    [InlineData("a cat --1mode=custom")]
    [InlineData("a cat—mode=custom")]
    public void Split_NotAFlag_PromptUntouched(string text)
    {
        var (prompt, flags) = PromptFlags.Split(text);

        Assert.Equal(text, prompt);
        Assert.Empty(flags);
    }
}
