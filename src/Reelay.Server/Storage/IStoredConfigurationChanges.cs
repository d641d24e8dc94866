namespace Reelay.Storage;

/// <summary>Which kind of run-time configuration an admin changed in the store.</summary>
public enum StoredConfiguration
{
    Channels,
    Prices,
    Catalog,
}

/// <summary>
/// How an admin change to channels, prices or catalog entries made through one instance is put in force by
/// the others at once, instead of at their next periodic re-read (<see cref="StoreReloader"/>). The instance
/// that wrote already reloaded; it publishes what changed, and every other instance's reloader of that kind
/// reloads from the store. On one box there is nobody to tell (<see cref="SingleInstanceConfigurationChanges"/>);
/// several instances share a bus (Redis pub/sub).
/// </summary>
public interface IStoredConfigurationChanges
{
    /// <summary>
    /// Tells the other instances that <paramref name="what"/> changed in the store; completes once they have
    /// been sent it. Never fails: without the bus the periodic re-read brings the change.
    /// </summary>
    Task PublishAsync(StoredConfiguration what);

    /// <summary>Calls <paramref name="changed"/> each time another instance publishes a change of <paramref name="what"/>, from now on.</summary>
    void Subscribe(StoredConfiguration what, Action changed);
}

/// <summary>One instance: the writer reloaded already, so there is nobody to tell.</summary>
public sealed class SingleInstanceConfigurationChanges : IStoredConfigurationChanges
{
    public Task PublishAsync(StoredConfiguration what) => Task.CompletedTask;

    public void Subscribe(StoredConfiguration what, Action changed)
    {
    }
}
