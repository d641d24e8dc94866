using System.Net;
using Microsoft.Data.Sqlite;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Api.Unified;

/// <summary>Finished tasks are answered from memory; deletion through this instance is seen at once.</summary>
public sealed class QueryCacheTests
{
    private static readonly object ShortRender = new { model = "reelay-preview", prompt = "a lighthouse", aspect_ratio = "16:9", size = "480P", duration = 1 };

    private static async Task<(HttpStatusCode Status, string Body)> QueryRawAsync(HttpClient client, string id)
    {
        var ct = TestContext.Current.CancellationToken;
        using var response = await client.GetAsync("/v1/video/query?id=" + Uri.EscapeDataString(id), ct);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(ct));
    }

    [Fact]
    public async Task Query_FinishedTaskRowGoneFromTheStore_SameAnswerFromMemoryForItsOwnerOnly()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var owner = await app.CreateClientWithKeyAsync("test", ct);
        using var other = await app.CreateClientWithKeyAsync("test", ct);
        var id = await owner.CreateAsync(ShortRender, ct);
        Assert.Equal("completed", (await owner.WaitForEndAsync(id, TimeSpan.FromMinutes(2), ct)).GetProperty("status").GetString());
        var (_, first) = await QueryRawAsync(owner, id);

        // As another instance's DELETE would: the row goes, this instance is not told.
        await using (var connection = new SqliteConnection($"Data Source={app.DatabasePath};Pooling=False"))
        {
            await connection.OpenAsync(ct);
            await using var delete = connection.CreateCommand();
            delete.CommandText = "DELETE FROM tasks WHERE id = $id";
            delete.Parameters.AddWithValue("$id", id);
            Assert.Equal(1, await delete.ExecuteNonQueryAsync(ct));
        }

        var (status, again) = await QueryRawAsync(owner, id);
        var (otherStatus, _) = await QueryRawAsync(other, id);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(first, again);
        Assert.Contains("\"status\":\"completed\"", again, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, otherStatus);
    }

    [Fact]
    public async Task Query_FinishedTaskDeletedThroughThisInstance_Returns404AtOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);
        var id = await client.CreateAsync(ShortRender, ct);
        await client.WaitForEndAsync(id, TimeSpan.FromMinutes(2), ct);
        Assert.Equal(HttpStatusCode.OK, (await QueryRawAsync(client, id)).Status);

        using (var deleted = await client.DeleteAsync($"/v1/videos/{Uri.EscapeDataString(id)}", ct))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        var (status, body) = await QueryRawAsync(client, id);

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("No task with id", body, StringComparison.Ordinal);
    }
}
