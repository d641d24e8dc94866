using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Storage;

/// <summary>
/// Reelay booted on PostgreSQL (<c>Storage:Provider=postgres</c>) over real sockets: a task goes from create to
/// a stored video with the books right, two instances starting together on one empty database both come up on
/// one schema, and a database that goes away turns requests into 503 with <c>Retry-After</c> until it is back.
/// </summary>
public sealed class PostgresStorageTests
{
    private static Dictionary<string, string?> Settings(string connectionString, IReadOnlyDictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "postgres",
            ["Storage:Postgres:ConnectionString"] = connectionString,
        };
        foreach (var (key, value) in more ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return settings;
    }

    [Fact]
    public async Task Create_TestModeOnPostgres_TaskCompletesWithAPlayableVideoAndTheBooksHold()
    {
        var ct = TestContext.Current.CancellationToken;
        var server = await PostgresServer.SharedAsync();
        var database = await server.CreateDatabaseAsync(ct);
        // Disposing the app checks the ledger invariants on this database.
        await using var app = ReelayApp.Start(Settings(database));
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        var id = await client.CreateAsync(new { model = "grok-video-3", prompt = "a lighthouse at dusk", aspect_ratio = "16:9", size = "720P", duration = 2 }, ct);
        var done = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(120), ct);

        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal((1280, 720), (done.GetProperty("width").GetInt32(), done.GetProperty("height").GetInt32()));
        using var video = await client.GetAsync(done.GetProperty("video_url").GetString(), ct);
        Assert.Equal(HttpStatusCode.OK, video.StatusCode);
        Assert.Equal("video/mp4", video.Content.Headers.ContentType?.MediaType);
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(ct);
        await using var stored = new NpgsqlCommand("SELECT stage FROM tasks WHERE id = @id", connection) { Parameters = { new("id", id) } };
        Assert.Equal("completed", await stored.ExecuteScalarAsync(ct));
    }

    [Fact]
    public async Task Start_TwoInstancesOnOneEmptyDatabaseAtOnce_BothServeOneSchemaAndShareTheKeys()
    {
        var ct = TestContext.Current.CancellationToken;
        var server = await PostgresServer.SharedAsync();
        var database = await server.CreateDatabaseAsync(ct);

        var starting = new[] { Task.Run(() => ReelayApp.Start(Settings(database)), ct), Task.Run(() => ReelayApp.Start(Settings(database)), ct) };
        await using var first = await starting[0];
        await using var second = await starting[1];

        using var firstClient = first.CreateClient();
        using var secondClient = second.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await firstClient.GetAsync("/readyz", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await secondClient.GetAsync("/readyz", ct)).StatusCode);
        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync(ct);
            await using var versions = new NpgsqlCommand("SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_version", connection);
            await using var reader = await versions.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            Assert.Equal(reader.GetInt64(0), reader.GetInt64(1));
            Assert.True(reader.GetInt64(0) >= 1);
        }

        // One store behind both: a key made through one instance authenticates on the other, and so does its task.
        var key = await first.CreateKeyAsync("test", cancellationToken: ct);
        using var viaSecond = second.ClientFor(key);
        var id = await viaSecond.CreateAsync(new { model = "grok-video-3", prompt = "made on the second instance", duration = 2 }, ct);
        using var viaFirst = first.ClientFor(key);
        Assert.Equal(id, (await viaFirst.QueryAsync(id, ct)).GetProperty("id").GetString());
        await viaFirst.WaitForEndAsync(id, TimeSpan.FromSeconds(120), ct);
    }

    [Fact]
    public async Task Create_PostgresStopped_Answers503WithRetryAfterThenWorksOnceItIsBack()
    {
        var ct = TestContext.Current.CancellationToken;
        // A server of its own: this test stops it.
        await using var server = await PostgresServer.StartAsync(ct);
        var database = await server.CreateDatabaseAsync(ct);
        await using var app = ReelayApp.Start(Settings(database, new Dictionary<string, string?> { ["Engine:Enabled"] = "false", ["Limits:MaxInFlightPerTestKey"] = "0" }));
        using var client = await app.CreateClientWithKeyAsync("test", ct);
        await client.CreateAsync(new { model = "grok-video-3", prompt = "stored before the outage" }, ct);

        await server.StopAsync(ct);
        using var refused = await client.PostAsJsonAsync("/v1/video/create", new { model = "grok-video-3", prompt = "during the outage" }, ct);
        var body = await refused.Content.ReadAsStringAsync(ct);
        using var notReady = await client.GetAsync("/readyz", ct);
        await server.StartAgainAsync(ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("2", refused.Headers.GetValues("Retry-After").Single());
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal(("store_unavailable", "service_unavailable_error"), (error.GetProperty("code").GetString(), error.GetProperty("type").GetString()));
        Assert.Contains("PostgreSQL server cannot be reached", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);

        // Back: the pool drops its broken connections and the next create is stored.
        var after = await client.CreateAsync(new { model = "grok-video-3", prompt = "stored after the outage" }, ct);
        Assert.Equal(after, (await client.QueryAsync(after, ct)).GetProperty("id").GetString());
    }
}
