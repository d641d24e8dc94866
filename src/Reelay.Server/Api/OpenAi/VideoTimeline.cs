using Reelay.Tasks;

namespace Reelay.Api.OpenAi;

/// <summary>
/// One change in a video's life as its owner sees it: created, each submission upstream (and each one
/// refused, with the code that moved it on), progress so far, the end. Channel names stay the
/// operator's: the owner learns that a submission was refused and retried, not where.
/// </summary>
/// <param name="Status">The video's status from this change on, as the video object says it (queued, in_progress, completed, failed).</param>
/// <param name="Event">created, redirected, submitted, refused, progress, completed, failed or cancelled.</param>
/// <param name="At">Unix seconds.</param>
/// <param name="Detail">The error code of a refusal or failure, the progress, or the replacement model; null when there is nothing more to say.</param>
public sealed record VideoTimelineEntry(string Status, string Event, long At, string? Detail);

public sealed record VideoTimeline(string Object, string Id, IReadOnlyList<VideoTimelineEntry> Data)
{
    /// <summary>The timeline of a task read with its route (<see cref="ITaskMonitor.GetAsync"/>).</summary>
    public static VideoTimeline Of(VideoTask task)
    {
        var entries = new List<VideoTimelineEntry> { new("queued", "created", task.CreatedAt / 1000, null) };
        for (var i = 0; i < task.Route.Count; i++)
        {
            var step = task.Route[i];
            entries.Add(step.Outcome switch
            {
                RouteStep.Redirected => new VideoTimelineEntry("queued", "redirected", step.At / 1000, step.UpstreamModel),
                // The last step still "submitted" while the task is submitting: the call is in flight.
                RouteStep.Submitted when i == task.Route.Count - 1 && task.Stage is TaskStage.Submitting or TaskStage.Pending =>
                    new VideoTimelineEntry("queued", "submitted", step.At / 1000, null),
                RouteStep.Submitted => new VideoTimelineEntry("in_progress", "submitted", step.At / 1000, null),
                _ => new VideoTimelineEntry("queued", "refused", step.At / 1000, step.Outcome),
            });
        }

        if (task.Stage is TaskStage.Running or TaskStage.Finishing && task.Progress > 0)
        {
            entries.Add(new VideoTimelineEntry("in_progress", "progress", task.UpdatedAt / 1000, $"{task.Progress}%"));
        }

        if (task.Stage.IsTerminal())
        {
            var status = OpenAiVideoMapping.StatusOf(task.Stage);
            var ended = task.Stage == TaskStage.Cancelled ? "cancelled" : status;
            entries.Add(new VideoTimelineEntry(status, ended, (task.CompletedAt ?? task.UpdatedAt) / 1000, task.Error?.Code));
        }

        return new VideoTimeline("video.timeline", task.Id, entries);
    }
}
