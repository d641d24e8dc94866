using Microsoft.Extensions.Time.Testing;
using Reelay.Channels;
using Reelay.Providers;

namespace Reelay.Tests.Channels;

public class ChannelStateTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void Breaker_ConsecutiveFailures_OpensThenHalfOpensAfterCoolDown()
    {
        using var state = NewState();

        state.RecordFailure();
        state.RecordFailure();
        Assert.Equal(BreakerState.Closed, state.Breaker);
        state.RecordFailure();
        Assert.Equal(BreakerState.Open, state.Breaker);
        Assert.False(state.TryEnter());

        _time.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(BreakerState.HalfOpen, state.Breaker);
        Assert.True(state.TryEnter());
        Assert.False(state.TryEnter());
    }

    [Fact]
    public void Breaker_TrialFails_OpensForAnotherCoolDown()
    {
        using var state = NewState();
        for (var i = 0; i < 3; i++)
        {
            state.RecordFailure();
        }

        _time.Advance(TimeSpan.FromSeconds(31));
        Assert.True(state.TryEnter());
        state.RecordFailure();

        Assert.Equal(BreakerState.Open, state.Breaker);
        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.False(state.TryEnter());
    }

    [Fact]
    public void Breaker_Success_Closes()
    {
        using var state = NewState();
        for (var i = 0; i < 3; i++)
        {
            state.RecordFailure();
        }

        _time.Advance(TimeSpan.FromSeconds(31));
        Assert.True(state.TryEnter());
        state.RecordSuccess();

        Assert.Equal(BreakerState.Closed, state.Breaker);
        Assert.Equal(0, state.ConsecutiveFailures);
    }

    [Fact]
    public void Budget_PerMinute_BurstsToATenthThenRefuses()
    {
        using var state = NewState(pollsPerMinute: 60);

        var taken = 0;
        while (ChannelState.TryTake(state.PollBudget, out _) && taken < 100)
        {
            taken++;
        }

        Assert.Equal(10, taken);
        Assert.False(ChannelState.TryTake(state.PollBudget, out var retryAfter));
        Assert.True(retryAfter > TimeSpan.Zero);
        Assert.True(ChannelState.TryTake(state.SubmitBudget, out _), "no submit budget means unlimited");
    }

    [Fact]
    public void InFlight_TaskNotLookedAtAgain_CountsUntilItsNextLookPlusTheGrace()
    {
        using var state = NewState();
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();

        state.RunningUntil("a", now + 10_000);
        state.RunningUntil("b", now + 10_000);
        state.RunningUntil("a", now + 120_000);
        Assert.Equal(2, state.InFlight);

        // b's next look plus the grace has passed without a word of it (ended elsewhere): a still counts.
        _time.Advance(TimeSpan.FromSeconds(10) + ChannelState.InFlightGrace + TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, state.InFlight);
    }

    [Fact]
    public void InFlight_Ended_StopsCountingAtOnce()
    {
        using var state = NewState();
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        state.RunningUntil("a", now + 10_000);
        state.RunningUntil("b", now + 10_000);

        state.Ended("a");
        state.Ended("never-seen");

        Assert.Equal(1, state.InFlight);
    }

    private ChannelState NewState(int pollsPerMinute = 0) =>
        new(
            new Channel(new ChannelSettings("c", "xai", null, null), new Dictionary<string, string?>(), 0, 1, true, PollsPerMinute: pollsPerMinute),
            new ChannelHealthOptions { FailuresToOpen = 3, CoolDown = TimeSpan.FromSeconds(30) },
            _time);
}
