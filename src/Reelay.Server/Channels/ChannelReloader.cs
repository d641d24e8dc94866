using Reelay.Storage;

namespace Reelay.Channels;

/// <summary>Loads admin-created channels at start (before the workers' first dispatch) and puts other instances' changes in force as they are published.</summary>
public sealed class ChannelReloader(ChannelRegistry registry, IStoredConfigurationChanges changes, TimeProvider time, ILogger<ChannelReloader> logger) : StoreReloader(StoredConfiguration.Channels, changes, time, logger)
{
    protected override Task ReloadAsync(CancellationToken cancellationToken) => registry.ReloadAsync(cancellationToken);
}
