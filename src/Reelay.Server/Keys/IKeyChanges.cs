namespace Reelay.Keys;

/// <summary>
/// How a key revoked or changed on one instance leaves the key caches of the others at once, instead of
/// when their cached entry runs out. <see cref="KeyAuthenticator"/> publishes the key's hash when it forgets
/// a key and forgets every hash it is told of. On one box there is nobody to tell
/// (<see cref="SingleInstanceKeyChanges"/>); several instances share a bus (Redis pub/sub).
/// </summary>
public interface IKeyChanges
{
    /// <summary>Tells the other instances that the key with this hash was revoked or changed; completes once they have been sent it.</summary>
    Task PublishAsync(byte[] keyHash);

    /// <summary>Calls <paramref name="forget"/> with the hash of each key another instance changed, from now on.</summary>
    void Subscribe(Action<byte[]> forget);
}

/// <summary>One instance: no other cache holds the key, so there is nothing to tell.</summary>
public sealed class SingleInstanceKeyChanges : IKeyChanges
{
    public Task PublishAsync(byte[] keyHash) => Task.CompletedTask;

    public void Subscribe(Action<byte[]> forget)
    {
    }
}
