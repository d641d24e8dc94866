using Reelay.Storage;

namespace Reelay.Channels;

/// <summary>Loads admin-created channels at start (before the workers' first dispatch) and picks up other instances' changes.</summary>
public sealed class ChannelReloader(ChannelRegistry registry, TimeProvider time, ILogger<ChannelReloader> logger) : StoreReloader("channels", time, logger)
{
    protected override Task ReloadAsync(CancellationToken cancellationToken) => registry.ReloadAsync(cancellationToken);
}
