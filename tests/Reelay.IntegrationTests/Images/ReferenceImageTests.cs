using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Images;

/// <summary>Reference images: downloaded by the engine through the SSRF guard, checked, and shaping the output.</summary>
public class ReferenceImageTests
{
    [Fact]
    public async Task Create_ReachableImage_CompletesShapedLikeTheImage()
    {
        var ct = TestContext.Current.CancellationToken;
        var png = await TestMedia.ImageAsync(640, 480);
        await using var images = await StaticServer.ServingAsync(new Dictionary<string, (byte[], string)> { ["/cat.png"] = (png, "image/png") }, ct);
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        var id = await client.CreateAsync(new { model = "grok-video-3", prompt = "小猫在吃鱼", aspect_ratio = "3:2", size = "720P", images = new[] { images.Url("/cat.png").ToString() }, duration = 2 }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(90), ct);

        Assert.True(task.GetProperty("status").GetString() == "completed", task.ToString());
        // 720P names the short side; the 4:3 image decides the shape.
        Assert.Equal(960, task.GetProperty("width").GetInt32());
        Assert.Equal(720, task.GetProperty("height").GetInt32());
    }

    [Theory]
    [InlineData("png", "image/png")]
    [InlineData("jpg", "image/jpeg")]
    public async Task Create_DataUriImage_CompletesWithShapeOfImage(string extension, string mediaType)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);
        var image = await TestMedia.ImageAsync(360, 640, extension);

        var id = await client.CreateAsync(new
        {
            model = "grok-video-3",
            prompt = "the picture comes alive",
            aspect_ratio = "3:2",
            size = "720P",
            images = new[] { $"data:{mediaType};base64,{Convert.ToBase64String(image)}" },
            duration = 1,
        }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(90), ct);

        Assert.Equal("completed", task.GetProperty("status").GetString());
        Assert.Equal(720, task.GetProperty("width").GetInt32());
        Assert.Equal(1280, task.GetProperty("height").GetInt32());
    }

    [Fact]
    public async Task Create_LoopbackImageWithoutPermission_FailsWithDownloadError()
    {
        var ct = TestContext.Current.CancellationToken;
        var png = await TestMedia.ImageAsync(64, 64);
        await using var images = await StaticServer.ServingAsync(new Dictionary<string, (byte[], string)> { ["/a.png"] = (png, "image/png") }, ct);
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["ALLOW_PRIVATE_NETWORKS"] = "" });
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        var task = await CreateAndWaitAsync(client, images.Url("/a.png").ToString(), ct);

        AssertFailed(task, "image_download_failed", "private, loopback");
        Assert.Empty(images.Requests);
    }

    [Theory]
    [InlineData("http://169.254.169.254/latest/meta-data/")]
    [InlineData("http://10.0.0.1/x.png")]
    [InlineData("http://[::1]/x.png")]
    [InlineData("http://localhost/x.png")]
    public async Task Create_PrivateOrMetadataAddress_FailsWithoutConnecting(string url)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["ALLOW_PRIVATE_NETWORKS"] = "" });
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        var started = DateTime.UtcNow;
        var task = await CreateAndWaitAsync(client, url, ct);

        AssertFailed(task, "image_download_failed", "private, loopback");
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Create_RedirectToDisallowedAddress_IsRefused()
    {
        var ct = TestContext.Current.CancellationToken;
        var png = await TestMedia.ImageAsync(64, 64);
        await using var hidden = await StaticServer.StartAsync(a => a.MapGet("/secret.png", () => Results.Bytes(png, "image/png")), "127.0.0.2", ct);
        await using var front = await StaticServer.StartAsync(a => a.MapGet("/go.png", () => Results.Redirect(hidden.Url("/secret.png").ToString())), cancellationToken: ct);
        // Only 127.0.0.1 is allowed: the redirect's target, 127.0.0.2, is still loopback and refused.
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["ALLOW_PRIVATE_NETWORKS"] = "127.0.0.1/32" });
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        var task = await CreateAndWaitAsync(client, front.Url("/go.png").ToString(), ct);

        AssertFailed(task, "image_download_failed", "127.0.0.2");
    }

    [Theory]
    [InlineData("file:///etc/passwd", "file")]
    [InlineData("gopher://{target}/x.png", "gopher")]
    [InlineData("ftp://{target}/x.png", "ftp")]
    [InlineData("ws://{target}/x.png", "ws")]
    [InlineData("wss://{target}/x.png", "wss")]
    public async Task Create_RedirectToNonHttpScheme_FailsWithoutFollowing(string location, string scheme)
    {
        var ct = TestContext.Current.CancellationToken;
        var png = await TestMedia.ImageAsync(64, 64);
        // The target speaks HTTP, so a redirect followed as plain HTTP would reach it and succeed.
        await using var target = await StaticServer.ServingAsync(new Dictionary<string, (byte[], string)> { ["/x.png"] = (png, "image/png") }, ct);
        var redirect = location.Replace("{target}", target.BaseUrl.Authority, StringComparison.Ordinal);
        await using var front = await StaticServer.StartAsync(a => a.MapGet("/go.png", () => Results.Redirect(redirect)), cancellationToken: ct);
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        var task = await CreateAndWaitAsync(client, front.Url("/go.png").ToString(), ct);

        AssertFailed(task, "image_download_failed",
            $"images[0] could not be downloaded from {front.Url("/go.png")}: it redirects to a {scheme}:// URL; only http and https are followed.");
        Assert.Equal(["/go.png"], front.Requests);
        Assert.Empty(target.Requests);
    }

    [Fact]
    public async Task Create_RelativeRedirect_FollowsAgainstTheCurrentUrl()
    {
        var ct = TestContext.Current.CancellationToken;
        var png = await TestMedia.ImageAsync(64, 48);
        await using var images = await StaticServer.StartAsync(a =>
        {
            a.MapGet("/a/go.png", () => Results.Redirect("../b/next.png"));
            a.MapGet("/b/next.png", () => Results.Redirect("/c/cat.png"));
            a.MapGet("/c/cat.png", () => Results.Bytes(png, "image/png"));
        }, cancellationToken: ct);
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        var task = await CreateAndWaitAsync(client, images.Url("/a/go.png").ToString(), ct);

        Assert.True(task.GetProperty("status").GetString() == "completed", task.ToString());
        Assert.Equal(["/a/go.png", "/b/next.png", "/c/cat.png"], images.Requests);
    }

    [Fact]
    public async Task Create_RedirectLoop_FailsNamingTheLimit()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var images = await StaticServer.StartAsync(a => a.MapGet("/loop.png", () => Results.Redirect("/loop.png")), cancellationToken: ct);
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        var task = await CreateAndWaitAsync(client, images.Url("/loop.png").ToString(), ct);

        AssertFailed(task, "image_download_failed", "it redirects more than 3 times");
        Assert.Equal(4, images.Requests.Count);
    }

    [Fact]
    public async Task Create_NotAnImage_FailsWithImageInvalid()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var images = await StaticServer.ServingAsync(new Dictionary<string, (byte[], string)>
        {
            ["/fake.png"] = ("<html>not an image</html>"u8.ToArray(), "image/png"),
        }, ct);
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        var task = await CreateAndWaitAsync(client, images.Url("/fake.png").ToString(), ct);

        AssertFailed(task, "image_invalid", "not a PNG, JPEG, WebP or GIF");
    }

    [Fact]
    public async Task Create_ImageAnswers404_FailsWithDownloadError()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var images = await StaticServer.StartAsync(_ => { }, cancellationToken: ct);
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        var task = await CreateAndWaitAsync(client, images.Url("/missing.png").ToString(), ct);

        AssertFailed(task, "image_download_failed", "404");
    }

    [Fact]
    public async Task Create_ImageServerHangs_FailsWithinTheTimeLimit()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var images = await StaticServer.StartAsync(a => a.MapGet("/slow.png", async (HttpContext http) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(30), http.RequestAborted);
            return Results.Ok();
        }), cancellationToken: ct);
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["Limits:ImageDownloadTimeout"] = "00:00:01" });
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        var task = await CreateAndWaitAsync(client, images.Url("/slow.png").ToString(), ct);

        AssertFailed(task, "image_download_failed", "did not arrive within 1 s");
    }

    [Fact]
    public async Task Create_ImageOverSizeLimit_FailsWithImageInvalid()
    {
        var ct = TestContext.Current.CancellationToken;
        var png = await TestMedia.ImageAsync(1024, 1024);
        await using var images = await StaticServer.ServingAsync(new Dictionary<string, (byte[], string)> { ["/big.png"] = (png, "image/png") }, ct);
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["Limits:MaxImageBytes"] = "1000" });
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        var task = await CreateAndWaitAsync(client, images.Url("/big.png").ToString(), ct);

        AssertFailed(task, "image_invalid", "1000");
    }

    private static async Task<System.Text.Json.JsonElement> CreateAndWaitAsync(HttpClient client, string imageUrl, CancellationToken ct)
    {
        var id = await client.CreateAsync(new { model = "reelay-preview", prompt = "a cat", images = new[] { imageUrl }, duration = 1 }, ct);
        return await client.WaitForEndAsync(id, TimeSpan.FromSeconds(60), ct);
    }

    private static void AssertFailed(System.Text.Json.JsonElement task, string code, string messagePart)
    {
        Assert.Equal("failed", task.GetProperty("status").GetString());
        var error = task.GetProperty("error");
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.Contains(messagePart, error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
