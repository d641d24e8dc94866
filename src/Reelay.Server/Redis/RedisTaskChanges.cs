using Reelay.Tasks;
using StackExchange.Redis;

namespace Reelay.Redis;

/// <summary>
/// <see cref="ITaskChanges"/> across instances: a publish wakes this instance's waiters at once (through
/// <see cref="InProcessTaskChanges"/>, as on one box) and sends the task id on a Redis channel; each instance
/// subscribes once and wakes its own waiters of that task, so a task finished by instance B wakes a
/// long-poll or event stream held by instance A. While Redis is down a notice reaches this instance only;
/// waiters elsewhere still answer with the store's state when their wait ends.
/// </summary>
public sealed class RedisTaskChanges : ITaskChanges
{
    private static readonly RedisChannel Channel = RedisChannel.Literal("reelay:task-changes");

    private readonly RedisConnection _redis;
    private readonly InProcessTaskChanges _local = new();

    public RedisTaskChanges(RedisConnection redis)
    {
        _redis = redis;
        redis.Subscribe(Channel, _local.Publish);
    }

    /// <summary>Tasks with at least one open watch on this instance (tests read it to know a wait has begun).</summary>
    public int WatchedTasks => _local.WatchedTasks;

    public void Publish(string taskId)
    {
        _local.Publish(taskId);
        _redis.Publish(Channel, taskId);
    }

    public ITaskWatch Watch(string taskId) => _local.Watch(taskId);
}
