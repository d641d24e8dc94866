using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Tasks;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Api.Unified;

/// <summary>Waiting without polling: <c>wait=N</c> on the query, <c>Prefer: wait</c> on create, event streams, and the poll hints.</summary>
public sealed class WaitingTests
{
    private static readonly object ShortRender = new { model = "reelay-preview", prompt = "a lighthouse", aspect_ratio = "16:9", size = "480P", duration = 1 };

    /// <summary>The engine off: a task stays pending until the test changes it.</summary>
    private static readonly Dictionary<string, string?> ApiOnly = new() { ["Engine:Enabled"] = "false", ["Waiting:HeartbeatInterval"] = "00:00:00.100" };

    /// <summary>A client that gives up well before a 60 s wait would end on its own: only a wake-up answers in time.</summary>
    private static HttpClient Impatient(ReelayApp app, HttpClient keyed)
    {
        var client = app.CreateClient();
        client.Timeout = TimeSpan.FromSeconds(20);
        client.DefaultRequestHeaders.Authorization = keyed.DefaultRequestHeaders.Authorization;
        return client;
    }

    [Fact]
    public async Task QueryWait_TaskCancelledMeanwhile_AnswersAtTheChange()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        using var client = await app.CreateClientWithKeyAsync("test", ct);
        using var impatient = Impatient(app, client);
        var id = await client.CreateAsync(ShortRender, ct);
        var changes = (InProcessTaskChanges)app.Services.GetRequiredService<ITaskChanges>();

        var poll = impatient.GetAsync($"/v1/video/query?id={Uri.EscapeDataString(id)}&wait=60", ct);
        await Waiting.UntilAsync(() => changes.WatchedTasks == 1, "the long-poll never started waiting", ct);
        using (await client.PostAsJsonAsync("/v1/video/cancel", new { id }, ct))
        {
        }

        using var answer = await poll;
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("cancelled", JsonDocument.Parse(await answer.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("status").GetString());
        // The wait is over, and so is its interest in the task.
        Assert.Equal(0, changes.WatchedTasks);
    }

    [Fact]
    public async Task QueryWait_RenderMakesProgress_AnswersWithTheNewState()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);
        using var impatient = Impatient(app, client);
        var id = await client.CreateAsync(ShortRender, ct);
        var first = await client.QueryAsync(id, ct);

        using var answer = await impatient.GetAsync($"/v1/video/query?id={Uri.EscapeDataString(id)}&wait=60", ct);
        var later = JsonDocument.Parse(await answer.Content.ReadAsStringAsync(ct)).RootElement;

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.True(
            later.GetProperty("status").GetString() != first.GetProperty("status").GetString()
            || later.GetProperty("progress").GetInt32() != first.GetProperty("progress").GetInt32(),
            $"answered without a change: {first} then {later}");
    }

    [Fact]
    public async Task QueryWait_NothingChanges_AnswersTheCurrentStateAfterTheWait()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        using var client = await app.CreateClientWithKeyAsync("test", ct);
        var id = await client.CreateAsync(ShortRender, ct);

        using var answer = await client.GetAsync($"/v1/video/query?id={Uri.EscapeDataString(id)}&wait=1", ct);

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("pending", JsonDocument.Parse(await answer.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("status").GetString());
        Assert.Equal("2", answer.Headers.GetValues("Retry-After").Single());
    }

    [Theory]
    [InlineData("61")]
    [InlineData("abc")]
    [InlineData("-1")]
    [InlineData("1.5")]
    public async Task QueryWait_BadValue_Returns400NamingTheRange(string wait)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        using var client = await app.CreateClientWithKeyAsync("test", ct);
        var id = await client.CreateAsync(ShortRender, ct);

        using var answer = await client.GetAsync($"/v1/video/query?id={Uri.EscapeDataString(id)}&wait={Uri.EscapeDataString(wait)}", ct);
        var error = JsonDocument.Parse(await answer.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("error");

        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
        Assert.Equal($"'wait' must be a whole number of seconds from 0 to 60, got '{wait}'.", error.GetProperty("message").GetString());
        Assert.Equal("wait", error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task PreferWait_BothCreateRoutes_AnswerTheFinishedTask()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);
        using var impatient = Impatient(app, client);

        using var unifiedRequest = new HttpRequestMessage(HttpMethod.Post, "/v1/video/create") { Content = JsonContent.Create(ShortRender) };
        unifiedRequest.Headers.Add("Prefer", "wait=60");
        using var unified = await impatient.SendAsync(unifiedRequest, ct);
        var unifiedBody = JsonDocument.Parse(await unified.Content.ReadAsStringAsync(ct)).RootElement;

        using var openAiRequest = new HttpRequestMessage(HttpMethod.Post, "/v1/videos") { Content = JsonContent.Create(new { model = "reelay-preview", prompt = "a lighthouse", size = "1280x720", seconds = "1" }) };
        openAiRequest.Headers.Add("Prefer", "respond-async, wait");
        using var openAi = await impatient.SendAsync(openAiRequest, ct);
        var openAiBody = JsonDocument.Parse(await openAi.Content.ReadAsStringAsync(ct)).RootElement;

        Assert.Equal(HttpStatusCode.OK, unified.StatusCode);
        Assert.Equal("completed", unifiedBody.GetProperty("status").GetString());
        Assert.StartsWith("http", unifiedBody.GetProperty("video_url").GetString(), StringComparison.Ordinal);
        Assert.Equal("wait=60", unified.Headers.GetValues("Preference-Applied").Single());
        Assert.Equal(HttpStatusCode.OK, openAi.StatusCode);
        Assert.Equal("completed", openAiBody.GetProperty("status").GetString());
        Assert.False(openAi.Headers.Contains("openai-poll-after-ms"));
    }

    [Theory]
    [InlineData("wait=abc")]
    [InlineData("wait=61")]
    [InlineData("wait=0")]
    public async Task PreferWait_BadValue_Returns400AndStoresNothing(string prefer)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/video/create") { Content = JsonContent.Create(ShortRender) };
        request.Headers.TryAddWithoutValidation("Prefer", prefer);
        using var answer = await client.SendAsync(request, ct);
        var error = JsonDocument.Parse(await answer.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("error");

        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
        Assert.Equal("Prefer", error.GetProperty("param").GetString());
        Assert.StartsWith("The Prefer header's 'wait' must be a whole number of seconds from 1 to 60", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        using var list = await client.GetAsync("/v1/videos", ct);
        Assert.Equal(0, JsonDocument.Parse(await list.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("data").GetArrayLength());
    }

    [Fact]
    public async Task PollHints_RunningTask_OnBothReads_FinishedTask_None()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        using var client = await app.CreateClientWithKeyAsync("test", ct);
        var id = await client.CreateAsync(ShortRender, ct);

        using var openAi = await client.GetAsync($"/v1/videos/{Uri.EscapeDataString(id)}", ct);
        using var unified = await client.GetAsync($"/v1/video/query?id={Uri.EscapeDataString(id)}", ct);
        Assert.Equal("2000", openAi.Headers.GetValues("openai-poll-after-ms").Single());
        Assert.Equal("2", unified.Headers.GetValues("Retry-After").Single());

        using (await client.PostAsJsonAsync("/v1/video/cancel", new { id }, ct))
        {
        }

        using var openAiDone = await client.GetAsync($"/v1/videos/{Uri.EscapeDataString(id)}", ct);
        using var unifiedDone = await client.GetAsync($"/v1/video/query?id={Uri.EscapeDataString(id)}", ct);
        Assert.False(openAiDone.Headers.Contains("openai-poll-after-ms"));
        Assert.False(unifiedDone.Headers.Contains("Retry-After"));
    }

    [Fact]
    public async Task Events_RenderToTheEnd_StreamsEachChangeInOrderThenEnds()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);
        var id = await client.CreateAsync(ShortRender, ct);

        var events = await ReadStreamAsync(client, $"/v1/video/events?id={Uri.EscapeDataString(id)}", null, ct);

        Assert.NotEmpty(events);
        Assert.Equal(events.Select(e => e.Id).Order(), events.Select(e => e.Id));
        Assert.Equal(events.Count, events.Select(e => e.Id).Distinct().Count());
        Assert.Equal("completed", events[^1].Data.GetProperty("status").GetString());
        Assert.All(events[..^1], e => Assert.NotEqual("completed", e.Data.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task Events_LastEventId_ResumesWithWhatIsNewerAndEndsWith204OnceTheEndWasSeen()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);
        var id = await client.CreateAsync(ShortRender, ct);
        var all = await ReadStreamAsync(client, $"/v1/videos/{Uri.EscapeDataString(id)}/events", null, ct);

        // Reconnecting after an early event: the current state, which is the end, and the stream closes.
        var resumed = await ReadStreamAsync(client, $"/v1/videos/{Uri.EscapeDataString(id)}/events", all[0].Id.ToString(System.Globalization.CultureInfo.InvariantCulture), ct);
        Assert.Equal([all[^1].Id], resumed.Select(e => e.Id));
        Assert.Equal("completed", resumed[0].Data.GetProperty("status").GetString());
        Assert.Equal("video", resumed[0].Data.GetProperty("object").GetString());

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/video/events?id={Uri.EscapeDataString(id)}");
        request.Headers.Add("Last-Event-ID", all[^1].Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var seen = await client.SendAsync(request, ct);
        Assert.Equal(HttpStatusCode.NoContent, seen.StatusCode);
    }

    [Fact]
    public async Task Events_QuietTask_SendsHeartbeatsThenTheCancelAndEnds()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        using var client = await app.CreateClientWithKeyAsync("test", ct);
        var id = await client.CreateAsync(ShortRender, ct);

        using var response = await client.GetAsync($"/v1/video/events?id={Uri.EscapeDataString(id)}", HttpCompletionOption.ResponseHeadersRead, ct);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        Assert.StartsWith("id: 1000", await reader.ReadLineAsync(ct), StringComparison.Ordinal);
        Assert.Contains("\"status\":\"pending\"", await reader.ReadLineAsync(ct), StringComparison.Ordinal);
        Assert.Equal("", await reader.ReadLineAsync(ct));
        Assert.Equal(": keep-alive", await reader.ReadLineAsync(ct));

        using (await client.PostAsJsonAsync("/v1/video/cancel", new { id }, ct))
        {
        }

        var rest = await reader.ReadToEndAsync(ct);
        Assert.Contains("\"status\":\"cancelled\"", rest, StringComparison.Ordinal);
        Assert.EndsWith("\n\n", rest, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Events_AnotherKeysTaskOrBadLastEventId_Returns4xx()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(ApiOnly);
        using var owner = await app.CreateClientWithKeyAsync("test", ct);
        using var stranger = await app.CreateClientWithKeyAsync("test", ct);
        var id = await owner.CreateAsync(ShortRender, ct);

        using var unified = await stranger.GetAsync($"/v1/video/events?id={Uri.EscapeDataString(id)}", ct);
        using var openAi = await stranger.GetAsync($"/v1/videos/{Uri.EscapeDataString(id)}/events", ct);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/video/events?id={Uri.EscapeDataString(id)}");
        request.Headers.Add("Last-Event-ID", "yesterday");
        using var badId = await owner.SendAsync(request, ct);

        Assert.Equal(HttpStatusCode.NotFound, unified.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, openAi.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badId.StatusCode);
        Assert.Contains("'Last-Event-ID' must be the id of an event this stream sent", await badId.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
    }

    /// <summary>Reads an event stream to its end: each event's id and data.</summary>
    private static async Task<List<(long Id, JsonElement Data)>> ReadStreamAsync(HttpClient client, string path, string? lastEventId, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        var events = new List<(long, JsonElement)>();
        long? id = null;
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = long.Parse(line[4..], System.Globalization.CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                events.Add((id!.Value, JsonDocument.Parse(line[6..]).RootElement.Clone()));
            }
        }

        return events;
    }
}

/// <summary>Waiting on a task or a condition in tests, with a deadline that fails the test.</summary>
internal static class Waiting
{
    /// <summary>Long-polls (wait=10) until the task has the status.</summary>
    public static async Task UntilStatusAsync(HttpClient client, string id, string status, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            using var response = await client.GetAsync($"/v1/video/query?id={Uri.EscapeDataString(id)}&wait=10", ct);
            var now = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("status").GetString();
            if (now == status)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"task {id} is still {now}, never {status}");
        }
    }

    /// <summary>Checks a condition until it holds (each check a few ms apart), or fails with <paramref name="failure"/> after 30 s.</summary>
    public static Task UntilAsync(Func<bool> condition, string failure, CancellationToken ct) =>
        UntilAsync(() => Task.FromResult(condition()), failure, ct);

    /// <summary>Checks a condition that needs a call (a query, a read) until it holds, or fails with <paramref name="failure"/> after 30 s.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string failure, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(20, ct);
        }
    }
}
