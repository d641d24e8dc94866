using Microsoft.Extensions.Options;
using Reelay.Providers;
using Reelay.Tasks;

namespace Reelay.Engine;

/// <summary>
/// The loop every engine worker runs: claim as many due tasks as it has free slots, handle each
/// under a lease that is kept alive while it runs, sleep until the next due time or a nudge. On
/// shutdown it stops claiming, lets work in flight finish for a grace period, then cuts it off.
/// </summary>
public abstract partial class LeasedWorker(ClaimKind kind, ITaskStore store, TimeProvider time, IOptions<EngineOptions> options, ILogger logger)
    : BackgroundService
{
    protected EngineOptions Options { get; } = options.Value;

    protected ITaskStore Store { get; } = store;

    protected TimeProvider Time { get; } = time;

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
                var free = slots.CurrentCount + 1;
                IReadOnlyList<VideoTask> claimed;
                try
                {
                    var claim = new ClaimRequest(kind, Now, Guid.NewGuid().ToString("N"), Now + (long)Options.LeaseDuration.TotalMilliseconds, free);
                    claimed = await Store.ClaimAsync(claim, stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogClaimFailed(logger, e, kind);
                    claimed = [];
                }

                if (claimed.Count == 0)
                {
                    slots.Release();
                    await SleepAsync(stoppingToken);
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
        using var work = CancellationTokenSource.CreateLinkedTokenSource(hardStop);
        await using var keeper = new LeaseKeeper(Store, lease, Options.LeaseDuration, Time, work);
        try
        {
            await HandleAsync(task, lease, work.Token);
        }
        catch (OperationCanceledException) when (work.IsCancellationRequested)
        {
            // Cut off at shutdown (or the lease was lost): hand the task back so the next worker
            // need not wait for the lease to expire. A fenced write: a lost lease changes nothing.
            await Store.ReleaseAsync(lease, CancellationToken.None);
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
            LogClaimFailed(logger, e, kind);
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

    [LoggerMessage(Level = LogLevel.Error, Message = "The {Kind} worker could not claim work")]
    private static partial void LogClaimFailed(ILogger logger, Exception exception, ClaimKind kind);

    [LoggerMessage(Level = LogLevel.Error, Message = "The {Kind} worker failed on task {TaskId}")]
    private static partial void LogHandleFailed(ILogger logger, Exception exception, ClaimKind kind, string taskId);

    /// <summary>Extends the lease every third of its length; cancels the work if the lease is lost.</summary>
    private sealed class LeaseKeeper : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public LeaseKeeper(ITaskStore store, Lease lease, TimeSpan duration, TimeProvider time, CancellationTokenSource work) =>
            _loop = KeepAsync(store, lease, duration, time, work);

        private async Task KeepAsync(ITaskStore store, Lease lease, TimeSpan duration, TimeProvider time, CancellationTokenSource work)
        {
            try
            {
                while (true)
                {
                    await Task.Delay(duration / 3, time, _stop.Token);
                    var until = (time.GetUtcNow() + duration).ToUnixTimeMilliseconds();
                    if (!await store.ExtendLeaseAsync(lease, until, _stop.Token))
                    {
                        await work.CancelAsync();
                        return;
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
