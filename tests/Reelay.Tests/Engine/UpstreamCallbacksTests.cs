using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Reelay.Blobs;
using Reelay.Channels;
using Reelay.Engine;
using Reelay.Providers;

namespace Reelay.Tests.Engine;

public sealed class UpstreamCallbacksTests
{
    [Fact]
    public void TryRead_IssuedToken_GivesTaskAndChannelBack()
    {
        using var callbacks = New("key-1");

        var url = callbacks.UrlFor(Route("ark-main"), "seedance-1.0-pro:9b1f");

        Assert.StartsWith("https://reelay.example.com/hooks/callbacks/seedance/", url.AbsoluteUri, StringComparison.Ordinal);
        Assert.True(callbacks.TryRead(url.Segments[^1], out var task, out var channel));
        Assert.Equal(("seedance-1.0-pro:9b1f", "ark-main"), (task, channel));
    }

    [Theory]
    [InlineData("")]
    [InlineData("no-dot")]
    [InlineData("c2VlZA.AAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("!!!.???")]
    public void TryRead_TokenReelayDidNotIssue_IsRefused(string token)
    {
        using var callbacks = New("key-1");

        Assert.False(callbacks.TryRead(token, out _, out _));
    }

    [Fact]
    public void TryRead_TokenOfAnotherKeyOrAltered_IsRefused()
    {
        using var mine = New("key-1");
        using var theirs = New("key-2");
        var token = theirs.UrlFor(Route("ark-main"), "task-1").Segments[^1];
        var own = mine.UrlFor(Route("ark-main"), "task-1").Segments[^1];
        // Another task id under the same MAC: the payload is what is signed.
        var swapped = mine.UrlFor(Route("ark-main"), "task-2").Segments[^1].Split('.')[0] + "." + own.Split('.')[1];

        Assert.False(mine.TryRead(token, out _, out _));
        Assert.False(mine.TryRead(swapped, out _, out _));
        Assert.True(mine.TryRead(own, out _, out _));
    }

    private static UpstreamCallbacks New(string signingKey) =>
        new(Options.Create(new FileLinkOptions { SigningKey = signingKey }), Options.Create(new UpstreamCallbackOptions()));

    private static readonly IVideoProvider Seedance = new ServiceCollection().AddLogging().AddUpstreamProviders().BuildServiceProvider()
        .GetServices<IVideoProvider>().Single(p => p.Name == ProviderNames.Seedance);

    private static RouteCandidate Route(string channel)
    {
        var config = Channel.From(new ChannelOptions { Name = channel, Provider = ProviderNames.Seedance, PublicCallbackBaseUrl = "https://reelay.example.com/hooks" });
        return new RouteCandidate(config, Seedance, "doubao-seedance-1-0-pro-250528", null!);
    }
}
