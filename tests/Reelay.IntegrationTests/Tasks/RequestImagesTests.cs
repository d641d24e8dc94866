using Microsoft.Data.Sqlite;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Tasks;

/// <summary>Inline reference images live in the blob store, not in the task row, and go once the upstream has the job.</summary>
public class RequestImagesTests
{
    [Fact]
    public async Task Create_DataUriImages_RowKeepsOnlyBlobReferences()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["Engine:Enabled"] = "false" });
        using var client = await app.CreateClientWithKeyAsync("test", ct);
        var png = await TestMedia.ImageAsync(320, 240);
        var dataUri = "data:image/png;base64," + Convert.ToBase64String(png);

        var id = await client.CreateAsync(new { model = "reelay-preview", prompt = "two frames", images = new[] { dataUri, "https://example.com/a.png", dataUri } }, ct);

        var imagesJson = await ReadImagesJsonAsync(app, id, ct);
        Assert.DoesNotContain("data:", imagesJson, StringComparison.Ordinal);
        Assert.Contains("\"https://example.com/a.png\"", imagesJson, StringComparison.Ordinal);
        var stored = Directory.GetFiles(Path.Combine(app.DataDir, "files", "requests"));
        Assert.Equal(2, stored.Length);
        Assert.All(stored, path => Assert.Equal(png, File.ReadAllBytes(path)));
        Assert.True(imagesJson.Length < 200, $"the row's images column is {imagesJson.Length} characters: {imagesJson}");
    }

    [Fact]
    public async Task Render_DataUriImage_UsesItAndDeletesTheStoredCopy()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync("test", ct);
        var dataUri = "data:image/png;base64," + Convert.ToBase64String(await TestMedia.ImageAsync(300, 400));

        var id = await client.CreateAsync(new { model = "reelay-preview", prompt = "portrait", size = "480P", duration = 1, images = new[] { dataUri } }, ct);
        var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(90), ct);

        Assert.Equal("completed", task.GetProperty("status").GetString());
        // The shape follows the image (3:4 at 480P), so the stored bytes reached the renderer.
        Assert.Equal(480, task.GetProperty("width").GetInt32());
        Assert.Equal(640, task.GetProperty("height").GetInt32());
        Assert.Empty(Directory.GetFiles(Path.Combine(app.DataDir, "files", "requests")));
    }

    [Fact]
    public async Task Create_FourRequestsOfEightLargeDataUris_DatabaseStaysSmall()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["Engine:Enabled"] = "false" });
        using var client = await app.CreateClientWithKeyAsync("test", ct);
        // About 4 MB of incompressible PNG each: eight of them make a 43 MB body, inside the 48 MiB limit.
        var large = await TestMedia.ImageAsync(1680, 1680, "png", "-vf", "geq=r='random(1)*255':g='random(2)*255':b='random(3)*255'");
        Assert.InRange(large.Length, 3_300_000, 4_700_000);
        var images = Enumerable.Repeat("data:image/png;base64," + Convert.ToBase64String(large), 8).ToArray();

        for (var i = 0; i < 4; i++)
        {
            await client.CreateAsync(new { model = "reelay-preview", prompt = $"large request {i}", images }, ct);
        }

        var database = new FileInfo(app.DatabasePath).Length + (File.Exists(app.DatabasePath + "-wal") ? new FileInfo(app.DatabasePath + "-wal").Length : 0);
        Assert.True(database < 100L * 1024 * 1024, $"database + WAL are {database:N0} bytes after four requests of 8 × {large.Length:N0} bytes");
        Assert.Equal(32, Directory.GetFiles(Path.Combine(app.DataDir, "files", "requests")).Length);
    }

    [Fact]
    public async Task Render_FourRequestsOfEightLargeDataUris_DatabaseAndMemoryStaySmallAfterwards()
    {
        var ct = TestContext.Current.CancellationToken;
        var dataDir = Path.Combine(Path.GetTempPath(), "reelay-large-images-" + Guid.NewGuid().ToString("N"));
        // A process of its own, so its resident memory is the server's alone.
        await using var server = new ServerProcess(dataDir, "sk-admin-large-" + Guid.NewGuid().ToString("N"));
        await server.StartAsync(ct);
        var idle = server.ResidentBytes();
        using var client = server.ClientFor(await server.CreateKeyAsync(cancellationToken: ct));
        var large = await TestMedia.ImageAsync(1680, 1680, "png", "-vf", "geq=r='random(1)*255':g='random(2)*255':b='random(3)*255'");
        var images = Enumerable.Repeat("data:image/png;base64," + Convert.ToBase64String(large), 8).ToArray();

        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add(await client.CreateAsync(new { model = "reelay-preview", prompt = $"large request {i}", size = "480P", duration = 1, images }, ct));
        }

        foreach (var id in ids)
        {
            var task = await client.WaitForEndAsync(id, TimeSpan.FromSeconds(180), ct);
            Assert.Equal("completed", task.GetProperty("status").GetString());
        }

        // After they finish: the figures the hardening issue set (database + WAL < 100 MB, RSS < 800 MB).
        var database = Path.Combine(dataDir, "reelay.db");
        var databaseBytes = new FileInfo(database).Length + (File.Exists(database + "-wal") ? new FileInfo(database + "-wal").Length : 0);
        var resident = server.ResidentBytes();
        TestContext.Current.TestOutputHelper?.WriteLine($"4 × 8 × {large.Length:N0} B images: database + WAL {databaseBytes:N0} B, RSS {resident:N0} B (idle {idle:N0} B)");
        Assert.True(databaseBytes < 100L * 1024 * 1024, $"database + WAL are {databaseBytes:N0} bytes after the renders");
        Assert.True(resident < 800L * 1024 * 1024, $"the server holds {resident:N0} bytes resident after the renders (idle: {idle:N0})");
        Assert.Empty(Directory.GetFiles(Path.Combine(dataDir, "files", "requests")));

        await server.KillAsync();
        Directory.Delete(dataDir, recursive: true);
    }

    private static async Task<string> ReadImagesJsonAsync(ReelayApp app, string id, CancellationToken ct)
    {
        await using var connection = new SqliteConnection($"Data Source={app.DatabasePath};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT images_json FROM tasks WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        return (string)(await command.ExecuteScalarAsync(ct))!;
    }
}
