using Reelay.Tasks;

namespace Reelay.Tests.Tasks;

public class InProcessTaskChangesTests
{
    [Fact]
    public void Publish_TwoWatchersOfTheTask_WakesBothAndNotAnotherTasks()
    {
        var changes = new InProcessTaskChanges();
        using var first = changes.Watch("a");
        using var second = changes.Watch("a");
        using var other = changes.Watch("b");
        var (one, two, three) = (first.NextChange(), second.NextChange(), other.NextChange());

        changes.Publish("a");

        Assert.True(one.IsCompleted);
        Assert.True(two.IsCompleted);
        Assert.False(three.IsCompleted);
    }

    [Fact]
    public void NextChange_TakenAfterAPublish_WaitsForTheNextOne()
    {
        var changes = new InProcessTaskChanges();
        using var watch = changes.Watch("a");
        changes.Publish("a");

        var next = watch.NextChange();
        Assert.False(next.IsCompleted);
        changes.Publish("a");
        Assert.True(next.IsCompleted);
    }

    [Fact]
    public void Dispose_LastWatch_ForgetsTheTaskAndANewWatchStartsAfresh()
    {
        var changes = new InProcessTaskChanges();
        var watch = changes.Watch("a");
        var second = changes.Watch("a");
        watch.Dispose();
        Assert.Equal(1, changes.WatchedTasks);
        second.Dispose();
        second.Dispose();
        Assert.Equal(0, changes.WatchedTasks);

        changes.Publish("a");
        using var fresh = changes.Watch("a");
        Assert.False(fresh.NextChange().IsCompleted);
    }

    [Fact]
    public async Task ArrivesWithin_NoChange_FalseAfterTheTimeout_Change_True()
    {
        var changes = new InProcessTaskChanges();
        using var watch = changes.Watch("a");
        var next = watch.NextChange();

        Assert.False(await next.ArrivesWithinAsync(TimeSpan.FromMilliseconds(10), TimeProvider.System, TestContext.Current.CancellationToken));
        changes.Publish("a");
        Assert.True(await next.ArrivesWithinAsync(TimeSpan.Zero, TimeProvider.System, TestContext.Current.CancellationToken));
    }
}
