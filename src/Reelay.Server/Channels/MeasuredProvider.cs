using System.Diagnostics;
using System.Threading.Channels;
using Reelay.Providers;
using Reelay.Telemetry;

namespace Reelay.Channels;

/// <summary>
/// A provider with every upstream call timed and traced: a histogram by provider, channel, operation and
/// outcome (the error code of an <see cref="UpstreamException"/>, so outcomes stay within the one
/// catalogue), and a span per call tagged with the task id. Everything else passes straight through,
/// so the engine sees the same contract.
/// </summary>
/// <param name="latencyOf">Where a channel keeps its recent call times for the operator views (<see cref="UpstreamLatency"/>).</param>
internal sealed class MeasuredProvider(IVideoProvider inner, ReelayTelemetry telemetry, Func<string, UpstreamLatency?> latencyOf) : IVideoProvider
{
    public string Name => inner.Name;

    public ProviderCapabilities Capabilities => inner.Capabilities;

    public ChannelReader<UpstreamJob> Changes => inner.Changes;

    public Task<SubmitResult> SubmitAsync(VideoJobRequest request, ChannelSettings channel, CancellationToken cancellationToken) =>
        MeasureAsync("submit", channel, request.TaskId, () => inner.SubmitAsync(request, channel, cancellationToken));

    public Task<PollResult> PollAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken) =>
        MeasureAsync("poll", channel, job.TaskId, () => inner.PollAsync(job, channel, cancellationToken));

    // Times the opening (status line and headers); the body streams to the blob store afterwards.
    public Task<ResultContent> OpenResultAsync(UpstreamJob job, string resultLocation, ChannelSettings channel, CancellationToken cancellationToken) =>
        MeasureAsync("download", channel, job.TaskId, () => inner.OpenResultAsync(job, resultLocation, channel, cancellationToken));

    public Task CancelAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken) =>
        MeasureAsync("cancel", channel, job.TaskId, async () =>
        {
            await inner.CancelAsync(job, channel, cancellationToken);
            return true;
        });

    public Task ReleaseResultAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken) =>
        inner.ReleaseResultAsync(job, channel, cancellationToken);

    public RenderProblem? CheckRender(RenderSpec spec) => inner.CheckRender(spec);

    public ValueTask<CallbackVerdict> ReadCallbackAsync(UpstreamCallback callback, ChannelSettings channel, CancellationToken cancellationToken) =>
        inner.ReadCallbackAsync(callback, channel, cancellationToken);

    private async Task<T> MeasureAsync<T>(string operation, ChannelSettings channel, string taskId, Func<Task<T>> call)
    {
        using var activity = ReelayTelemetry.Activities.StartActivity($"upstream {operation}", ActivityKind.Client);
        activity?.SetTag("reelay.task.id", taskId);
        activity?.SetTag("reelay.provider", inner.Name);
        activity?.SetTag("reelay.channel", channel.Name);
        var started = Stopwatch.GetTimestamp();
        var outcome = "ok";
        try
        {
            return await call();
        }
        catch (UpstreamException e)
        {
            outcome = e.Code;
            throw;
        }
        catch (OperationCanceledException)
        {
            outcome = "cancelled";
            throw;
        }
        catch
        {
            outcome = "error";
            throw;
        }
        finally
        {
            var elapsed = Stopwatch.GetElapsedTime(started);
            telemetry.RecordUpstreamCall(inner.Name, channel.Name, operation, outcome, elapsed);
            latencyOf(channel.Name)?.Record(operation, elapsed);
            if (outcome != "ok")
            {
                activity?.SetStatus(ActivityStatusCode.Error, outcome);
            }
        }
    }
}
