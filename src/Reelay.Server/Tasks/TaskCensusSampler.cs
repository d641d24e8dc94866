using System.Diagnostics.Metrics;
using Reelay.Storage;
using Reelay.Telemetry;

namespace Reelay.Tasks;

/// <summary>
/// The gauges read from the task store — unfinished tasks per stage, those due (each worker's queue),
/// and the credits they hold — from a sample taken every few seconds (<see cref="StoreSampler"/>).
/// </summary>
public sealed class TaskCensusSampler : StoreSampler
{
    private readonly ITaskMonitor _monitor;
    private readonly TimeProvider _time;
    private volatile IReadOnlyList<StageCensus> _census = [];

    public TaskCensusSampler(ITaskMonitor monitor, ReelayTelemetry telemetry, TimeProvider time, ILogger<TaskCensusSampler> logger)
        : base("task store", time, logger)
    {
        (_monitor, _time) = (monitor, time);
        telemetry.Meter.CreateObservableGauge("reelay.tasks.unfinished", () => Sample(c => c.Count), description: "Unfinished tasks per stage (pending, submitting, running, finishing).");
        telemetry.Meter.CreateObservableGauge("reelay.tasks.due", () => Sample(c => c.Due), description: "Tasks per stage whose turn has come: the queue of that stage's worker.");
        telemetry.Meter.CreateObservableGauge("reelay.holds.open", () => new Measurement<double>(_census.Sum(c => c.Held) / 1_000_000d),
            unit: "{credit}", description: "Credits held for unfinished tasks, charged or released when each ends.");
    }

    protected override async Task SampleAsync(CancellationToken cancellationToken) =>
        _census = await _monitor.CensusAsync(_time.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken);

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
}
