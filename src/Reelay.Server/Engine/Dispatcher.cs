using Microsoft.Extensions.Options;
using Reelay.Catalog;
using Reelay.Channels;
using Reelay.Images;
using Reelay.Providers;
using Reelay.Storage;
using Reelay.Tasks;
using Reelay.Telemetry;

namespace Reelay.Engine;

/// <summary>
/// Takes pending tasks upstream: fetches and checks the reference images, picks a channel,
/// records the attempt, submits, records the upstream id. Fails over to the next channel only
/// when the upstream provably did not take the job.
/// </summary>
public sealed partial class Dispatcher(
    ITaskStore store,
    ModelCatalog catalog,
    ChannelRouter router,
    ImageFetcher images,
    RequestImages requestImages,
    TaskSignals signals,
    UpstreamCallbacks callbacks,
    TaskCanceller canceller,
    TimeProvider time,
    IOptions<EngineOptions> options,
    ReelayTelemetry telemetry,
    ILogger<Dispatcher> logger)
    : LeasedWorker(ClaimKind.Dispatch, store, time, options, telemetry, logger)
{
    protected override int Concurrency => Options.DispatchConcurrency;

    protected override System.Threading.Channels.ChannelReader<bool> Wakeups => signals.DispatchReader;

    protected override async Task HandleAsync(VideoTask task, Lease lease, CancellationToken cancellationToken)
    {
        if (task.Stage == TaskStage.Submitting)
        {
            await RecoverInterruptedSubmitAsync(task, lease, cancellationToken);
            return;
        }

        var model = catalog.Find(task.Model);
        if (model is null)
        {
            await FailAsync(task, lease, new TaskError(TaskErrors.ModelNotFound, $"Model '{task.Model}' is no longer in the catalog."), cancellationToken);
            return;
        }

        IReadOnlyList<ReferenceImage> referenceImages;
        try
        {
            referenceImages = await images.FetchAllAsync(task.Images, requestImages.ReadAsync, cancellationToken);
        }
        catch (ImageFetchException e)
        {
            await FailAsync(task, lease, new TaskError(e.Code, e.Message), cancellationToken);
            return;
        }

        var (width, height) = referenceImages.Count > 0
            ? Shapes.ForImage(task.Size, referenceImages[0].Width, referenceImages[0].Height)
            : Shapes.For(task.Size, task.AspectRatio);
        string? remixOf = null;
        IReadOnlyList<RouteCandidate> candidates;
        if (task.RemixedFrom is not null)
        {
            // A remix runs where its source was made: only that account holds the source video.
            // The intake checked that the source is the same key's completed video.
            var source = await Store.GetAsync(task.RemixedFrom, task.OwnerKeyId, cancellationToken);
            var sourceRoute = source?.Channel is null || source.UpstreamModel is null ? null : router.Find(source.Channel, source.UpstreamModel);
            if (source?.UpstreamId is null || sourceRoute is null || !sourceRoute.Provider.Capabilities.SupportsRemix)
            {
                await FailAsync(task, lease, new TaskError(TaskErrors.RemixNotSupported, $"Video '{task.RemixedFrom}' can no longer be remixed: its upstream channel is gone or cannot remix."), cancellationToken);
                return;
            }

            remixOf = source.UpstreamId;
            candidates = [sourceRoute];
        }
        else
        {
            // Channels may have changed since the intake checked that one renders this request.
            var choice = router.Route(model, task.Mode, new RenderSpec(model.Name, task.AspectRatio, task.Size, width, height, task.Duration) { Options = task.Options });
            if (choice.Candidates.Count == 0 && choice.Refused.Count > 0)
            {
                await FailAsync(task, lease, new TaskError(TaskErrors.InvalidArgument,
                    $"No upstream configured for {model.Name} renders this request any more: {ChannelRouter.DescribeRefusals(choice.Refused)}."), cancellationToken);
                return;
            }

            candidates = choice.Candidates;
        }

        if (candidates.Count == 0)
        {
            await FailAsync(task, lease, new TaskError(TaskErrors.ModelNotConfigured, ChannelRouter.MissingSetting(model)), cancellationToken);
            return;
        }

        var route = task.Route.ToList();
        // The route says when a retired model runs as its replacement (the intake chose it; the request named the old one).
        if (route.Count == 0 && catalog.Find(task.RequestedModel) is { Retirement.Redirect: true } retired && retired.Name != model.Name)
        {
            route.Add(RouteStep.Redirect(retired.Name, model.Name, Now));
        }

        UpstreamException? lastRefusal = null;
        var allRetired = true;
        TimeSpan? wait = null;
        var attempted = 0;
        foreach (var candidate in candidates)
        {
            // A channel whose breaker is open, or whose submit budget is spent this minute, is
            // passed over without a call: the next one may take the task, or it waits its turn.
            if (candidate.State.Breaker == BreakerState.Open)
            {
                wait = Shorter(wait, Options.RetryDelay);
                continue;
            }

            if (!ChannelState.TryTake(candidate.State.SubmitBudget, out var budgetWait))
            {
                wait = Shorter(wait, budgetWait);
                continue;
            }

            if (!candidate.State.TryEnter())
            {
                wait = Shorter(wait, Options.RetryDelay);
                continue;
            }

            attempted++;
            var request = ToJobRequest(task, candidate.UpstreamModel, width, height, referenceImages) with
            {
                RemixOf = remixOf,
                CallbackUrl = candidate.UsesCallbacks ? callbacks.UrlFor(candidate, task.Id) : null,
            };
            route.Add(new RouteStep(candidate.Channel.Name, candidate.Provider.Name, candidate.UpstreamModel, RouteStep.Submitted, Now));

            // Checkpoint: the attempt is on disk before the upstream hears of it. If this process
            // dies during the call, recovery sees "submitting" and does not pay for a second job.
            var attempt = new SubmitAttempt(candidate.Channel.Name, candidate.Provider.Name, candidate.UpstreamModel, width, height, route);
            if (!await Store.RecordAttemptAsync(lease, attempt, cancellationToken))
            {
                return;
            }

            // Counted in flight from now: a dispatch running beside this one already sees the channel busier.
            candidate.State.RunningUntil(task.Id, Now + (long)candidate.PollInterval.TotalMilliseconds);
            try
            {
                var submitted = await candidate.Provider.SubmitAsync(request, candidate.Channel.Settings, cancellationToken);
                candidate.State.RecordSuccess();
                await MarkRunningAsync(task, lease, candidate, submitted.UpstreamId, cancellationToken);
                return;
            }
            catch (UpstreamException e) when (e.ProvablyNotAccepted)
            {
                LogRefused(logger, task.Id, candidate.Channel.Name, e.Stage, e.Code);
                candidate.State.Ended(task.Id);

                // A model the upstream retired says nothing about the channel's health.
                if (e.Stage == UpstreamFailureStage.ModelRetired)
                {
                    candidate.State.RecordSuccess();
                }
                else
                {
                    allRetired = false;
                    candidate.State.RecordFailure();
                }

                route[^1] = route[^1] with { Outcome = e.Code };
                lastRefusal = e;
                if (e.RetryAfter is { } retryAfter)
                {
                    wait = Shorter(wait, retryAfter);
                }
            }
            catch (UpstreamException e)
            {
                allRetired = false;

                // Rejected (final: another account would refuse it too) or unknown after sending
                // (the job may exist: resubmitting could pay twice).
                candidate.State.Ended(task.Id);
                if (e.Stage == UpstreamFailureStage.Rejected)
                {
                    candidate.State.RecordSuccess();
                }
                else
                {
                    candidate.State.RecordFailure();
                }

                var message = e.Stage == UpstreamFailureStage.UnknownAfterSend
                    ? $"The upstream did not answer the submission clearly ({e.Message}); it was not resubmitted, to avoid paying for the video twice."
                    : e.Message;
                await FailAsync(task, lease, new TaskError(e.Code, message), cancellationToken);
                return;
            }
        }

        // Nothing accepted it. Rounds in which every channel refused count towards failing the
        // task; rounds in which channels were only busy (breaker open, budget spent) do not.
        // Every channel said the model is gone: asking again later cannot help.
        if (attempted == candidates.Count && allRetired && lastRefusal is not null)
        {
            await FailAsync(task, lease, new TaskError(TaskErrors.ModelRetired,
                $"Every upstream configured for {model.Name} has retired the model it was asked for ({lastRefusal.Message}); configure a channel that serves its replacement."), cancellationToken);
            return;
        }

        var rounds = route.Count(step => step.Outcome is not (RouteStep.Submitted or RouteStep.Redirected)) / candidates.Count;
        if (attempted == 0 || rounds < Options.MaxDispatchRounds)
        {
            var delay = attempted == 0 ? wait ?? Options.RetryDelay : Shorter(wait, Options.RetryDelay * Math.Pow(2, Math.Max(0, rounds - 1)))!.Value;
            await Store.RetryLaterAsync(lease, Now + (long)delay.TotalMilliseconds, route, cancellationToken);
            return;
        }

        await FailAsync(task, lease, new TaskError(lastRefusal!.Code, $"Every upstream refused the task ({lastRefusal.Message})."), cancellationToken);
    }

    private static TimeSpan? Shorter(TimeSpan? current, TimeSpan candidate) =>
        current is { } c && c < candidate ? c : candidate;

    /// <summary>
    /// A worker died between recording the attempt and recording the upstream id. Resubmit only if
    /// the provider finds the earlier job by our task id; otherwise fail rather than pay twice.
    /// </summary>
    private async Task RecoverInterruptedSubmitAsync(VideoTask task, Lease lease, CancellationToken cancellationToken)
    {
        var candidate = task.Channel is null || task.UpstreamModel is null ? null : router.Find(task.Channel, task.UpstreamModel);
        if (candidate is null || !candidate.Provider.Capabilities.IdempotentSubmit)
        {
            await FailAsync(task, lease, new TaskError(TaskErrors.SubmitInterrupted,
                "Reelay stopped while submitting this task upstream, so whether the upstream took it is unknown; it was not resubmitted, to avoid paying twice. Credits held for it are released."),
                cancellationToken);
            return;
        }

        try
        {
            var referenceImages = await images.FetchAllAsync(task.Images, requestImages.ReadAsync, cancellationToken);
            var request = ToJobRequest(task, candidate.UpstreamModel, task.Width ?? 0, task.Height ?? 0, referenceImages) with
            {
                CallbackUrl = candidate.UsesCallbacks ? callbacks.UrlFor(candidate, task.Id) : null,
            };
            var submitted = await candidate.Provider.SubmitAsync(request, candidate.Channel.Settings, cancellationToken);
            await MarkRunningAsync(task, lease, candidate, submitted.UpstreamId, cancellationToken);
        }
        catch (ImageFetchException e)
        {
            await FailAsync(task, lease, new TaskError(e.Code, e.Message), cancellationToken);
        }
        catch (UpstreamException e)
        {
            await FailAsync(task, lease, new TaskError(e.Code, e.Message), cancellationToken);
        }
    }

    /// <summary>
    /// Checkpoint: the upstream took the job. Losing its id would fail the task as
    /// <c>submit_interrupted</c>, so a store that cannot write is waited out while the lease lasts;
    /// a lost lease cancels the work and the fenced write changes nothing.
    /// </summary>
    private async Task MarkRunningAsync(VideoTask task, Lease lease, RouteCandidate candidate, string upstreamId, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                if (await Store.MarkRunningAsync(lease, upstreamId, Now + (long)candidate.PollInterval.TotalMilliseconds, Now, cancellationToken))
                {
                    signals.TaskSubmitted();

                    // The upstream has the images now; a resubmission never happens after this point.
                    await requestImages.DeleteAsync(task.Images, CancellationToken.None);
                }
                else if (await Store.GetAsync(task.Id, task.OwnerKeyId, cancellationToken) is { Stage: TaskStage.Cancelled })
                {
                    // Cancelled while the submission was in flight: the upstream took a job nobody wants now.
                    canceller.StopUpstream(task with { UpstreamId = upstreamId, Channel = candidate.Channel.Name, UpstreamModel = candidate.UpstreamModel });
                }

                return;
            }
            catch (StoreUnavailableException e)
            {
                await Task.Delay(e.RetryAfter, Time, cancellationToken);
            }
        }
    }

    /// <summary>Fails the task; its stored request images go with it.</summary>
    private async Task FailAsync(VideoTask task, Lease lease, TaskError error, CancellationToken cancellationToken)
    {
        if (await Store.FailAsync(lease, error, Now, cancellationToken))
        {
            await requestImages.DeleteAsync(task.Images, CancellationToken.None);
        }
    }

    private static VideoJobRequest ToJobRequest(VideoTask task, string upstreamModel, int width, int height, IReadOnlyList<ReferenceImage> images) => new()
    {
        TaskId = task.Id,
        Model = upstreamModel,
        Prompt = task.Prompt,
        NegativePrompt = task.NegativePrompt,
        AspectRatio = task.AspectRatio,
        Size = task.Size,
        Width = width,
        Height = height,
        DurationSeconds = task.Duration,
        Seed = task.Seed,
        Images = images,
        Options = task.Options,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId}: channel {Channel} refused the submission ({Stage}, {Code}); trying the next")]
    private static partial void LogRefused(ILogger logger, string taskId, string channel, UpstreamFailureStage stage, string code);
}
