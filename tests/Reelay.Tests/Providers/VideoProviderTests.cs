using Microsoft.Extensions.DependencyInjection;
using Reelay.Providers;

namespace Reelay.Tests.Providers;

/// <summary>The contract's defaults, as the remote adapters inherit them.</summary>
public sealed class VideoProviderTests
{
    [Theory]
    [InlineData(ProviderNames.Xai)]
    [InlineData(ProviderNames.Veo)]
    [InlineData(ProviderNames.Sora)]
    [InlineData(ProviderNames.Unified)]
    [InlineData(ProviderNames.Kling)]
    [InlineData(ProviderNames.MiniMax)]
    public async Task CancelAsync_UpstreamWithoutCancel_DeclaresItAndThrowsNamingTheProvider(string name)
    {
        await using var services = new ServiceCollection().AddLogging().AddUpstreamProviders().BuildServiceProvider();
        var provider = services.GetServices<IVideoProvider>().Single(p => p.Name == name);

        // The engine only calls CancelAsync when the capability says so; the default is there for anything else.
        Assert.False(provider.Capabilities.SupportsCancel);
        var error = await Assert.ThrowsAsync<NotSupportedException>(() =>
            provider.CancelAsync(new UpstreamJob("up-1", "task-1", "model"), new ChannelSettings("c", name, null, null), TestContext.Current.CancellationToken));
        Assert.Contains($"'{name}'", error.Message, StringComparison.Ordinal);
    }
}
