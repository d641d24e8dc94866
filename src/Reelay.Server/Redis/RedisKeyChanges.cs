using Reelay.Keys;
using StackExchange.Redis;

namespace Reelay.Redis;

/// <summary>
/// <see cref="IKeyChanges"/> over Redis pub/sub: a key revoked or changed on one instance (its hash, in hex)
/// leaves every instance's key cache at once, so it answers 401 everywhere on its next request. While Redis
/// is down the other instances drop it when their cached entry runs out (seconds).
/// </summary>
public sealed class RedisKeyChanges(RedisConnection redis) : IKeyChanges
{
    private static readonly RedisChannel Channel = RedisChannel.Literal("reelay:key-changes");

    // Awaited, unlike task notices: Redis relays a message to the subscribers before it answers, so once the
    // revoke is answered the other instances have the notice on their sockets.
    public Task PublishAsync(byte[] keyHash) => redis.PublishAndWaitAsync(Channel, Convert.ToHexString(keyHash));

    public void Subscribe(Action<byte[]> forget) =>
        redis.Subscribe(Channel, hex =>
        {
            // Only Reelay publishes here; anything else on the channel is not a key hash and is ignored.
            if (hex.Length == 64 && hex.All(Uri.IsHexDigit))
            {
                forget(Convert.FromHexString(hex));
            }
        });
}
