using System.Net;
using System.Net.Http.Headers;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Dashboard;

/// <summary>The dashboard's files: served at / from the assembly, under a strict CSP, revalidated by ETag.</summary>
public sealed class DashboardAssetsTests
{
    [Fact]
    public async Task Shell_Get_IsHtmlUnderAStrictContentSecurityPolicy()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = app.CreateClient();

        using var response = await client.GetAsync("/", ct);
        var html = await response.Content.ReadAsStringAsync(ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var csp = Assert.Single(response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'self'", csp);
        Assert.Contains("script-src 'self';", csp);
        Assert.Contains("style-src 'self';", csp);
        Assert.DoesNotContain("unsafe-inline", csp);
        Assert.Contains("frame-ancestors 'none'", csp);
        // No inline script or style the policy would block, and nothing from another origin.
        Assert.Contains("<script type=\"module\" src=\"/dashboard/app.js\"></script>", html);
        Assert.DoesNotContain("<style", html);
        Assert.DoesNotContain(" style=", html);
        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);
    }

    [Fact]
    public async Task Module_SameETagSentBack_Answers304WithoutABody()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = app.CreateClient();

        using var first = await client.GetAsync("/dashboard/app.js", ct);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("text/javascript", first.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-cache", first.Headers.CacheControl?.ToString());
        var etag = first.Headers.ETag!;
        Assert.Contains("import", await first.Content.ReadAsStringAsync(ct));

        using var again = new HttpRequestMessage(HttpMethod.Get, "/dashboard/app.js");
        again.Headers.IfNoneMatch.Add(etag);
        using var revalidated = await client.SendAsync(again, ct);
        Assert.Equal(HttpStatusCode.NotModified, revalidated.StatusCode);
        Assert.Empty(await revalidated.Content.ReadAsByteArrayAsync(ct));

        using var other = new HttpRequestMessage(HttpMethod.Get, "/dashboard/app.js");
        other.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"stale\""));
        using var changed = await client.SendAsync(other, ct);
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
    }

    [Fact]
    public async Task Asset_Unknown_Is404InTheErrorEnvelope()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = app.CreateClient();

        using var response = await client.GetAsync("/dashboard/nothing.js", ct);
        var body = await response.Content.ReadAsStringAsync(ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("\"message\":\"The dashboard has no file 'nothing.js'.\"", body);
        Assert.Contains("\"code\":\"not_found\"", body);
    }
}
