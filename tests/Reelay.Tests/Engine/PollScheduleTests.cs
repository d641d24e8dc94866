using Microsoft.Extensions.Time.Testing;
using Reelay.Channels;
using Reelay.Engine;
using Reelay.Providers;

namespace Reelay.Tests.Engine;

public class PollScheduleTests
{
    private static readonly RouteCandidate Route = NewRoute(pollInterval: TimeSpan.FromSeconds(1));

    [Fact]
    public void NextInterval_MorePolls_GrowsUpToTheMaximumWithJitter()
    {
        var first = PollSchedule.NextInterval(Route, 0);
        var later = PollSchedule.NextInterval(Route, 5);
        var capped = PollSchedule.NextInterval(Route, 50);

        Assert.InRange(first.TotalSeconds, 0.8, 1.2);
        Assert.InRange(later.TotalSeconds, 0.8 * Math.Pow(1.5, 5), 1.2 * Math.Pow(1.5, 5));
        Assert.InRange(capped.TotalSeconds, 0.8 * 30, 1.2 * 30);
    }

    [Fact]
    public void FromProgress_QuarterDoneAfterTwoSeconds_WaitsAboutSixMore()
    {
        var wait = PollSchedule.FromProgress(Route, 25, TimeSpan.FromSeconds(2));

        Assert.NotNull(wait);
        Assert.InRange(wait.Value.TotalSeconds, 6.0, 6.6);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(0)]
    [InlineData(100)]
    public void FromProgress_NoUsableProgress_LeavesItToBackoff(int? progress) =>
        Assert.Null(PollSchedule.FromProgress(Route, progress, TimeSpan.FromSeconds(2)));

    [Fact]
    public void FromProgress_AlmostDone_NeverBelowTheChannelInterval()
    {
        var wait = PollSchedule.FromProgress(Route, 99, TimeSpan.FromMilliseconds(100));

        Assert.InRange(wait!.Value.TotalSeconds, 1.0, 1.1);
    }

    private static RouteCandidate NewRoute(TimeSpan pollInterval)
    {
        var channel = new Channel(new ChannelSettings("c", "xai", null, null), new Dictionary<string, string?>(), 0, 1, true, PollInterval: pollInterval);
        var provider = new StubCapabilities(new ProviderCapabilities(0) { MaxPollInterval = TimeSpan.FromSeconds(30) });
        return new RouteCandidate(channel, provider, "m", new ChannelState(channel, new ChannelHealthOptions(), new FakeTimeProvider()));
    }

    /// <summary>Only the capabilities are read by the schedule; no call is ever made.</summary>
    private sealed class StubCapabilities(ProviderCapabilities capabilities) : IVideoProvider
    {
        public string Name => "xai";

        public ProviderCapabilities Capabilities { get; } = capabilities;

        public Task<SubmitResult> SubmitAsync(VideoJobRequest request, ChannelSettings channel, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<PollResult> PollAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<ResultContent> OpenResultAsync(UpstreamJob job, string resultLocation, ChannelSettings channel, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task CancelAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
