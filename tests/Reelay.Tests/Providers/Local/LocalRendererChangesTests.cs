using Reelay.Providers;
using Reelay.Providers.Local;

namespace Reelay.Tests.Providers.Local;

/// <summary>The renderer tells the engine when a job starts and ends, so jobs waiting for a slot need no polling.</summary>
public sealed class LocalRendererChangesTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public void Capabilities_LocalRenderer_PushesChanges()
    {
        using var renderer = LocalRenderKit.Renderer(_scratch.Path);

        Assert.True(renderer.Capabilities.PushesChanges);
    }

    [Fact]
    public async Task Changes_JobWaitsForTheOnlySlot_QueuedUntilItStartsThenReportsStartAndEnd()
    {
        using var renderer = LocalRenderKit.Renderer(_scratch.Path, o => o.MaxConcurrentRenders = 1);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        limit.CancelAfter(TimeSpan.FromSeconds(60));
        var ct = limit.Token;
        var holder = LocalRenderKit.Request(1280, 720, seconds: 60, prompt: "holds the slot");
        var holderJob = LocalRenderKit.Job((await renderer.SubmitAsync(holder, LocalRenderKit.Channel, ct)).UpstreamId, holder);
        var started = await renderer.Changes.ReadAsync(ct);
        Assert.Equal(holderJob, started);
        Assert.Equal(UpstreamState.Running, (await renderer.PollAsync(holderJob, LocalRenderKit.Channel, ct)).State);

        var waiting = LocalRenderKit.Request(320, 180, prompt: "waits its turn");
        var waitingJob = LocalRenderKit.Job((await renderer.SubmitAsync(waiting, LocalRenderKit.Channel, ct)).UpstreamId, waiting);
        var whileWaiting = await renderer.PollAsync(waitingJob, LocalRenderKit.Channel, ct);
        Assert.Equal(UpstreamState.Queued, whileWaiting.State);
        Assert.Equal(0, whileWaiting.Progress);
        Assert.False(renderer.Changes.TryRead(out var early), $"a notice while nothing changed: {early}");

        // The slot frees (the holder is cancelled, which is no change to report): the waiting job starts, then ends.
        await renderer.CancelAsync(holderJob, LocalRenderKit.Channel, ct);
        Assert.Equal(waitingJob, await renderer.Changes.ReadAsync(ct));
        var afterStart = await renderer.PollAsync(waitingJob, LocalRenderKit.Channel, ct);
        Assert.True(afterStart.State is UpstreamState.Running or UpstreamState.Succeeded, $"after its start notice: {afterStart.State}");
        Assert.Equal(waitingJob, await renderer.Changes.ReadAsync(ct));
        var afterEnd = await renderer.PollAsync(waitingJob, LocalRenderKit.Channel, ct);
        Assert.Equal(UpstreamState.Succeeded, afterEnd.State);
        Assert.True(File.Exists(afterEnd.ResultLocation));
    }

    [Fact]
    public async Task Changes_RenderFails_ReportsTheFailure()
    {
        using var renderer = LocalRenderKit.Renderer(_scratch.Path, o => o.RenderTimeout = TimeSpan.FromTicks(1));
        var request = LocalRenderKit.Request(320, 180);
        var job = LocalRenderKit.Job((await renderer.SubmitAsync(request, LocalRenderKit.Channel, TestContext.Current.CancellationToken)).UpstreamId, request);

        Assert.Equal(job, await renderer.Changes.ReadAsync(TestContext.Current.CancellationToken));
        Assert.Equal(job, await renderer.Changes.ReadAsync(TestContext.Current.CancellationToken));
        var answer = await renderer.PollAsync(job, LocalRenderKit.Channel, TestContext.Current.CancellationToken);

        Assert.Equal(UpstreamState.Failed, answer.State);
    }
}
