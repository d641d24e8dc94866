using Reelay.Testing;

namespace Reelay.IntegrationTests.Hosting;

public class HostingTests
{
    [Fact]
    public async Task Health_AndReadiness_Answer200WithoutAKey()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = app.CreateClient();

        Assert.Equal("ok", await client.GetStringAsync("/healthz", ct));
        Assert.Equal("ready", await client.GetStringAsync("/readyz", ct));
    }
}
