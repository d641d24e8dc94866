using System.Globalization;

namespace Reelay.Providers.Local;

/// <summary>One render this process is running or has finished: its status as a ready poll answer, and how to stop it.</summary>
internal sealed class LocalRenderJob(string id, string directory, LocalJobInputs inputs, CancellationToken shutdown) : IDisposable
{
    private readonly CancellationTokenSource _cancellation = CancellationTokenSource.CreateLinkedTokenSource(shutdown);

    // Queued until a render slot is free.
    private volatile PollResult _status = new(UpstreamState.Queued) { Progress = 0 };

    public string Id => id;

    /// <summary>The job as the engine names it, for change notices.</summary>
    public UpstreamJob AsUpstreamJob() => new(id, inputs.TaskId, inputs.Model);

    public string Directory => directory;

    public CancellationToken Token => _cancellation.Token;

    /// <summary>The render task; awaited by cancel and shutdown so nothing writes into a directory being deleted.</summary>
    public Task Completion { get; set; } = Task.CompletedTask;

    public PollResult Status => _status;

    /// <summary>Reads one line of ffmpeg's <c>-progress</c> output; 100 is kept for the renamed, finished file.</summary>
    public void ReportProgress(string line)
    {
        const string key = "out_time_us=";
        if (!line.StartsWith(key, StringComparison.Ordinal)
            || !long.TryParse(line.AsSpan(key.Length), NumberStyles.Integer, CultureInfo.InvariantCulture, out var microseconds))
        {
            return;
        }
        var progress = (int)Math.Clamp(microseconds / (inputs.DurationSeconds * 1_000_000.0) * 100, 0, 99);
        if (_status.State == UpstreamState.Running && progress > (_status.Progress ?? 0))
        {
            _status = new PollResult(UpstreamState.Running) { Progress = progress };
        }
    }

    /// <summary>A render slot is free and ffmpeg starts.</summary>
    public void Start() => _status = new PollResult(UpstreamState.Running) { Progress = 0 };

    public void Succeed(string outputPath, DateTimeOffset at) =>
        _status = new PollResult(UpstreamState.Succeeded) { Progress = 100, ResultLocation = outputPath, FinishedAt = at };

    public void Fail(string message, DateTimeOffset at) =>
        _status = new PollResult(UpstreamState.Failed) { Error = new UpstreamError(TaskErrors.RenderFailed, message), FinishedAt = at };

    public void Cancel() => _cancellation.Cancel();

    public void Dispose() => _cancellation.Dispose();
}
