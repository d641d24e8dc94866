using System.Buffers.Text;
using System.Text;
using Microsoft.Extensions.Options;
using Reelay.Billing;
using Reelay.Blobs;
using Reelay.Channels;
using Reelay.Hosting;
using Reelay.Providers;
using Reelay.Providers.Media;
using Reelay.Tasks;
using Reelay.Telemetry;

namespace Reelay.Engine;

/// <summary>
/// Brings finished videos home: streams the result into Reelay's storage at once (upstream links
/// expire), size-capped; checks with ffprobe that it really is a video and reads its size; makes a
/// thumbnail; marks the task completed and, in the same write, settles its hold on the seconds of
/// video actually stored.
/// </summary>
public sealed partial class Finisher(
    ITaskStore store,
    ChannelRouter router,
    PriceList prices,
    IBlobStore blobs,
    MediaToolkit media,
    DataDirectory data,
    TaskSignals signals,
    TimeProvider time,
    IOptions<EngineOptions> options,
    ReelayTelemetry telemetry,
    IOptions<LimitsOptions> limits,
    ILogger<Finisher> logger)
    : LeasedWorker(ClaimKind.Finish, store, time, options, telemetry, logger)
{
    protected override int Concurrency => Options.FinishConcurrency;

    protected override System.Threading.Channels.ChannelReader<bool> Wakeups => signals.FinishReader;

    protected override async Task HandleAsync(VideoTask task, Lease lease, CancellationToken cancellationToken)
    {
        var candidate = router.Find(task.Channel!, task.UpstreamModel!);
        if (candidate is null)
        {
            await Store.FailAsync(lease, new TaskError(TaskErrors.ChannelRemoved, $"Channel '{task.Channel}' that ran this task is no longer configured."), Now, cancellationToken);
            return;
        }

        var scratch = Path.Combine(data.Work, ScratchFolder, ScratchName(lease));
        Directory.CreateDirectory(scratch);
        try
        {
            var videoPath = Path.Combine(scratch, "video.mp4");
            var thumbnailPath = Path.Combine(scratch, "thumbnail.jpg");
            long bytes;
            try
            {
                bytes = await DownloadAsync(candidate, task, videoPath, cancellationToken);
            }
            catch (UpstreamException e) when (e.Stage is not UpstreamFailureStage.Rejected && task.PollFailures + 1 < Options.MaxConsecutiveFailures)
            {
                LogDownloadRetry(logger, task.Id, e.Code);
                var wait = e.RetryAfter ?? PollSchedule.NextInterval(candidate, task.PollFailures + 1);
                await Store.DeferFinishAsync(lease, task.PollFailures + 1, Now + (long)wait.TotalMilliseconds, cancellationToken);
                return;
            }
            catch (UpstreamException e)
            {
                // An expired link keeps its own code: the video was lost to the upstream's retention, not broken.
                var code = e.Code == TaskErrors.Expired ? TaskErrors.Expired : TaskErrors.UpstreamResultInvalid;
                await Store.FailAsync(lease, new TaskError(code, $"The finished video could not be downloaded: {e.Message}"), Now, cancellationToken);
                return;
            }
            catch (ResultTooLargeException e)
            {
                await Store.FailAsync(lease, new TaskError(TaskErrors.UpstreamResultInvalid, e.Message), Now, cancellationToken);
                return;
            }

            VideoProbe probe;
            try
            {
                probe = await media.ProbeAsync(videoPath, cancellationToken);
                await media.ExtractThumbnailAsync(videoPath, thumbnailPath, cancellationToken);
            }
            catch (MediaException e)
            {
                await Store.FailAsync(lease, new TaskError(TaskErrors.UpstreamResultInvalid, $"The upstream's result is not a playable video: {e.Message}"), Now, cancellationToken);
                return;
            }

            var stored = new StoredVideo(BlobKeys.NewVideo(), BlobKeys.NewThumbnail(), probe.Width, probe.Height, probe.DurationSeconds, bytes);
            try
            {
                await blobs.PutFileAsync(stored.VideoKey, videoPath, cancellationToken);
                await blobs.PutFileAsync(stored.ThumbnailKey, thumbnailPath, cancellationToken);
            }
            catch
            {
                // No task names these objects yet: a video stored without its thumbnail would be kept, and
                // paid for, by nobody. A blob store that cannot write is an outage (StoreUnavailableException):
                // the worker hands the task back and backs off, and it is finished again from the download.
                await DiscardAsync(stored);
                throw;
            }

            // What was delivered is what is paid for: the probed length, never more than the hold
            // (an upstream that made 6 s of a 10 s request is paid for 6 s).
            var charge = Settlement.Charge(task.PriceUnit, task.UnitPrice, task.Held, probe.DurationSeconds);
            var costPerSecond = prices.ChannelCostPerSecond(task.Channel);
            long? upstreamCost = costPerSecond > 0 ? Settlement.UpstreamCost(costPerSecond, probe.DurationSeconds) : null;
            if (!await Store.CompleteAsync(lease, stored, charge, upstreamCost, Now, cancellationToken))
            {
                // Cancelled or taken over meanwhile: the stored copy belongs to nobody.
                await DiscardAsync(stored);
                return;
            }

            // Only once the task is durably completed: before that, a retry may still need the result.
            await candidate.Provider.ReleaseResultAsync(new UpstreamJob(task.UpstreamId!, task.Id, task.UpstreamModel!), candidate.Channel.Settings, CancellationToken.None);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    /// <summary>Deletes a stored copy no task refers to; one the store cannot delete now is logged and left.</summary>
    private async Task DiscardAsync(StoredVideo stored)
    {
        foreach (var key in (string[])[stored.VideoKey, stored.ThumbnailKey])
        {
            try
            {
                await blobs.DeleteAsync(key, CancellationToken.None);
            }
            catch (Exception e)
            {
                LogDiscardFailed(logger, e, key);
            }
        }
    }

    private async Task<long> DownloadAsync(RouteCandidate candidate, VideoTask task, string path, CancellationToken cancellationToken)
    {
        var max = limits.Value.MaxVideoBytes;
        await using var result = await candidate.Provider.OpenResultAsync(new UpstreamJob(task.UpstreamId!, task.Id, task.UpstreamModel!), task.ResultLocation!, candidate.Channel.Settings, cancellationToken);
        if (result.Length > max)
        {
            throw new ResultTooLargeException(max);
        }

        await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true);
        var buffer = new byte[81920];
        long total = 0;
        int read;
        while ((read = await result.Content.ReadAsync(buffer, cancellationToken)) > 0)
        {
            total += read;
            if (total > max)
            {
                throw new ResultTooLargeException(max);
            }

            await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
        }

        return total;
    }

    /// <summary>Under the work directory: one scratch directory per task being finished.</summary>
    internal const string ScratchFolder = "finishing";

    /// <summary>
    /// Names a scratch directory after the lease it is made under (task id in base64url, then the token),
    /// so a startup sweep can tell a live finisher's files, of any instance sharing the data directory,
    /// from those a killed process left behind.
    /// </summary>
    internal static string ScratchName(Lease lease) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes(lease.TaskId)) + "." + lease.Token;

    /// <summary>The lease a scratch directory was made under, or null when the name is not one <see cref="ScratchName"/> makes.</summary>
    internal static Lease? LeaseOfScratch(string name)
    {
        var dot = name.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || dot == name.Length - 1)
        {
            return null;
        }

        try
        {
            return new Lease(Encoding.UTF8.GetString(Base64Url.DecodeFromChars(name.AsSpan(0, dot))), name[(dot + 1)..]);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private sealed class ResultTooLargeException(long max) : Exception($"The finished video is larger than the {max / (1024 * 1024)} MiB limit.");

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete {Key}, stored for a task that did not take it; it stays in the blob store unreferenced")]
    private static partial void LogDiscardFailed(ILogger logger, Exception exception, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Task {TaskId}: result download failed ({Code}); will retry")]
    private static partial void LogDownloadRetry(ILogger logger, string taskId, string code);
}
