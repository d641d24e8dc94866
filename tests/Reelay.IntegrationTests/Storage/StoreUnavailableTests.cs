using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Storage;

/// <summary>
/// A database that cannot take writes — locked by another process past the busy timeout, or on a
/// full disk — refuses each write with 503 + Retry-After in bounded time, turns /readyz not-ready,
/// and stores nothing it refused; once it can write again, readiness and creates come back.
/// </summary>
public class StoreUnavailableTests
{
    private static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(1);

    /// <summary>Room for a loaded 2-core machine on top of the busy timeout; today's code took 30 s or never answered.</summary>
    private static readonly TimeSpan AnswerBound = BusyTimeout + TimeSpan.FromSeconds(3);

    private static Dictionary<string, string?> Settings(string probeInterval = "00:00:00.200") => new()
    {
        // No workers: the only writes are the test's own.
        ["Engine:Enabled"] = "false",
        // Unrendered creates pile up until the disk is full: admission must not refuse them first.
        ["Limits:MaxInFlightPerTestKey"] = "0",
        ["Limits:LocalAdmission"] = "false",
        ["Storage:BusyTimeout"] = "00:00:01",
        ["Storage:ProbeInterval"] = probeInterval,
    };

    [Fact]
    public async Task Create_DatabaseLockedElsewhere_EveryCreateAnsweredWithinBusyTimeoutAndNoneStoredUnacknowledged()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(Settings());
        using var client = await app.CreateClientWithKeyAsync("test", ct);
        var before = await client.CreateAsync(new { model = "grok-video-3", prompt = "stored before the lock" }, ct);

        Answer[] answers;
        string notReady;
        await using (await DatabaseWriteLock.TakeAsync(app.DatabasePath, ct))
        {
            var creates = Enumerable.Range(0, 40).Select(i => PostCreateAsync(client, $"while locked {i}", ct));
            answers = await Task.WhenAll(creates).WaitAsync(TimeSpan.FromSeconds(20), ct);
            notReady = await WaitForReadinessAsync(client, HttpStatusCode.ServiceUnavailable, ct);
        }

        Assert.All(answers, answer => Assert.True(answer.Took <= AnswerBound, $"a create took {answer.Took} (bound {AnswerBound}): {answer}"));
        Assert.All(answers, answer => Assert.True(answer.Status is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, answer.ToString()));
        Assert.Contains(answers, answer => answer.Status == HttpStatusCode.ServiceUnavailable);
        foreach (var refused in answers.Where(answer => answer.Status == HttpStatusCode.ServiceUnavailable))
        {
            AssertStoreUnavailable(refused, "busy");
        }

        Assert.StartsWith("store cannot write: the database is busy", notReady);

        // Checkpoint: every 200 is stored and readable, and nothing answered 503 is stored.
        var stored = answers.Where(answer => answer.Status == HttpStatusCode.OK).Select(answer => answer.Id!).ToList();
        foreach (var id in stored)
        {
            Assert.Equal(id, (await client.QueryAsync(id, ct)).GetProperty("id").GetString());
        }

        Assert.Equal(stored.Append(before).Order(StringComparer.Ordinal), (await StoredTaskIdsAsync(app, ct)).Order(StringComparer.Ordinal));

        // Readiness comes back without traffic (the probe write), then creates are stored again.
        Assert.Equal("ready", await WaitForReadinessAsync(client, HttpStatusCode.OK, ct));
        await client.CreateAsync(new { model = "grok-video-3", prompt = "stored after the lock" }, ct);
    }

    [Fact]
    public async Task CreateKey_DatabaseLockedElsewhere_Answers503WithRetryAfterWithinBusyTimeout()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(Settings());
        using var admin = app.AdminClient();

        Answer answer;
        await using (await DatabaseWriteLock.TakeAsync(app.DatabasePath, ct))
        {
            answer = await PostAsync(admin, "/admin/keys", new { name = "while locked", mode = "test" }, ct).WaitAsync(TimeSpan.FromSeconds(20), ct);
        }

        Assert.True(answer.Took <= AnswerBound, $"the key create took {answer.Took} (bound {AnswerBound}): {answer}");
        AssertStoreUnavailable(answer, "busy");
        Assert.Equal("ready", await WaitForReadinessAsync(admin, HttpStatusCode.OK, ct));
        await app.CreateKeyAsync(cancellationToken: ct);
    }

    [Fact]
    public async Task Create_DiskFull_Answers503AndNotReadyUntilSpaceIsFreed()
    {
        var ct = TestContext.Current.CancellationToken;
        using var disk = SmallDisk.TryMount(16 * 1024 * 1024, out var reason);
        if (disk is null)
        {
            Assert.Skip("No full disk to test against: " + reason);
        }

        // A probe that never comes: readiness may only change through the test's own creates.
        await using var app = ReelayApp.Start(Settings(probeInterval: "01:00:00"), Path.Combine(disk.Path, "data"));
        using var client = await app.CreateClientWithKeyAsync("test", ct);
        var before = await client.CreateAsync(new { model = "grok-video-3", prompt = "stored before the disk filled" }, ct);
        var filler = disk.Fill("filler");

        // Long prompts fill whatever room the WAL still had, so the store runs out within a few creates.
        var stored = new List<string> { before };
        Answer? refused = null;
        for (var i = 0; i < 2000 && refused is null; i++)
        {
            var answer = await PostCreateAsync(client, new string('x', 7000) + i, ct).WaitAsync(TimeSpan.FromSeconds(20), ct);
            Assert.True(answer.Took <= AnswerBound, $"a create took {answer.Took} (bound {AnswerBound}): {answer}");
            Assert.True(answer.Status is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, answer.ToString());
            if (answer.Status == HttpStatusCode.OK)
            {
                stored.Add(answer.Id!);
            }
            else
            {
                refused = answer;
            }
        }

        Assert.NotNull(refused);
        AssertStoreUnavailable(refused, "full");
        using (var notReady = await client.GetAsync("/readyz", ct))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
            Assert.StartsWith("store cannot write: the disk holding the database is full", await notReady.Content.ReadAsStringAsync(ct));
        }

        File.Delete(filler);
        stored.Add(await client.CreateAsync(new { model = "grok-video-3", prompt = "stored after space was freed" }, ct));
        Assert.Equal("ready", await client.GetStringAsync("/readyz", ct));
        Assert.Equal(stored.Order(StringComparer.Ordinal), (await StoredTaskIdsAsync(app, ct)).Order(StringComparer.Ordinal));
    }

    private static void AssertStoreUnavailable(Answer answer, string why)
    {
        Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.Status);
        Assert.Equal("1", answer.RetryAfter);
        using var body = JsonDocument.Parse(answer.Body);
        var error = body.RootElement.GetProperty("error");
        Assert.Equal("store_unavailable", error.GetProperty("code").GetString());
        Assert.Equal("service_unavailable_error", error.GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.Null, error.GetProperty("param").ValueKind);
        var message = error.GetProperty("message").GetString()!;
        Assert.Contains(why, message, StringComparison.Ordinal);
        Assert.EndsWith("Nothing was changed; retry after 1 seconds.", message, StringComparison.Ordinal);
    }

    private static Task<Answer> PostCreateAsync(HttpClient client, string prompt, CancellationToken cancellationToken) =>
        PostAsync(client, "/v1/video/create", new { model = "grok-video-3", prompt }, cancellationToken);

    private static async Task<Answer> PostAsync(HttpClient client, string path, object body, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var response = await client.PostAsJsonAsync(path, body, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        var took = clock.Elapsed;
        string? id = null;
        if (response.StatusCode == HttpStatusCode.OK)
        {
            using var json = JsonDocument.Parse(text);
            id = json.RootElement.GetProperty("id").GetString();
        }

        return new Answer(response.StatusCode, took, text, response.Headers.RetryAfter?.ToString(), id);
    }

    /// <summary>Polls /readyz until it answers <paramref name="status"/> (at most 15 s) and returns its text.</summary>
    private static async Task<string> WaitForReadinessAsync(HttpClient client, HttpStatusCode status, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            using var response = await client.GetAsync("/readyz", cancellationToken);
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (response.StatusCode == status)
            {
                return text;
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(15), $"/readyz still answers {(int)response.StatusCode} {text}, not {(int)status}");
            await Task.Delay(50, cancellationToken);
        }
    }

    private static async Task<List<string>> StoredTaskIdsAsync(ReelayApp app, CancellationToken cancellationToken)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = app.DatabasePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id FROM tasks";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var ids = new List<string>();
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    private sealed record Answer(HttpStatusCode Status, TimeSpan Took, string Body, string? RetryAfter, string? Id);
}
