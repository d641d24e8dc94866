using Reelay.Providers.Local;

namespace Reelay.Tests.Providers.Local;

public sealed class LocalRenderPlanTests
{
    [Fact]
    public void WrapCaption_LongCjkPrompt_BreaksBetweenCharactersWithinWidth()
    {
        var lines = LocalRenderPlan.WrapCaption(string.Concat(Enumerable.Repeat("小猫在吃鱼", 4)), maxWidth: 500, fontSize: 50, maxLines: 5);

        Assert.Equal(["小猫在吃鱼小猫在吃鱼", "小猫在吃鱼小猫在吃鱼"], lines);
    }

    [Fact]
    public void WrapCaption_Words_BreakAtSpaces()
    {
        var lines = LocalRenderPlan.WrapCaption("a paper boat drifting down a rainy street", maxWidth: 310, fontSize: 50, maxLines: 10);

        Assert.All(lines, l => Assert.True(l.Length <= 10, l));
        Assert.Equal("a paper boat drifting down a rainy street", string.Join(' ', lines));
    }

    [Fact]
    public void WrapCaption_TooManyLines_EndsWithEllipsis()
    {
        var lines = LocalRenderPlan.WrapCaption(string.Concat(Enumerable.Repeat("鱼", 100)), maxWidth: 500, fontSize: 50, maxLines: 3);

        Assert.Equal(3, lines.Count);
        Assert.EndsWith("…", lines[^1]);
    }

    [Fact]
    public void SeedFor_NoSeed_DependsOnPromptNotTaskId()
    {
        var a = LocalRenderKit.Request(seed: null, taskId: "task_a");
        var b = a with { TaskId = "task_b" };
        var c = a with { Prompt = "something else" };

        Assert.Equal(LocalRenderPlan.SeedFor(a), LocalRenderPlan.SeedFor(b));
        Assert.NotEqual(LocalRenderPlan.SeedFor(a), LocalRenderPlan.SeedFor(c));
        Assert.Equal(99, LocalRenderPlan.SeedFor(a with { Seed = 99 }));
    }
}
