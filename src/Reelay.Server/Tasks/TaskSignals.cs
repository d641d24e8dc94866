using System.Threading.Channels;

namespace Reelay.Tasks;

/// <summary>
/// In-process nudges so an engine worker wakes the moment work appears here instead of at its next
/// idle check. Work made by other instances is still found by the idle check: the database is the truth.
/// </summary>
public sealed class TaskSignals
{
    private readonly Channel<bool> _dispatch = NewSignal();
    private readonly Channel<bool> _poll = NewSignal();
    private readonly Channel<bool> _finish = NewSignal();

    public void TaskCreated() => _dispatch.Writer.TryWrite(true);

    public void TaskSubmitted() => _poll.Writer.TryWrite(true);

    /// <summary>A provider reported a job's change and its task was made due: the poller looks now.</summary>
    public void UpstreamChanged() => _poll.Writer.TryWrite(true);

    public void ResultReady() => _finish.Writer.TryWrite(true);

    public ChannelReader<bool> DispatchReader => _dispatch.Reader;

    public ChannelReader<bool> PollReader => _poll.Reader;

    public ChannelReader<bool> FinishReader => _finish.Reader;

    /// <summary>Capacity one, extra writes dropped: many nudges before a wake count as one.</summary>
    private static Channel<bool> NewSignal() =>
        Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
}
