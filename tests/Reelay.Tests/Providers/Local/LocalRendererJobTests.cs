using Microsoft.Extensions.Time.Testing;
using Reelay.Providers;
using Reelay.Providers.Local;

namespace Reelay.Tests.Providers.Local;

public sealed class LocalRendererJobTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task Submit_SameTaskIdTwice_ReturnsSameIdAndStartsOneRender()
    {
        using var renderer = LocalRenderKit.Renderer(_scratch.Path);
        var request = LocalRenderKit.Request(320, 180);

        var first = await renderer.SubmitAsync(request, LocalRenderKit.Channel, TestContext.Current.CancellationToken);
        var second = await renderer.SubmitAsync(request, LocalRenderKit.Channel, TestContext.Current.CancellationToken);
        await LocalRenderKit.PollUntilDoneAsync(renderer, LocalRenderKit.Job(first.UpstreamId, request));
        var third = await renderer.SubmitAsync(request, LocalRenderKit.Channel, TestContext.Current.CancellationToken);

        Assert.Equal(first.UpstreamId, second.UpstreamId);
        Assert.Equal(first.UpstreamId, third.UpstreamId);
        Assert.Equal(1, renderer.RendersStarted);
    }

    [Fact]
    public void JobIdFor_TaskId_IsDirectorySafeAndDeterministic()
    {
        var id = LocalRenderer.JobIdFor("task_../../etc/passwd");

        Assert.Matches("^local-[0-9a-f]{32}$", id);
        Assert.Equal(id, LocalRenderer.JobIdFor("task_../../etc/passwd"));
        Assert.NotEqual(id, LocalRenderer.JobIdFor("task_other"));
    }

    [Fact]
    public async Task Poll_WhileRendering_ReportsRisingProgressThenSucceeded()
    {
        using var renderer = LocalRenderKit.Renderer(_scratch.Path);
        var request = LocalRenderKit.Request(1280, 720, seconds: 3);
        var submitted = await renderer.SubmitAsync(request, LocalRenderKit.Channel, TestContext.Current.CancellationToken);

        var answers = await LocalRenderKit.PollUntilDoneAsync(renderer, LocalRenderKit.Job(submitted.UpstreamId, request));

        var running = answers.Where(a => a.State == UpstreamState.Running).Select(a => a.Progress!.Value).ToList();
        Assert.NotEmpty(running);
        Assert.All(running, p => Assert.InRange(p, 0, 99));
        Assert.Equal(running.Order(), running);
        var done = answers[^1];
        Assert.Equal(UpstreamState.Succeeded, done.State);
        Assert.Equal(100, done.Progress);
        Assert.True(Path.IsPathFullyQualified(done.ResultLocation!));
        Assert.StartsWith(_scratch.Path, done.ResultLocation);
        Assert.True(File.Exists(done.ResultLocation));
    }

    [Fact]
    public async Task Poll_AfterRestart_RendersAgainFromInputsOnDisk()
    {
        var request = LocalRenderKit.Request(640, 360, seconds: 2);
        string jobId;
        using (var before = LocalRenderKit.Renderer(_scratch.Path))
        {
            jobId = (await before.SubmitAsync(request, LocalRenderKit.Channel, TestContext.Current.CancellationToken)).UpstreamId;
        }
        // The process "died" before finishing: whatever it got to write beyond its inputs is gone.
        File.Delete(Path.Combine(_scratch.Path, jobId, "output.mp4"));
        File.Delete(Path.Combine(_scratch.Path, jobId, "error.txt"));
        using var after = LocalRenderKit.Renderer(_scratch.Path);

        var first = await after.PollAsync(LocalRenderKit.Job(jobId, request), LocalRenderKit.Channel, TestContext.Current.CancellationToken);
        var answers = await LocalRenderKit.PollUntilDoneAsync(after, LocalRenderKit.Job(jobId, request));

        Assert.True(first.State is UpstreamState.Queued or UpstreamState.Running, $"first answer after the restart: {first.State}");
        Assert.Equal(UpstreamState.Succeeded, answers[^1].State);
        Assert.Equal(1, after.RendersStarted);
    }

    [Fact]
    public async Task Poll_AfterRestartOfFinishedJob_SucceedsWithoutRendering()
    {
        var request = LocalRenderKit.Request(320, 180);
        string output;
        using (var before = LocalRenderKit.Renderer(_scratch.Path))
        {
            output = await LocalRenderKit.RenderAsync(before, request);
        }
        using var after = LocalRenderKit.Renderer(_scratch.Path);

        var answer = await after.PollAsync(LocalRenderKit.Job(LocalRenderer.JobIdFor(request.TaskId), request), LocalRenderKit.Channel, TestContext.Current.CancellationToken);

        Assert.Equal(UpstreamState.Succeeded, answer.State);
        Assert.Equal(output, answer.ResultLocation);
        Assert.Equal(0, after.RendersStarted);
    }

    [Fact]
    public async Task Submit_AfterRetention_SweepsOldFinishedJobs()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var renderer = LocalRenderKit.Renderer(_scratch.Path, time: time);
        var old = LocalRenderKit.Request(320, 180);
        await LocalRenderKit.RenderAsync(renderer, old);
        var oldDirectory = Path.Combine(_scratch.Path, LocalRenderer.JobIdFor(old.TaskId));

        time.Advance(TimeSpan.FromHours(25));
        var fresh = LocalRenderKit.Request(320, 180);
        await LocalRenderKit.RenderAsync(renderer, fresh);

        Assert.False(Directory.Exists(oldDirectory));
        Assert.True(Directory.Exists(Path.Combine(_scratch.Path, LocalRenderer.JobIdFor(fresh.TaskId))));
    }

    [Fact]
    public async Task Cancel_RunningJob_RemovesItsDirectory()
    {
        using var renderer = LocalRenderKit.Renderer(_scratch.Path);
        var request = LocalRenderKit.Request(1280, 720, seconds: 30);
        var submitted = await renderer.SubmitAsync(request, LocalRenderKit.Channel, TestContext.Current.CancellationToken);
        var job = LocalRenderKit.Job(submitted.UpstreamId, request);

        await renderer.CancelAsync(job, LocalRenderKit.Channel, TestContext.Current.CancellationToken);

        Assert.False(Directory.Exists(Path.Combine(_scratch.Path, submitted.UpstreamId)));
        var answer = await renderer.PollAsync(job, LocalRenderKit.Channel, TestContext.Current.CancellationToken);
        Assert.Equal(UpstreamState.Failed, answer.State);
        Assert.Equal("upstream_lost", answer.Error!.Code);
    }

    [Theory]
    [InlineData("local-0123456789abcdef0123456789abcdef")]
    [InlineData("../../etc")]
    [InlineData("")]
    public async Task Poll_UnknownId_FailsWithUpstreamLost(string upstreamId)
    {
        using var renderer = LocalRenderKit.Renderer(_scratch.Path);

        var answer = await renderer.PollAsync(LocalRenderKit.Job(upstreamId), LocalRenderKit.Channel, TestContext.Current.CancellationToken);

        Assert.Equal(UpstreamState.Failed, answer.State);
        Assert.Equal("upstream_lost", answer.Error!.Code);
    }

    [Fact]
    public async Task Poll_RenderOverTimeout_FailsWithTimedOut()
    {
        using var renderer = LocalRenderKit.Renderer(_scratch.Path, o => o.RenderTimeout = TimeSpan.FromTicks(1));
        var request = LocalRenderKit.Request(320, 180);
        var submitted = await renderer.SubmitAsync(request, LocalRenderKit.Channel, TestContext.Current.CancellationToken);

        var answers = await LocalRenderKit.PollUntilDoneAsync(renderer, LocalRenderKit.Job(submitted.UpstreamId, request));

        Assert.Equal(UpstreamState.Failed, answers[^1].State);
        Assert.Equal("render_failed", answers[^1].Error!.Code);
        Assert.Contains("render timed out", answers[^1].Error!.Message);
    }

    [Fact]
    public async Task Submit_OddWidth_IsRejected()
    {
        using var renderer = LocalRenderKit.Renderer(_scratch.Path);

        var ex = await Assert.ThrowsAsync<UpstreamException>(() =>
            renderer.SubmitAsync(LocalRenderKit.Request(641, 360), LocalRenderKit.Channel, TestContext.Current.CancellationToken));

        Assert.Equal(UpstreamFailureStage.Rejected, ex.Stage);
        Assert.Equal("invalid_argument", ex.Code);
        Assert.Contains("641x360", ex.Message);
    }

    [Fact]
    public async Task OpenResult_FinishedJob_StreamsTheMp4()
    {
        using var renderer = LocalRenderKit.Renderer(_scratch.Path);
        var request = LocalRenderKit.Request(320, 180);
        var output = await LocalRenderKit.RenderAsync(renderer, request);

        await using var result = await renderer.OpenResultAsync(
            LocalRenderKit.Job(LocalRenderer.JobIdFor(request.TaskId), request), output, LocalRenderKit.Channel, TestContext.Current.CancellationToken);

        Assert.Equal("video/mp4", result.ContentType);
        Assert.Equal(new FileInfo(output).Length, result.Length);
        using var copy = new MemoryStream();
        await result.Content.CopyToAsync(copy, TestContext.Current.CancellationToken);
        Assert.Equal(result.Length, copy.Length);
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("../outside.mp4")]
    public async Task OpenResult_PathOutsideWorkDirectory_IsRefused(string location)
    {
        using var renderer = LocalRenderKit.Renderer(_scratch.File("work"));
        var resolved = location.StartsWith('/') ? location : Path.Combine(_scratch.File("work"), location);

        var ex = await Assert.ThrowsAsync<UpstreamException>(() =>
            renderer.OpenResultAsync(LocalRenderKit.Job("local-x"), resolved, LocalRenderKit.Channel, TestContext.Current.CancellationToken));

        Assert.Equal("invalid_argument", ex.Code);
    }
}
