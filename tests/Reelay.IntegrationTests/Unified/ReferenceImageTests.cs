using Reelay.Testing;

namespace Reelay.IntegrationTests.Unified;

public sealed class ReferenceImageTests
{
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
}
