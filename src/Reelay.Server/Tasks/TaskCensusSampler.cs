using System.Diagnostics.Metrics;
using Reelay.Storage;
using Reelay.Telemetry;

namespace Reelay.Tasks;

/// <summary>
/// The gauges read from the task store — unfinished tasks per stage, those due (each worker's queue),
/// and the credits they hold — sampled every few seconds so a scrape never waits on the database and
/// many scrapes cost one query. A failing store leaves the last sample in place and is tried again.
/// </summary>
public sealed partial class TaskCensusSampler : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    private readonly ITaskMonitor _monitor;
    private readonly TimeProvider _time;
    private readonly ILogger<TaskCensusSampler> _logger;
    private volatile IReadOnlyList<StageCensus> _census = [];

    public TaskCensusSampler(ITaskMonitor monitor, ReelayTelemetry telemetry, TimeProvider time, ILogger<TaskCensusSampler> logger)
    {
        (_monitor, _time, _logger) = (monitor, time, logger);
        telemetry.Meter.CreateObservableGauge("reelay.tasks.unfinished", () => Sample(c => c.Count), description: "Unfinished tasks per stage (pending, submitting, running, finishing).");
        telemetry.Meter.CreateObservableGauge("reelay.tasks.due", () => Sample(c => c.Due), description: "Tasks per stage whose turn has come: the queue of that stage's worker.");
        telemetry.Meter.CreateObservableGauge("reelay.holds.open", () => new Measurement<double>(_census.Sum(c => c.Held) / 1_000_000d),
            unit: "{credit}", description: "Credits held for unfinished tasks, charged or released when each ends.");
    }

    private IEnumerable<Measurement<long>> Sample(Func<StageCensus, long> value)
    {
        var census = _census;
        foreach (var stage in (TaskStage[])[TaskStage.Pending, TaskStage.Submitting, TaskStage.Running, TaskStage.Finishing])
        {
            // Every stage is reported, 0 included, so a drained queue reads as 0 rather than as a gap.
            var found = census.FirstOrDefault(c => c.Stage == stage);
            yield return new Measurement<long>(found is null ? 0 : value(found), new KeyValuePair<string, object?>("stage", stage.ToString().ToLowerInvariant()));
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var outage = new StoreOutage();
        try
        {
            while (true)
            {
                try
                {
                    _census = await _monitor.CensusAsync(_time.GetUtcNow().ToUnixTimeMilliseconds(), stoppingToken);
                    _ = outage.Succeeded();
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    if (outage.Failed())
                    {
                        LogSampleFailed(_logger, e);
                    }
                }

                await Task.Delay(outage.Wait > Interval ? outage.Wait : Interval, _time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sampling the task store for metrics failed; the gauges keep the last sample, and it is tried again with backoff")]
    private static partial void LogSampleFailed(ILogger logger, Exception exception);
}
