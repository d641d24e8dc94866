namespace Reelay.Providers.Local;

/// <summary>
/// How busy the local renderer is likely to be: its render slots and a moving average of how long
/// recent renders took. The gateway reads it to refuse work that could not start before its deadline,
/// instead of queueing it to time out.
/// </summary>
public sealed class LocalRenderLoad(Microsoft.Extensions.Options.IOptions<LocalRendererOptions> options)
{
    /// <summary>Weight of the newest render in the average: about the last ten renders count.</summary>
    private const double Smoothing = 0.2;

    private long _averageTicks = options.Value.ExpectedRenderTime.Ticks;

    /// <summary>Renders that may run at once.</summary>
    public int Slots { get; } = options.Value.MaxConcurrentRenders;

    /// <summary>Recent render time (from a free slot to the finished file); <see cref="LocalRendererOptions.ExpectedRenderTime"/> until one is measured.</summary>
    public TimeSpan AverageRenderTime => TimeSpan.FromTicks(Interlocked.Read(ref _averageTicks));

    /// <summary>Folds one finished render into the average.</summary>
    public void Record(TimeSpan elapsed)
    {
        long current, next;
        do
        {
            current = Interlocked.Read(ref _averageTicks);
            next = (long)((current * (1 - Smoothing)) + (elapsed.Ticks * Smoothing));
        }
        while (Interlocked.CompareExchange(ref _averageTicks, next, current) != current);
    }
}
