using Reelay.Api;
using Reelay.Tasks;

namespace Reelay.Tests.Api;

public class PollHintTests
{
    private static VideoTask Task(TaskStage stage, int progress, long updatedAt) => new()
    {
        Id = "t", OwnerKeyId = "k", Model = "m", RequestedModel = "m", Prompt = "p", AspectRatio = "16:9", Size = "720P",
        Stage = stage, Progress = progress, UpdatedAt = updatedAt,
    };

    [Theory]
    // Half done after 4 s: about 4 s left.
    [InlineData(50, 4_000, 4_000)]
    // A quarter done after 1 s: 3 s left.
    [InlineData(25, 1_000, 3_000)]
    // 90% after 1 s: a ninth of a second left, but never sooner than a second.
    [InlineData(90, 1_000, 1_000)]
    // 1% after 10 s: over 16 minutes left, but progress should still show: half a minute.
    [InlineData(1, 10_000, 30_000)]
    // No progress yet: the default.
    [InlineData(0, 10_000, 2_000)]
    public void PollHint_Running_FollowsThePredictedFinishWithinBounds(int progress, long elapsed, long expectedMs)
    {
        var hint = TaskWaits.PollHint(Task(TaskStage.Running, progress, 1_000_000), 1_000_000 + elapsed);

        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), hint);
    }

    [Fact]
    public void PollHint_PendingOrFinished_DefaultOrNone()
    {
        Assert.Equal(TaskWaits.DefaultPollHint, TaskWaits.PollHint(Task(TaskStage.Pending, 0, 0), 5_000));
        Assert.Null(TaskWaits.PollHint(Task(TaskStage.Completed, 100, 0), 5_000));
        Assert.Null(TaskWaits.PollHint(Task(TaskStage.Cancelled, 10, 0), 5_000));
    }
}
