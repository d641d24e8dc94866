using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Providers;
using Reelay.Testing.Fakes;

namespace Reelay.Tests.Providers;

/// <summary>
/// Facts every remote adapter must hold against its fake upstream over real HTTP: the full success
/// path, and each failure classified by the stage failover reads. Subclasses add translation facts.
/// </summary>
public abstract class UpstreamProviderContract<TFake> : IAsyncLifetime
    where TFake : FakeUpstreamServer
{
    /// <summary>The channel secret; no exception message may contain it.</summary>
    protected const string ApiKey = "sk-test-9f8e7d6c5b4a-SECRET";

    private ServiceProvider? _services;

    protected TFake Fake { get; private set; } = null!;

    protected IVideoProvider Provider { get; private set; } = null!;

    protected static CancellationToken Cancel => TestContext.Current.CancellationToken;

    /// <summary>The provider name under test.</summary>
    protected abstract string ProviderName { get; }

    /// <summary>Starts the fake for this provider.</summary>
    protected abstract Task<TFake> StartFakeAsync(CancellationToken cancellationToken);

    /// <summary>A valid request for this provider.</summary>
    protected abstract VideoJobRequest NewRequest(params ReferenceImage[] images);

    protected ChannelSettings Channel => ChannelAt(Fake.BaseUrl);

    /// <summary>The channel the facts run on, at a base URL (the fake's, or a closed port); Google Cloud adapters add their key and project.</summary>
    protected virtual ChannelSettings ChannelAt(Uri baseUrl) => new("test-channel", ProviderName, baseUrl, ApiKey);

    /// <summary>Services the adapter under test gets besides the defaults (a fake clock).</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    public async ValueTask InitializeAsync()
    {
        Fake = await StartFakeAsync(Cancel);
        var services = new ServiceCollection().AddLogging();
        ConfigureServices(services);
        _services = services.AddUpstreamProviders().BuildServiceProvider();
        Provider = _services.GetServices<IVideoProvider>().Single(p => p.Name == ProviderName);
    }

    public async ValueTask DisposeAsync()
    {
        await Fake.DisposeAsync();
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task Poll_SlowJob_ReportsProgressThenSucceeds()
    {
        Fake.Scenario = FakeScenario.Slow;
        Fake.SlowPolls = 3;
        var job = await SubmitAsync();

        var results = await PollUntilDoneAsync(job);

        Assert.Equal(4, results.Count);
        Assert.All(results.SkipLast(1), r => Assert.True(r.State is UpstreamState.Queued or UpstreamState.Running));
        var progress = results.Select(r => r.Progress).OfType<int>().ToList();
        Assert.Equal(progress.Order(), progress);
        Assert.Equal(UpstreamState.Succeeded, results[^1].State);
        Assert.False(string.IsNullOrEmpty(results[^1].ResultLocation));
        Assert.False(string.IsNullOrEmpty(results[^1].Raw));
        Assert.Equal(4, Fake.Polls);
        Assert.Equal(4, Assert.Single(Fake.Jobs).Polls);
        // The upstream's own finish time, only on the finished answer and only where the wire format has one.
        Assert.All(results.SkipLast(1), r => Assert.Null(r.FinishedAt));
        Assert.Equal(ReportedFinishedAt, results[^1].FinishedAt);
    }

    /// <summary>
    /// The finish time the fake's finished answer carries, as the adapter must read it; null where the wire
    /// format has none, and then the adapter must not invent one.
    /// </summary>
    protected virtual DateTimeOffset? ReportedFinishedAt => null;

    [Fact]
    public async Task OpenResult_Succeeded_StreamsTheMp4()
    {
        var job = await SubmitAsync();
        var done = (await PollUntilDoneAsync(job))[^1];

        await using var content = await Provider.OpenResultAsync(job, done.ResultLocation!, Channel, Cancel);
        using var copy = new MemoryStream();
        await content.Content.CopyToAsync(copy, Cancel);

        Assert.Equal(Fake.Video, copy.ToArray());
        Assert.Equal("video/mp4", content.ContentType);
    }

    [Fact]
    public async Task Submit_ContentPolicyRefusal_ThrowsRejectedContentPolicy()
    {
        // Every fake refuses in its upstream's words; ComfyUI's are a proxy's in front of it.
        Fake.Scenario = FakeScenario.RefuseAtSubmit;

        var error = await Assert.ThrowsAsync<UpstreamException>(() => Provider.SubmitAsync(NewRequest(), Channel, Cancel));

        Assert.Equal(UpstreamFailureStage.Rejected, error.Stage);
        Assert.Equal("content_policy", error.Code);
        Assert.False(error.ProvablyNotAccepted);
    }

    /// <summary>
    /// The fake ends the job as its upstream does when it goes wrong after acceptance: refused by
    /// moderation where the upstream has it (<see cref="ProviderCapabilities.ModeratesJobs"/>), else
    /// failed in its own way (ComfyUI: an execution error in a node), which is never called a refusal.
    /// </summary>
    [Fact]
    public async Task Poll_RefusedOrFailedAfterAcceptance_FailsWithContentPolicyOnlyWhereTheUpstreamModerates()
    {
        Fake.Scenario = FakeScenario.RefuseAtPoll;
        var job = await SubmitAsync();

        var result = await Provider.PollAsync(job, Channel, Cancel);

        Assert.Equal(UpstreamState.Failed, result.State);
        if (Provider.Capabilities.ModeratesJobs)
        {
            Assert.Equal("content_policy", result.Error?.Code);
        }
        else
        {
            Assert.Equal("upstream_error", result.Error?.Code);
        }
    }

    [Fact]
    public async Task Submit_Unauthorized_ThrowsUnauthorizedWithoutTheKey()
    {
        Fake.Scenario = FakeScenario.Unauthorized;

        var error = await Assert.ThrowsAsync<UpstreamException>(() => Provider.SubmitAsync(NewRequest(), Channel, Cancel));

        Assert.Equal(UpstreamFailureStage.Unauthorized, error.Stage);
        Assert.Equal("upstream_auth", error.Code);
        // The fake echoes the key it received, as real upstreams do in "incorrect API key" messages.
        Assert.DoesNotContain(ApiKey, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_RateLimited_ThrowsRateLimitedWithRetryAfterThenAccepts()
    {
        Fake.Scenario = FakeScenario.RateLimitedThenSuccess;
        Fake.RetryAfter = TimeSpan.FromSeconds(7);

        var error = await Assert.ThrowsAsync<UpstreamException>(() => Provider.SubmitAsync(NewRequest(), Channel, Cancel));
        var accepted = await Provider.SubmitAsync(NewRequest(), Channel, Cancel);

        Assert.Equal(UpstreamFailureStage.RateLimited, error.Stage);
        Assert.Equal(TimeSpan.FromSeconds(7), error.RetryAfter);
        Assert.True(error.ProvablyNotAccepted);
        Assert.False(string.IsNullOrEmpty(accepted.UpstreamId));
        Assert.Equal(2, Fake.Submissions);
    }

    [Fact]
    public async Task Submit_RateLimitedWithoutRetryAfter_ThrowsRateLimitedWithoutAWait()
    {
        Fake.Scenario = FakeScenario.RateLimitedNoRetryAfterThenSuccess;

        var error = await Assert.ThrowsAsync<UpstreamException>(() => Provider.SubmitAsync(NewRequest(), Channel, Cancel));
        var accepted = await Provider.SubmitAsync(NewRequest(), Channel, Cancel);

        Assert.Equal(UpstreamFailureStage.RateLimited, error.Stage);
        Assert.True(error.ProvablyNotAccepted);
        // No wait was given: the engine's own backoff applies, not a made-up one.
        Assert.Null(error.RetryAfter);
        Assert.False(string.IsNullOrEmpty(accepted.UpstreamId));
    }

    [Fact]
    public async Task Submit_ServerError_ThrowsServerErrorThenAccepts()
    {
        Fake.Scenario = FakeScenario.ServerErrorThenSuccess;

        var error = await Assert.ThrowsAsync<UpstreamException>(() => Provider.SubmitAsync(NewRequest(), Channel, Cancel));
        var accepted = await Provider.SubmitAsync(NewRequest(), Channel, Cancel);

        Assert.Equal(UpstreamFailureStage.ServerError, error.Stage);
        Assert.Equal("upstream_error", error.Code);
        Assert.False(string.IsNullOrEmpty(accepted.UpstreamId));
    }

    [Fact]
    public async Task Submit_MalformedSuccessBody_ThrowsUnknownAfterSend()
    {
        Fake.Scenario = FakeScenario.MalformedJson;

        var error = await Assert.ThrowsAsync<UpstreamException>(() => Provider.SubmitAsync(NewRequest(), Channel, Cancel));

        Assert.Equal(UpstreamFailureStage.UnknownAfterSend, error.Stage);
        Assert.False(error.ProvablyNotAccepted);
    }

    [Fact]
    public async Task Submit_ClosedPort_ThrowsConnectFailed()
    {
        var closed = ClosedPortUrl();

        var error = await Assert.ThrowsAsync<UpstreamException>(() => Provider.SubmitAsync(NewRequest(), ChannelAt(closed), Cancel));

        Assert.Equal(UpstreamFailureStage.ConnectFailed, error.Stage);
        Assert.True(error.ProvablyNotAccepted);
        Assert.DoesNotContain(ApiKey, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenResult_ResultMissing_ThrowsUpstreamException()
    {
        Fake.Scenario = FakeScenario.ResultNotFound;
        var job = await SubmitAsync();
        var done = (await PollUntilDoneAsync(job))[^1];

        var error = await Assert.ThrowsAsync<UpstreamException>(() => Provider.OpenResultAsync(job, done.ResultLocation!, Channel, Cancel));

        Assert.Equal("not_found", error.Code);
    }

    [Fact]
    public async Task OpenResult_HtmlInsteadOfVideo_ThrowsResultInvalid()
    {
        Fake.Scenario = FakeScenario.ResultNotVideo;
        var job = await SubmitAsync();
        var done = (await PollUntilDoneAsync(job))[^1];

        var error = await Assert.ThrowsAsync<UpstreamException>(() => Provider.OpenResultAsync(job, done.ResultLocation!, Channel, Cancel));

        Assert.Equal("upstream_result_invalid", error.Code);
    }

    [Fact]
    public async Task OpenResult_ExpiredLink_ThrowsExpiredAsFinal()
    {
        Fake.Scenario = FakeScenario.ResultExpired;
        var job = await SubmitAsync();
        var done = (await PollUntilDoneAsync(job))[^1];

        var error = await Assert.ThrowsAsync<UpstreamException>(() => Provider.OpenResultAsync(job, done.ResultLocation!, Channel, Cancel));

        // Asking the same signed link again cannot help: the finisher must not retry it ten times.
        Assert.Equal("expired", error.Code);
        Assert.Equal(UpstreamFailureStage.Rejected, error.Stage);
        Assert.DoesNotContain(ApiKey, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Poll_UnknownJob_ThrowsRejected()
    {
        var job = new UpstreamJob("does-not-exist", "task-x", "m");

        var error = await Assert.ThrowsAsync<UpstreamException>(() => Provider.PollAsync(job, Channel, Cancel));

        Assert.Equal(UpstreamFailureStage.Rejected, error.Stage);
    }

    /// <summary>Submits <see cref="NewRequest"/> and returns the job as the engine would record it.</summary>
    protected async Task<UpstreamJob> SubmitAsync(VideoJobRequest? request = null)
    {
        request ??= NewRequest();
        var submitted = await Provider.SubmitAsync(request, Channel, Cancel);
        return new UpstreamJob(submitted.UpstreamId, request.TaskId, request.Model);
    }

    /// <summary>Polls until a terminal state; the fake advances once per poll, so the bound is a count, not a time.</summary>
    protected async Task<List<PollResult>> PollUntilDoneAsync(UpstreamJob job, int maxPolls = 20)
    {
        var results = new List<PollResult>();
        for (var i = 0; i < maxPolls; i++)
        {
            var result = await Provider.PollAsync(job, Channel, Cancel);
            results.Add(result);
            if (result.State is UpstreamState.Succeeded or UpstreamState.Failed)
            {
                return results;
            }
        }

        Assert.Fail($"The job did not finish within {maxPolls} polls.");
        return results;
    }

    /// <summary>A small PNG-typed image (adapters pass bytes through; they do not decode them).</summary>
    protected static ReferenceImage Image(byte marker = 1, string? sourceUrl = null) =>
        new(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, marker }, "image/png", 1280, 720, sourceUrl);

    private static Uri ClosedPortUrl()
    {
        // Bind a free port, then release it: nothing listens there, so connecting is refused.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return new Uri($"http://127.0.0.1:{port}/");
    }
}
