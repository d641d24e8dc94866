using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace Reelay.IntegrationTests.Api.OpenAi;

/// <summary>Plain-HTTP helpers for the OpenAI surface, and the repository paths the SDK tests need.</summary>
internal static class OpenAiVideos
{
    /// <summary>A 64x36 PNG test pattern (ffmpeg testsrc): a 16:9 first frame.</summary>
    public static readonly byte[] Png = Convert.FromBase64String(
        "iVBORw0KGgoAAAANSUhEUgAAAEAAAAAkCAIAAAC2bqvFAAAACXBIWXMAAAABAAAAAQBPJcTWAAABL0lEQVR4nO3VLzAGQRiA8afRaDQajUaj0Wg0Go1Go9FoNBqNRqPRaDQajUZ7zI2Z7+a7b1f4zOwZtzvbbt4/v53d9yCyDG1UwjsSEQ2IRbQKVXZsxfoPd58M0Gn4LaBMlApQMTQb0JYoIaDt4LoGVO9iWkD59hoK6KycHvDdRiMBwcq1AIwTMuDPAiJ91gaIPYQMyIAMyIAMyIAMyIAMCPUfMdQFCHb/LwDFt0Ecx1lcxk3cx1O8xkd850Oe5EbO5EC2ZEXmZEKGpKeI78dRnMZFXMddPMZLvMfXotkXuZMLOZIdWZMFmZIR6bMXh3ES53EVt/EQz/EWn/GziH+TB7mSE9mTDVmSGRmTgQzIgMYDfphC5QyubwqVdbsYo+FECQFtB9d0QCtdMkD1BxpZX8BYOn3ekrzcAAAAAElFTkSuQmCC");

    public static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Reelay.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Reelay.slnx not found above " + AppContext.BaseDirectory);
    }

    public static string PathOf(string id) => "/v1/videos/" + Uri.EscapeDataString(id);

    /// <summary>POST /v1/videos with a JSON body; returns the Video object (asserting 200).</summary>
    public static async Task<JsonElement> CreateVideoAsync(this HttpClient client, object body, CancellationToken cancellationToken)
    {
        using var response = await client.PostAsJsonAsync("/v1/videos", body, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"create answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public static async Task<JsonElement> GetVideoAsync(this HttpClient client, string id, CancellationToken cancellationToken)
    {
        using var response = await client.GetAsync(PathOf(id), cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"get answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Reads the video until it is completed or failed; bounded.</summary>
    public static async Task<JsonElement> WaitForVideoAsync(this HttpClient client, string id, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (true)
        {
            var video = await client.GetVideoAsync(id, cancellationToken);
            if (video.GetProperty("status").GetString() is "completed" or "failed")
            {
                return video;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Video {id} did not finish: {video}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>The bytes Reelay stored for a task, read from the blob store (found through the unified query's file link).</summary>
    public static async Task<byte[]> StoredVideoBytesAsync(this HttpClient client, Testing.ReelayApp app, string id, CancellationToken cancellationToken)
    {
        using var response = await client.GetAsync("/v1/video/query?id=" + Uri.EscapeDataString(id), cancellationToken);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        var url = new Uri(json.RootElement.GetProperty("video_url").GetString()!);
        var key = url.AbsolutePath["/files/".Length..];
        var blobs = app.Services.GetRequiredService<Reelay.Blobs.IBlobStore>();
        await using var blob = await blobs.OpenReadAsync(key, cancellationToken);
        Assert.NotNull(blob);
        using var bytes = new MemoryStream();
        await blob.Content.CopyToAsync(bytes, cancellationToken);
        return bytes.ToArray();
    }

    /// <summary>The error envelope's body, asserting the status, that all four keys are there and that the top-level message repeats it.</summary>
    public static async Task<JsonElement> ErrorAsync(this HttpResponseMessage response, int status, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {text}");
        var root = JsonDocument.Parse(text).RootElement;
        var error = root.GetProperty("error").Clone();
        Assert.Equal(["code", "message", "param", "type"], error.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal(error.GetProperty("message").GetString(), root.GetProperty("message").GetString());
        return error;
    }
}
