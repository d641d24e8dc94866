using System.Globalization;
using Reelay.Api.Errors;
using Reelay.Engine;
using Reelay.Tasks;

namespace Reelay.Api;

/// <summary>How clients wait on tasks over HTTP (section <c>Waiting</c>).</summary>
public sealed class WaitingOptions
{
    /// <summary>How often an event stream with nothing to say sends a comment, so proxies and load balancers keep it open.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);
}

/// <summary>
/// What the routes that wait on a task share: reading <c>wait=N</c> and <c>Prefer: wait=N</c>, waiting
/// through <see cref="ITaskChanges"/> (never by polling the store), and the hint that tells pollers
/// when to ask again.
/// </summary>
public static class TaskWaits
{
    /// <summary>The longest wait a client may ask for, in seconds (as Replicate's <c>Prefer: wait</c>).</summary>
    public const int MaxWaitSeconds = 60;

    /// <summary>Reads <c>?wait=N</c>: whole seconds from 0 to <see cref="MaxWaitSeconds"/>; absent is 0 (answer at once).</summary>
    public static ApiError? ParseWait(string? text, out TimeSpan wait)
    {
        wait = TimeSpan.Zero;
        if (text is null)
        {
            return null;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds > MaxWaitSeconds)
        {
            return ApiError.BadRequest(
                $"'wait' must be a whole number of seconds from 0 to {MaxWaitSeconds}, got '{Shorten(text)}'.", "wait", "invalid_wait");
        }

        wait = TimeSpan.FromSeconds(seconds);
        return null;
    }

    /// <summary>
    /// Reads <c>Prefer: wait=N</c> (RFC 7240, as Replicate takes it): hold the create's answer until the task
    /// has ended or N seconds (1 to 60) have passed; a bare <c>wait</c> is 60. Other preferences are ignored,
    /// as the RFC asks; a <c>wait</c> that is not a number in range is refused, since the client meant it.
    /// </summary>
    public static ApiError? ParsePrefer(HttpRequest request, out TimeSpan? wait)
    {
        wait = null;
        foreach (var header in request.Headers["Prefer"])
        {
            foreach (var part in (header ?? "").Split([',', ';'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var (name, value) = part.IndexOf('=', StringComparison.Ordinal) is var eq and >= 0
                    ? (part[..eq].Trim(), part[(eq + 1)..].Trim().Trim('"'))
                    : (part, null);
                if (!name.Equals("wait", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                if (value is null)
                {
                    wait = TimeSpan.FromSeconds(MaxWaitSeconds);
                    continue;
                }

                if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds is < 1 or > MaxWaitSeconds)
                {
                    return ApiError.BadRequest(
                        $"The Prefer header's 'wait' must be a whole number of seconds from 1 to {MaxWaitSeconds} (Prefer: wait=30), got '{Shorten(value)}'.",
                        "Prefer", "invalid_wait");
                }

                wait = TimeSpan.FromSeconds(seconds);
            }
        }

        return null;
    }

    /// <summary>
    /// Reads the owner's task and, while <paramref name="settled"/> says the wait is not over, waits for the
    /// next change published for it, at most <paramref name="wait"/> in all; returns the task as last read
    /// (null when there is none). The watch is taken before the first read, so a change committed between
    /// any read and the wait after it still wakes this one.
    /// </summary>
    /// <param name="settled">Given the first and the latest read: true when the answer is ready.</param>
    public static async Task<VideoTask?> ReadWhenAsync(
        ITaskStore store, ITaskChanges changes, TimeProvider time, string id, string ownerKeyId, TimeSpan wait,
        Func<VideoTask, VideoTask, bool> settled, CancellationToken cancellationToken)
    {
        using var watch = changes.Watch(id);
        var started = time.GetTimestamp();
        var next = watch.NextChange();
        var first = await store.GetAsync(id, ownerKeyId, cancellationToken);
        var task = first;
        while (task is not null && !task.Stage.IsTerminal() && !settled(first!, task))
        {
            var remaining = wait - time.GetElapsedTime(started);
            if (!await next.ArrivesWithinAsync(remaining, time, cancellationToken))
            {
                // The wait is over: the state as it is now, in case a change came from where no notice reaches.
                cancellationToken.ThrowIfCancellationRequested();
                return await store.GetAsync(id, ownerKeyId, cancellationToken) ?? task;
            }

            next = watch.NextChange();
            task = await store.GetAsync(id, ownerKeyId, cancellationToken) ?? task;
        }

        return task;
    }

    /// <summary>A change a long-poll answers for: the status a client sees, or the progress.</summary>
    public static bool StatusOrProgressChanged(VideoTask first, VideoTask latest) =>
        first.Status != latest.Status || first.Progress != latest.Progress;

    /// <summary>
    /// When a poller should ask about an unfinished task again: the time the engine predicts it has left
    /// (<see cref="PollSchedule.Remaining"/>: how long it has run against how far it got, the estimate the
    /// poller schedules its own polls by), kept between one second and half a minute so that progress
    /// still shows. Without progress yet, two seconds. Null for a finished task: it will not change.
    /// </summary>
    public static TimeSpan? PollHint(VideoTask task, long now)
    {
        if (task.Stage.IsTerminal())
        {
            return null;
        }

        var predicted = task.Status == VideoStatus.Processing
            ? PollSchedule.Remaining(task.Progress, TimeSpan.FromMilliseconds(Math.Max(0, now - task.UpdatedAt)))
            : null;
        var hint = predicted ?? DefaultPollHint;
        return hint < MinPollHint ? MinPollHint : hint > MaxPollHint ? MaxPollHint : hint;
    }

    /// <summary>The hint before the engine has an estimate (no progress reported yet).</summary>
    public static readonly TimeSpan DefaultPollHint = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan MinPollHint = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxPollHint = TimeSpan.FromSeconds(30);

    /// <summary>Answers <c>Preference-Applied</c> (RFC 7240), so a client can tell its wait was honoured.</summary>
    public static void MarkPreferenceApplied(HttpResponse response, TimeSpan wait) =>
        response.Headers["Preference-Applied"] = "wait=" + ((int)wait.TotalSeconds).ToString(CultureInfo.InvariantCulture);

    internal static string Shorten(string value) => value.Length <= 80 ? value : value[..80] + "…";
}
