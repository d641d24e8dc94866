namespace Reelay.Engine;

/// <summary>How the background workers run (section <c>Engine</c>).</summary>
public sealed class EngineOptions
{
    /// <summary>Run the workers in this process. Off for an API-only instance that shares its database with worker instances.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How long a claim holds a task before another instance may take it over; kept alive while work runs.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Longest a worker sleeps before looking for due work again when nothing woke it.</summary>
    public TimeSpan IdleDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Tasks the dispatcher handles at once (image downloads and upstream submissions).</summary>
    public int DispatchConcurrency { get; set; } = 8;

    /// <summary>Polls in flight at once.</summary>
    public int PollConcurrency { get; set; } = 16;

    /// <summary>Videos being downloaded and checked at once.</summary>
    public int FinishConcurrency { get; set; } = 2;

    /// <summary>How often overdue tasks are looked for.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>First wait before dispatching again when every channel refused a task; doubles each time.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Dispatch rounds (every channel refused) before a task fails.</summary>
    public int MaxDispatchRounds { get; set; } = 5;

    /// <summary>
    /// For providers that report when their jobs start and end (the local renderer): how long a job
    /// waiting in the provider's queue goes unpolled when no change is reported, ±20% jitter. Only a
    /// safety net, so long: with thousands of jobs queued, each poll of one is two writes.
    /// </summary>
    public TimeSpan PushSafetyInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Consecutive failed polls (or result downloads) before a task fails.</summary>
    public int MaxConsecutiveFailures { get; set; } = 10;

    /// <summary>On shutdown, how long work in flight may finish before it is cut off.</summary>
    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(20);
}

/// <summary>Durations and counts that must be positive; a zero lease or concurrency would stall every task.</summary>
internal sealed class EngineOptionsValidator : Microsoft.Extensions.Options.IValidateOptions<EngineOptions>
{
    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, EngineOptions options)
    {
        var builder = new Microsoft.Extensions.Options.ValidateOptionsResultBuilder();
        Positive(builder, options.LeaseDuration, nameof(options.LeaseDuration));
        Positive(builder, options.IdleDelay, nameof(options.IdleDelay));
        Positive(builder, options.SweepInterval, nameof(options.SweepInterval));
        Positive(builder, options.RetryDelay, nameof(options.RetryDelay));
        foreach (var (value, setting) in (ReadOnlySpan<(int, string)>)[
            (options.DispatchConcurrency, nameof(options.DispatchConcurrency)),
            (options.PollConcurrency, nameof(options.PollConcurrency)),
            (options.FinishConcurrency, nameof(options.FinishConcurrency)),
            (options.MaxDispatchRounds, nameof(options.MaxDispatchRounds)),
            (options.MaxConsecutiveFailures, nameof(options.MaxConsecutiveFailures))])
        {
            if (value <= 0)
            {
                builder.AddError($"must be at least 1, got {value}", "Engine:" + setting);
            }
        }

        if (options.ShutdownGrace < TimeSpan.Zero)
        {
            builder.AddError("cannot be negative", "Engine:" + nameof(options.ShutdownGrace));
        }

        return builder.Build();
    }

    private static void Positive(Microsoft.Extensions.Options.ValidateOptionsResultBuilder builder, TimeSpan value, string setting)
    {
        if (value <= TimeSpan.Zero)
        {
            builder.AddError($"must be positive, got {value}", "Engine:" + setting);
        }
    }
}
