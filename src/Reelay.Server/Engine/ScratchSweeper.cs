using Microsoft.Extensions.Options;
using Reelay.Hosting;
using Reelay.Providers.Local;
using Reelay.Tasks;

namespace Reelay.Engine;

/// <summary>
/// Once at startup, deletes the scratch files a killed process (SIGKILL, power loss) left in the work
/// directory: finisher downloads whose lease is no longer live, and local render jobs whose task ended
/// or no longer exists. Whatever a live task owns stays, whichever instance sharing the data
/// directory runs it: the lease or the task's stage in the store decides, never a file's age.
/// </summary>
public sealed partial class ScratchSweeper(
    ITaskStore store,
    DataDirectory data,
    IOptions<LocalRendererOptions> local,
    TimeProvider time,
    ILogger<ScratchSweeper> logger) : IHostedService
{
    // Registered before the workers and run in StartAsync, so it ends before this instance claims
    // anything. It stays safe if it overlaps them: directories are listed before the store is asked,
    // and a directory is only ever made after its lease or attempt is stored.
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            var finishing = await SweepFinishingAsync(cancellationToken);
            var jobs = await SweepLocalJobsAsync(cancellationToken);
            if (finishing.Count + jobs.Count > 0)
            {
                LogSwept(logger, finishing.Count, jobs.Count, finishing.Bytes + jobs.Bytes);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Leftovers only cost disk space: a store that cannot be read now must not stop startup.
            LogSweepFailed(logger, e.Message);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task<Swept> SweepFinishingAsync(CancellationToken cancellationToken)
    {
        var root = Path.Combine(data.Work, Finisher.ScratchFolder);
        if (!Directory.Exists(root))
        {
            return default;
        }

        var directories = Directory.GetDirectories(root);
        var owners = directories.Select(d => Finisher.LeaseOfScratch(Path.GetFileName(d))).OfType<Lease>().ToList();
        var live = owners.Count == 0
            ? []
            : (await store.LiveLeasesAsync([.. owners.Select(o => o.TaskId).Distinct(StringComparer.Ordinal)], time.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken)).ToHashSet();
        var swept = default(Swept);
        foreach (var directory in directories)
        {
            // A name that holds no lease is a leftover too (none is made without one).
            if (Finisher.LeaseOfScratch(Path.GetFileName(directory)) is { } lease && live.Contains(lease))
            {
                continue;
            }

            swept += Delete(directory);
        }

        return swept;
    }

    private async Task<Swept> SweepLocalJobsAsync(CancellationToken cancellationToken)
    {
        var root = local.Value.WorkDirectory;
        if (!Directory.Exists(root))
        {
            return default;
        }

        // Job ids are a hash of the task id, so map the other way: the jobs unfinished local tasks own.
        var directories = Directory.GetDirectories(root, "local-*");
        if (directories.Length == 0)
        {
            return default;
        }

        var owned = (await store.UnfinishedLocalTaskIdsAsync(cancellationToken)).Select(LocalRenderer.JobIdFor).ToHashSet(StringComparer.Ordinal);
        var swept = default(Swept);
        foreach (var directory in directories)
        {
            if (!owned.Contains(Path.GetFileName(directory)))
            {
                swept += Delete(directory);
            }
        }

        return swept;
    }

    private Swept Delete(string directory)
    {
        try
        {
            var bytes = new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
            Directory.Delete(directory, recursive: true);
            return new Swept(1, bytes);
        }
        catch (DirectoryNotFoundException)
        {
            // Its owner finished and removed it meanwhile.
            return default;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogDeleteFailed(logger, directory, e.Message);
            return default;
        }
    }

    private readonly record struct Swept(int Count, long Bytes)
    {
        public static Swept operator +(Swept a, Swept b) => new(a.Count + b.Count, a.Bytes + b.Bytes);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Swept leftovers of earlier runs: {Finishing} finisher scratch directories, {Jobs} local render jobs, {Bytes} bytes")]
    private static partial void LogSwept(ILogger logger, int finishing, int jobs, long bytes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The startup sweep of scratch files was skipped: {Reason}. Leftovers stay until the next start")]
    private static partial void LogSweepFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete leftover '{Path}': {Reason}")]
    private static partial void LogDeleteFailed(ILogger logger, string path, string reason);
}
