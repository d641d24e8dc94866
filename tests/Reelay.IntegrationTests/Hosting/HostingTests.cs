using System.Net;
using System.Text.Json;
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

    [Fact]
    public async Task OpenApi_Document_DescribesBothSurfaces()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = app.CreateClient();

        using var response = await client.GetAsync("/openapi/v1.json", ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        var paths = document.RootElement.GetProperty("paths");
        foreach (var path in (string[])["/v1/video/create", "/v1/video/query", "/v1/videos", "/v1/videos/{id}", "/v1/models", "/admin/keys", "/admin/channels"])
        {
            Assert.True(paths.TryGetProperty(path, out _), $"{path} is missing from the OpenAPI document");
        }
    }
}
