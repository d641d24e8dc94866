using System.Net.Http.Json;
using System.Text.Json;

namespace Reelay.Testing;

/// <summary>Unified-API helpers for tests: create a task, wait for it to end.</summary>
public static class VideoTasks
{
    /// <summary>Posts to /v1/video/create and returns the task id (asserting 200).</summary>
    public static async Task<string> CreateAsync(this HttpClient client, object body, CancellationToken cancellationToken)
    {
        using var response = await client.PostAsJsonAsync("/v1/video/create", body, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"create answered {(int)response.StatusCode}: {text}");
        }

        using var json = JsonDocument.Parse(text);
        return json.RootElement.GetProperty("id").GetString()!;
    }

    public static async Task<JsonElement> QueryAsync(this HttpClient client, string id, CancellationToken cancellationToken)
    {
        using var response = await client.GetAsync("/v1/video/query?id=" + Uri.EscapeDataString(id), cancellationToken);
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return json.RootElement.Clone();
    }

    /// <summary>Queries until the task is completed, failed or cancelled, or the timeout passes (then throws).</summary>
    public static async Task<JsonElement> WaitForEndAsync(this HttpClient client, string id, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var task = await client.QueryAsync(id, cancellationToken);
            var status = task.GetProperty("status").GetString();
            if (status is "completed" or "failed" or "cancelled")
            {
                return task;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Task {id} still '{status}' after {timeout}: {task}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }
}
