using Reelay.Storage;
using StackExchange.Redis;

namespace Reelay.Redis;

/// <summary>
/// <see cref="IStoredConfigurationChanges"/> over Redis pub/sub: an admin change to channels, prices or catalog
/// entries made through one instance names what changed on a Redis channel, and every other instance's
/// reloader of that kind reads the store again at once. While Redis is down the notice is lost (logged once
/// and counted by the connection) and the others pick the change up at their periodic re-read.
/// </summary>
public sealed class RedisConfigurationChanges(RedisConnection redis) : IStoredConfigurationChanges
{
    private static readonly RedisChannel Channel = RedisChannel.Literal("reelay:configuration-changes");

    // Awaited, as key notices are: Redis relays a message to the subscribers before it answers, so once the
    // admin write is answered the other instances have the notice on their sockets.
    public Task PublishAsync(StoredConfiguration what) => redis.PublishAndWaitAsync(Channel, what.ToString());

    public void Subscribe(StoredConfiguration what, Action changed)
    {
        var name = what.ToString();
        redis.Subscribe(Channel, notice =>
        {
            // Every reloader hears every kind; each acts on its own. Anything else on the channel is ignored.
            if (notice.Equals(name, StringComparison.Ordinal))
            {
                changed();
            }
        });
    }
}
