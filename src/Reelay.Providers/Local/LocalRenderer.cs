using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Reelay.Providers.Media;

namespace Reelay.Providers.Local;

/// <summary>
/// Renders a real H.264 MP4 on this machine with ffmpeg: motion over the reference images, or an
/// animated backdrop with the prompt as caption. A preview renderer, not a generative model.
/// Each job is a directory under <see cref="LocalRendererOptions.WorkDirectory"/> holding its inputs,
/// so a restarted server renders unfinished jobs again when they are polled. Jobs wait their turn for
/// a render slot; as this process knows when each starts and ends, it says so on <see cref="Changes"/>
/// and the engine need not poll the waiting ones.
/// </summary>
internal sealed partial class LocalRenderer(
    IOptions<LocalRendererOptions> options,
    MediaToolkit media,
    LocalRenderLoad load,
    TimeProvider timeProvider,
    ILogger<LocalRenderer> logger) : IVideoProvider, IDisposable
{
    private const string JobIdPrefix = "local-";
    private const string RequestFileName = "request.json";
    private const string OutputFileName = "output.mp4";
    private const string PartialFileName = "output.partial.mp4";
    private const string ErrorFileName = "error.txt";
    private const string FallbackFontFile = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

    // Sweeping lists the whole work directory; once an hour bounds that cost on busy submit paths.
    private static readonly TimeSpan SweepInterval = TimeSpan.FromHours(1);

    private static readonly SearchValues<char> LowerHexDigits = SearchValues.Create("0123456789abcdef");

    private readonly LocalRendererOptions _options = options.Value;
    private readonly ConcurrentDictionary<string, LocalRenderJob> _jobs = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _renderSlots = new(options.Value.MaxConcurrentRenders);

    // Serializes "is this job known? then write and start it", so one task id never starts two renders.
    private readonly SemaphoreSlim _startGate = new(1, 1);
    private readonly CancellationTokenSource _shutdown = new();

    // Unbounded: a notice is written per start and end of a render, far slower than the engine reads them.
    private readonly Channel<UpstreamJob> _changes = Channel.CreateUnbounded<UpstreamJob>(new UnboundedChannelOptions { SingleReader = true });
    private DateTimeOffset _lastSweep = DateTimeOffset.MinValue;
    private int _rendersStarted;
    private string? _fontFile;

    public string Name => ProviderNames.Local;

    // It renders any even width and height and 1–600 s, so it never passes a request over (the
    // default CheckRender): every value the catalog accepts renders for test-mode keys. A model only
    // a channel names gets what reelay-preview takes.
    public ProviderCapabilities Capabilities { get; } = new(MaxImages: 8, SupportsCancel: true, IdempotentSubmit: true)
    {
        PollInterval = TimeSpan.FromMilliseconds(250),
        MaxPollInterval = TimeSpan.FromSeconds(1),
        PushesChanges = true,
        DefaultModel = new(["16:9", "9:16", "1:1", "3:2", "2:3", "4:3", "3:4"], ["720P", "480P", "1080P"], [], 1, 15, DefaultDuration: 6, MaxImages: 8),
    };

    /// <summary>A job's notice comes after its new state is in place, so a poll prompted by it sees the change.</summary>
    public ChannelReader<UpstreamJob> Changes => _changes.Reader;

    /// <summary>How many renders this instance has started (tests check that a repeated submit starts none).</summary>
    internal int RendersStarted => Volatile.Read(ref _rendersStarted);

    public async Task<SubmitResult> SubmitAsync(VideoJobRequest request, ChannelSettings channel, CancellationToken cancellationToken)
    {
        Validate(request);
        var jobId = JobIdFor(request.TaskId);
        var directory = JobDirectory(jobId);
        await _startGate.WaitAsync(cancellationToken);
        try
        {
            SweepIfDue();
            if (_jobs.ContainsKey(jobId) || File.Exists(Path.Combine(directory, OutputFileName)) || File.Exists(Path.Combine(directory, ErrorFileName)))
            {
                LogAlreadySubmitted(logger, jobId, request.TaskId);
                return new SubmitResult(jobId);
            }
            var inputs = File.Exists(Path.Combine(directory, RequestFileName))
                ? await ReadInputsAsync(directory, cancellationToken)
                : await WriteInputsAsync(request, directory, cancellationToken);
            StartRender(jobId, directory, inputs);
        }
        finally
        {
            _startGate.Release();
        }
        LogSubmitted(logger, jobId, request.TaskId, request.Width, request.Height, request.DurationSeconds, request.Images.Count);
        LogPrompt(logger, jobId, request.Prompt);
        return new SubmitResult(jobId);
    }

    public async Task<PollResult> PollAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken)
    {
        if (_jobs.TryGetValue(job.UpstreamId, out var known))
        {
            return known.Status;
        }
        if (!IsJobId(job.UpstreamId))
        {
            return Lost(job.UpstreamId);
        }

        var directory = JobDirectory(job.UpstreamId);
        var output = Path.Combine(directory, OutputFileName);
        if (File.Exists(output))
        {
            // A render finished by an earlier process: the finished file's rename is when it ended.
            return new PollResult(UpstreamState.Succeeded) { Progress = 100, ResultLocation = output, FinishedAt = File.GetLastWriteTimeUtc(output) };
        }
        var errorFile = Path.Combine(directory, ErrorFileName);
        if (File.Exists(errorFile))
        {
            var message = await File.ReadAllTextAsync(errorFile, cancellationToken);
            return new PollResult(UpstreamState.Failed) { Error = new UpstreamError(TaskErrors.RenderFailed, message) };
        }
        if (!File.Exists(Path.Combine(directory, RequestFileName)))
        {
            return Lost(job.UpstreamId);
        }

        // Inputs on disk but no render in memory: this process restarted mid-render, so render again.
        await _startGate.WaitAsync(cancellationToken);
        try
        {
            if (!_jobs.TryGetValue(job.UpstreamId, out known))
            {
                var inputs = await ReadInputsAsync(directory, cancellationToken);
                known = StartRender(job.UpstreamId, directory, inputs);
                LogResumed(logger, job.UpstreamId);
            }
        }
        finally
        {
            _startGate.Release();
        }
        return known.Status;
    }

    public Task<ResultContent> OpenResultAsync(UpstreamJob job, string resultLocation, ChannelSettings channel, CancellationToken cancellationToken)
    {
        var path = Path.GetFullPath(resultLocation);
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(_options.WorkDirectory)) + Path.DirectorySeparatorChar;
        if (!path.StartsWith(root, StringComparison.Ordinal))
        {
            throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.InvalidArgument,
                "The result location is outside the local renderer's work directory.");
        }
        if (!File.Exists(path))
        {
            throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.UpstreamLost,
                $"The rendered video of job '{job.UpstreamId}' is gone (removed or swept after {_options.JobRetention}).");
        }
        var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Open,
            Access = FileAccess.Read,
            // Delete sharing lets a sweep or cancel remove the job while a download is still streaming.
            Share = FileShare.Read | FileShare.Delete,
            Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
        });
        return Task.FromResult(new ResultContent(stream, "video/mp4", stream.Length));
    }

    public async Task CancelAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken)
    {
        await RemoveJobAsync(job, cancellationToken);
        LogCanceled(logger, job.UpstreamId);
    }

    /// <summary>The MP4 is in Reelay's storage now: the job's inputs and output need not wait for the retention sweep.</summary>
    public Task ReleaseResultAsync(UpstreamJob job, ChannelSettings channel, CancellationToken cancellationToken) =>
        RemoveJobAsync(job, cancellationToken);

    /// <summary>Stops the job if it runs and deletes its directory.</summary>
    private async Task RemoveJobAsync(UpstreamJob job, CancellationToken cancellationToken)
    {
        // Under the start gate so a concurrent poll cannot resume the job between the kill and the delete.
        await _startGate.WaitAsync(cancellationToken);
        try
        {
            if (_jobs.TryRemove(job.UpstreamId, out var running))
            {
                running.Cancel();
                await running.Completion.WaitAsync(cancellationToken);
                running.Dispose();
            }
            if (IsJobId(job.UpstreamId))
            {
                DeleteDirectory(JobDirectory(job.UpstreamId));
            }
        }
        finally
        {
            _startGate.Release();
        }
    }

    public void Dispose()
    {
        // Renders are killed but their inputs stay on disk: the next process resumes them when polled.
        _shutdown.Cancel();
        _changes.Writer.TryComplete();
        var running = _jobs.Values.Select(j => j.Completion).ToArray();
        Task.WaitAll(running);
        foreach (var job in _jobs.Values)
        {
            job.Dispose();
        }
        _shutdown.Dispose();
        _renderSlots.Dispose();
        _startGate.Dispose();
    }

    private LocalRenderJob StartRender(string jobId, string directory, LocalJobInputs inputs)
    {
        var job = new LocalRenderJob(jobId, directory, inputs, _shutdown.Token);
        Interlocked.Increment(ref _rendersStarted);
        job.Completion = Task.Run(() => RenderAsync(job, inputs), CancellationToken.None);
        _jobs[jobId] = job;
        return job;
    }

    private async Task RenderAsync(LocalRenderJob job, LocalJobInputs inputs)
    {
        var partial = Path.Combine(job.Directory, PartialFileName);
        using var timeout = new CancellationTokenSource(Timeout.InfiniteTimeSpan, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(job.Token, timeout.Token);
        try
        {
            await _renderSlots.WaitAsync(job.Token);
            try
            {
                // The clock starts once a slot is free: waiting in line is not rendering.
                timeout.CancelAfter(_options.RenderTimeout);
                job.Start();
                _changes.Writer.TryWrite(job.AsUpstreamJob());
                var started = timeProvider.GetTimestamp();
                var command = LocalRenderPlan.Build(inputs, _options.FramesPerSecond, ResolveFontFile(), PartialFileName);
                foreach (var (fileName, text) in command.TextFiles)
                {
                    await File.WriteAllTextAsync(Path.Combine(job.Directory, fileName), text, linked.Token);
                }
                await media.RunFfmpegAsync(command.Arguments, job.Directory, job.ReportProgress, linked.Token);

                // Renamed only when complete, so a poll never reports a half-written file as done.
                var output = Path.Combine(job.Directory, OutputFileName);
                File.Move(partial, output, overwrite: true);
                job.Succeed(output, timeProvider.GetUtcNow());
                _changes.Writer.TryWrite(job.AsUpstreamJob());
                var elapsed = timeProvider.GetElapsedTime(started);
                load.Record(elapsed);
                LogRendered(logger, job.Id, elapsed.TotalMilliseconds);
            }
            finally
            {
                _renderSlots.Release();
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !job.Token.IsCancellationRequested)
        {
            Fail(job, $"render timed out after {_options.RenderTimeout}");
        }
        catch (OperationCanceledException)
        {
            // Cancelled by the client or by shutdown: the job is being deleted or will be resumed.
        }
        catch (Exception ex) when (ex is MediaException or IOException or UnauthorizedAccessException)
        {
            Fail(job, ex.Message);
        }
        finally
        {
            TryDelete(partial);
        }
    }

    private void Fail(LocalRenderJob job, string message)
    {
        LogRenderFailed(logger, job.Id, message);
        try
        {
            // Kept on disk so a restarted server still answers "failed" rather than rendering again.
            File.WriteAllText(Path.Combine(job.Directory, ErrorFileName), message);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogRenderFailed(logger, job.Id, ex.Message);
        }
        job.Fail(message, timeProvider.GetUtcNow());
        _changes.Writer.TryWrite(job.AsUpstreamJob());
    }

    private static async Task<LocalJobInputs> WriteInputsAsync(VideoJobRequest request, string directory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var images = new List<LocalJobImage>(request.Images.Count);
        for (var i = 0; i < request.Images.Count; i++)
        {
            var image = request.Images[i];
            var fileName = $"image-{i}.{ExtensionFor(image.MediaType)}";
            await File.WriteAllBytesAsync(Path.Combine(directory, fileName), image.Content, cancellationToken);
            images.Add(new LocalJobImage(fileName, image.MediaType, image.Width, image.Height));
        }
        var inputs = new LocalJobInputs(request.TaskId, request.Model, request.Prompt, request.AspectRatio, request.Size,
            request.Width, request.Height, request.DurationSeconds, LocalRenderPlan.SeedFor(request), images);

        // request.json is written last and atomically: its presence means every input is on disk. A few
        // hundred bytes, written in place: the asynchronous write would hop to another thread and back
        // while the start gate is held.
        var temporary = Path.Combine(directory, RequestFileName + ".tmp");
        File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(inputs, LocalJobJsonContext.Default.LocalJobInputs));
        File.Move(temporary, Path.Combine(directory, RequestFileName), overwrite: true);
        return inputs;
    }

    private static async Task<LocalJobInputs> ReadInputsAsync(string directory, CancellationToken cancellationToken)
    {
        await using var stream = File.OpenRead(Path.Combine(directory, RequestFileName));
        return await JsonSerializer.DeserializeAsync(stream, LocalJobJsonContext.Default.LocalJobInputs, cancellationToken)
            ?? throw new UpstreamException(UpstreamFailureStage.UnknownAfterSend, TaskErrors.UpstreamLost, $"The inputs of local job in '{directory}' are empty.");
    }

    private void SweepIfDue()
    {
        var now = timeProvider.GetUtcNow();
        if (now - _lastSweep < SweepInterval || !Directory.Exists(_options.WorkDirectory))
        {
            return;
        }
        _lastSweep = now;
        var swept = 0;
        foreach (var directory in Directory.EnumerateDirectories(_options.WorkDirectory, JobIdPrefix + "*"))
        {
            var jobId = Path.GetFileName(directory);
            var running = _jobs.TryGetValue(jobId, out var job) && job.Status.State is UpstreamState.Queued or UpstreamState.Running;
            if (running || now - Directory.GetLastWriteTimeUtc(directory) < _options.JobRetention)
            {
                continue;
            }
            if (_jobs.TryRemove(jobId, out job))
            {
                job.Dispose();
            }
            DeleteDirectory(directory);
            swept++;
        }
        LogSwept(logger, swept);
    }

    private string? ResolveFontFile()
    {
        if (_fontFile is not null)
        {
            return _fontFile;
        }
        if (File.Exists(_options.FontFile))
        {
            return _fontFile = _options.FontFile;
        }
        if (File.Exists(FallbackFontFile))
        {
            LogFontFallback(logger, _options.FontFile, FallbackFontFile);
            return _fontFile = FallbackFontFile;
        }
        // Neither font is installed: drawtext asks fontconfig for its default.
        LogFontFallback(logger, _options.FontFile, "fontconfig default");
        return null;
    }

    private string JobDirectory(string jobId) => Path.Combine(_options.WorkDirectory, jobId);

    private void DeleteDirectory(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Already gone.
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogDeleteFailed(logger, directory, ex.Message);
        }
    }

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A leftover partial file is harmless: it is overwritten by the next render and swept with the job.
            Debug.WriteLine(ex.Message);
        }
    }

    private static PollResult Lost(string jobId) => new(UpstreamState.Failed)
    {
        Error = new UpstreamError(TaskErrors.UpstreamLost, $"Local render job '{jobId}' is unknown: its work directory is gone (swept, cancelled or never on this machine)."),
    };

    private static void Validate(VideoJobRequest request)
    {
        string? problem = null;
        if (request.Width <= 0 || request.Height <= 0 || request.Width % 2 != 0 || request.Height % 2 != 0)
        {
            problem = $"width and height must be positive even numbers, not {request.Width}x{request.Height}";
        }
        else if (request.DurationSeconds is < 1 or > 600)
        {
            problem = $"duration must be 1–600 seconds, not {request.DurationSeconds}";
        }
        else if (request.Images.Count > 8)
        {
            problem = $"at most 8 images, not {request.Images.Count}";
        }
        else if (request.Images.FirstOrDefault(i => ExtensionFor(i.MediaType) is null) is { } image)
        {
            problem = $"images must be PNG, JPEG, WebP or GIF, not {image.MediaType}";
        }
        if (problem is not null)
        {
            throw new UpstreamException(UpstreamFailureStage.Rejected, TaskErrors.InvalidArgument, $"The local renderer cannot render this request: {problem}.");
        }
    }

    private static string? ExtensionFor(string mediaType) => mediaType switch
    {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        "image/gif" => "gif",
        _ => null,
    };

    /// <summary>A directory-safe id that is the same for every submission of one task: what makes submit idempotent.</summary>
    internal static string JobIdFor(string taskId) =>
        JobIdPrefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(taskId)))[..32];

    // Ids come back from the engine's store; only our own shape may become a path.
    private static bool IsJobId(string id) =>
        id.Length == JobIdPrefix.Length + 32 && id.StartsWith(JobIdPrefix, StringComparison.Ordinal)
        && id.AsSpan(JobIdPrefix.Length).ContainsAnyExcept(LowerHexDigits) is false;

    [LoggerMessage(Level = LogLevel.Information, Message = "Local render {JobId} submitted for task {TaskId}: {Width}x{Height}, {DurationSeconds} s, {ImageCount} images")]
    private static partial void LogSubmitted(ILogger logger, string jobId, string taskId, int width, int height, int durationSeconds, int imageCount);

    [LoggerMessage(Level = LogLevel.Trace, Message = "Local render {JobId} prompt: {Prompt}")]
    private static partial void LogPrompt(ILogger logger, string jobId, string prompt);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Local render {JobId} for task {TaskId} already exists; nothing new started")]
    private static partial void LogAlreadySubmitted(ILogger logger, string jobId, string taskId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Local render {JobId} resumed from its inputs on disk")]
    private static partial void LogResumed(ILogger logger, string jobId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Local render {JobId} finished in {ElapsedMilliseconds:0} ms")]
    private static partial void LogRendered(ILogger logger, string jobId, double elapsedMilliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Local render {JobId} failed: {Reason}")]
    private static partial void LogRenderFailed(ILogger logger, string jobId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Local render {JobId} cancelled and removed")]
    private static partial void LogCanceled(ILogger logger, string jobId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Swept {Count} expired local render jobs")]
    private static partial void LogSwept(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Caption font '{Configured}' not found; using {Fallback}")]
    private static partial void LogFontFallback(ILogger logger, string configured, string fallback);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete '{Path}': {Reason}")]
    private static partial void LogDeleteFailed(ILogger logger, string path, string reason);
}
