using System.Diagnostics;
using Microsoft.Extensions.Options;
using Reelay.Providers;
using Reelay.Storage;
using Reelay.Tasks;
using Reelay.Telemetry;

namespace Reelay.Engine;

/// <summary>
/// The loop every engine worker runs: claim as many due tasks as it has free slots, handle each
/// under a lease that is kept alive while it runs, sleep until the next due time or a nudge. On
/// shutdown it stops claiming, lets work in flight finish for a grace period, then cuts it off.
/// A store that cannot write never stops the loop and never fails a task: the first failure of an
/// episode is logged, claims back off (doubling, up to 30 s), and the task is redone from its last
/// recorded stage, as after a crash.
/// </summary>
public abstract partial class LeasedWorker(ClaimKind kind, ITaskStore store, TimeProvider time, IOptions<EngineOptions> options, ReelayTelemetry telemetry, ILogger logger)
    : BackgroundService
{
    private readonly StoreOutage _outage = new();

    /// <summary>
    /// Leases this worker meant to hand back while the store could not write: handed back as soon as it
    /// can, so their tasks wait for the outage, not for the leases to run out as well.
    /// </summary>
    private readonly System.Collections.Concurrent.ConcurrentQueue<Lease> _unreleased = new();

    /// <summary>The worker as metrics and spans name it (<c>dispatch</c>, <c>poll</c>, <c>finish</c>), made once rather than per task.</summary>
    private readonly string _name = kind.ToString().ToLowerInvariant();

    private readonly string _spanName = "task " + kind.ToString().ToLowerInvariant();

    protected EngineOptions Options { get; } = options.Value;

    protected ITaskStore Store { get; } = store;

    protected TimeProvider Time { get; } = time;

    protected ReelayTelemetry Telemetry { get; } = telemetry;

    protected long Now => Time.GetUtcNow().ToUnixTimeMilliseconds();

    protected abstract int Concurrency { get; }

    protected abstract System.Threading.Channels.ChannelReader<bool> Wakeups { get; }

    /// <summary>Handles one claimed task. Every store write must name <paramref name="lease"/>.</summary>
    protected abstract Task HandleAsync(VideoTask task, Lease lease, CancellationToken cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var hardStop = new CancellationTokenSource();
        using var slots = new SemaphoreSlim(Concurrency, Concurrency);
        var inFlight = new HashSet<Task>();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await slots.WaitAsync(stoppingToken);
                if (_outage.Ongoing)
                {
                    // A claim or a handler's write failed: wait before the next claim rather than spin
                    // on a store that cannot write, or redo upstream calls whose outcome it cannot record.
                    await Task.Delay(_outage.Wait, Time, stoppingToken);
                }

                await ReleaseLeftoversAsync();
                var free = slots.CurrentCount + 1;
                IReadOnlyList<VideoTask> claimed;
                try
                {
                    var claim = new ClaimRequest(kind, Now, Guid.NewGuid().ToString("N"), Now + (long)Options.LeaseDuration.TotalMilliseconds, free);
                    claimed = await Store.ClaimAsync(claim, stoppingToken);
                    if (_outage.Succeeded())
                    {
                        LogStoreRecovered(logger, kind);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    StoreFailed(e);
                    claimed = [];
                }

                if (claimed.Count == 0)
                {
                    slots.Release();
                    if (!_outage.Ongoing)
                    {
                        await SleepAsync(stoppingToken);
                    }

                    continue;
                }

                for (var i = 1; i < claimed.Count; i++)
                {
                    await slots.WaitAsync(stoppingToken);
                }

                foreach (var task in claimed)
                {
                    var run = RunOneAsync(task, new Lease(task.Id, task.LeaseToken!), hardStop.Token)
                        .ContinueWith(_ => slots.Release(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                    lock (inFlight)
                    {
                        inFlight.Add(run);
                    }

                    _ = run.ContinueWith(done => { lock (inFlight) { inFlight.Remove(done); } }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            Task[] pending;
            lock (inFlight)
            {
                pending = [.. inFlight];
            }

            // Graceful: work in flight (an upstream submission above all) gets time to finish and record
            // its outcome, rather than leaving a task whose submission nobody can vouch for.
            var all = Task.WhenAll(pending);
            if (await Task.WhenAny(all, Task.Delay(Options.ShutdownGrace, Time, CancellationToken.None)) != all)
            {
                await hardStop.CancelAsync();
                await all;
            }
        }
    }

    private async Task RunOneAsync(VideoTask task, Lease lease, CancellationToken hardStop)
    {
        // One span per step, in the trace of the request that created the task: the upstream calls
        // made while handling it (and their HTTP spans) nest beneath it.
        using var span = StartSpan(task);
        using var work = CancellationTokenSource.CreateLinkedTokenSource(hardStop);
        await using var keeper = new LeaseKeeper(Store, lease, Options.LeaseDuration, Time, work, () => Telemetry.RecordLeaseLost(_name));
        try
        {
            await HandleAsync(task, lease, work.Token);
        }
        catch (OperationCanceledException) when (work.IsCancellationRequested)
        {
            // Cut off at shutdown (or the lease was lost): hand the task back so the next worker
            // need not wait for the lease to expire. A fenced write: a lost lease changes nothing.
            await ReleaseAsync(lease);
        }
        catch (StoreUnavailableException e)
        {
            // The store could not record a step. Not the task's fault, so it does not fail: it goes
            // back, and is redone from its last recorded stage — the same recovery as after a crash.
            StoreFailed(e);
            await ReleaseAsync(lease);
        }
        catch (Exception e)
        {
            LogHandleFailed(logger, e, kind, task.Id);
            try
            {
                await Store.FailAsync(lease, new TaskError(TaskErrors.InternalError, "Reelay hit an internal error while handling this task; it is logged."), Now, CancellationToken.None);
            }
            catch (Exception inner)
            {
                LogHandleFailed(logger, inner, kind, task.Id);
            }
        }
    }

    /// <summary>A span for this worker's step on the task, parented by the task's stored trace context (a root span without one); null when nobody listens.</summary>
    private Activity? StartSpan(VideoTask task)
    {
        var parent = task.TraceParent is { } traceParent && ActivityContext.TryParse(traceParent, null, out var context) ? context : default;
        var span = ReelayTelemetry.Activities.StartActivity(_spanName, ActivityKind.Internal, parent);
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag("reelay.task.id", task.Id);
            span.SetTag("reelay.task.model", task.Model);
            span.SetTag("reelay.channel", task.Channel);
        }

        return span;
    }

    /// <summary>Hands the task back; if the store cannot take even that, it is tried again before the next claim.</summary>
    private async Task ReleaseAsync(Lease lease)
    {
        try
        {
            await Store.ReleaseAsync(lease, CancellationToken.None);
        }
        catch (StoreUnavailableException)
        {
            _unreleased.Enqueue(lease);
        }
    }

    /// <summary>
    /// Hands back the leases an outage kept, oldest first, stopping at the first the store still refuses.
    /// Fenced like every write: a lease another worker has since taken over changes nothing.
    /// </summary>
    private async Task ReleaseLeftoversAsync()
    {
        while (_unreleased.TryPeek(out var lease))
        {
            try
            {
                await Store.ReleaseAsync(lease, CancellationToken.None);
            }
            catch (StoreUnavailableException)
            {
                return;
            }

            _unreleased.TryDequeue(out _);
        }
    }

    /// <summary>Counts a store failure; only the first of an episode is logged.</summary>
    private void StoreFailed(Exception exception)
    {
        if (!_outage.Failed())
        {
            return;
        }

        if (exception is StoreUnavailableException unavailable)
        {
            LogStoreUnavailable(logger, kind, unavailable.Message);
        }
        else
        {
            LogClaimFailed(logger, exception, kind);
        }
    }

    private async Task SleepAsync(CancellationToken stoppingToken)
    {
        var delay = Options.IdleDelay;
        try
        {
            if (await Store.NextDueAsync(kind, stoppingToken) is { } next)
            {
                var untilDue = TimeSpan.FromMilliseconds(Math.Max(0, next - Now));
                delay = untilDue < delay ? untilDue : delay;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            StoreFailed(e);
        }

        if (delay <= TimeSpan.Zero)
        {
            // Due work exists but is leased by someone else: do not spin.
            delay = TimeSpan.FromMilliseconds(50);
        }

        using var wake = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var timer = Task.Delay(delay, Time, wake.Token);
        var nudge = Wakeups.WaitToReadAsync(wake.Token).AsTask();
        await Task.WhenAny(timer, nudge);
        await wake.CancelAsync();
        while (Wakeups.TryRead(out _))
        {
        }

        stoppingToken.ThrowIfCancellationRequested();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The {Kind} worker could not claim work; it backs off and tries again")]
    private static partial void LogClaimFailed(ILogger logger, Exception exception, ClaimKind kind);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The {Kind} worker pauses: {Reason}. It backs off (up to 30 s) and tries again; no task fails for it")]
    private static partial void LogStoreUnavailable(ILogger logger, ClaimKind kind, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "The {Kind} worker resumes: the store is writable again")]
    private static partial void LogStoreRecovered(ILogger logger, ClaimKind kind);

    [LoggerMessage(Level = LogLevel.Error, Message = "The {Kind} worker failed on task {TaskId}")]
    private static partial void LogHandleFailed(ILogger logger, Exception exception, ClaimKind kind, string taskId);

    /// <summary>Extends the lease every third of its length; cancels the work if the lease is lost.</summary>
    private sealed class LeaseKeeper : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public LeaseKeeper(ITaskStore store, Lease lease, TimeSpan duration, TimeProvider time, CancellationTokenSource work, Action lost) =>
            _loop = KeepAsync(store, lease, duration, time, work, lost);

        private async Task KeepAsync(ITaskStore store, Lease lease, TimeSpan duration, TimeProvider time, CancellationTokenSource work, Action lost)
        {
            try
            {
                while (true)
                {
                    await Task.Delay(duration / 3, time, _stop.Token);
                    var until = (time.GetUtcNow() + duration).ToUnixTimeMilliseconds();
                    try
                    {
                        if (!await store.ExtendLeaseAsync(lease, until, _stop.Token))
                        {
                            lost();
                            await work.CancelAsync();
                            return;
                        }
                    }
                    catch (StoreUnavailableException)
                    {
                        // Not lost, only not extended: the next try may still find the lease ours.
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            _stop.Dispose();
        }
    }
}
