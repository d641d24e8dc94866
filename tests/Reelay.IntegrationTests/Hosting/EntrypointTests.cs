using System.Net;
using System.Net.Http.Headers;
using Reelay.IntegrationTests.Api.OpenAi;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Hosting;

/// <summary>
/// The container's entrypoint (<c>deploy/entrypoint.sh</c>), run as the image runs it but on this
/// machine: it starts the real server with the settings it passes, reads secrets from files, hands
/// SIGTERM to the server, and stops with the reason on a setting that cannot work.
/// </summary>
public class EntrypointTests
{
    private static string Entrypoint => Path.Combine(OpenAiVideos.RepositoryRoot(), "deploy", "entrypoint.sh");

    [Fact]
    public async Task Entrypoint_StartsTheServerWithSecretsFromFiles_AndPassesSigtermToIt()
    {
        var ct = TestContext.Current.CancellationToken;
        using var scratch = new ScratchFolder();
        var adminKey = "sk-admin-" + Guid.NewGuid().ToString("N");
        var keyFile = Path.Combine(scratch.Path, "admin-key");
        await File.WriteAllTextAsync(keyFile, adminKey + "\n", ct);
        var port = ChildProcess.FreeLoopbackPort();
        var dataDir = Path.Combine(scratch.Path, "data");

        await using var server = ChildProcess.Start("sh", [Entrypoint], new Dictionary<string, string>
        {
            ["REELAY_SERVER_DLL"] = ServerProcess.ServerDll(),
            ["REELAY_URLS"] = $"http://127.0.0.1:{port}",
            ["REELAY_DATA_DIR"] = dataDir,
            ["REELAY_ADMIN_KEY_FILE"] = keyFile,
            ["REELAY_Engine__Enabled"] = "false",
            ["Logging__LogLevel__Default"] = "Warning",
        });
        var address = new Uri($"http://127.0.0.1:{port}");
        await server.WaitHealthyAsync(address, TimeSpan.FromSeconds(60), ct);

        // The key came from the file, its newline dropped; the data went where the variable said.
        using var admin = new HttpClient { BaseAddress = address };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        using var channels = await admin.GetAsync("/admin/channels", ct);
        Assert.Equal(HttpStatusCode.OK, channels.StatusCode);
        Assert.True(File.Exists(Path.Combine(dataDir, "reelay.db")), server.Output);
        Assert.False(File.Exists(Path.Combine(dataDir, ".writable")));

        // exec: the shell is gone, so the signal reaches the server, which drains and exits 0.
        Assert.Equal(0, await server.TerminateAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Entrypoint_ASettingAndItsFileBothSet_StopsNamingThem()
    {
        var ct = TestContext.Current.CancellationToken;
        using var scratch = new ScratchFolder();
        var file = Path.Combine(scratch.Path, "secret");
        await File.WriteAllTextAsync(file, "from-file", ct);

        var result = await RunAsync(new()
        {
            ["REELAY_DATA_DIR"] = Path.Combine(scratch.Path, "data"),
            ["REELAY_Blobs__S3__SecretKey"] = "inline",
            ["REELAY_Blobs__S3__SecretKey_FILE"] = file,
        }, ct);

        Assert.Equal(64, result.ExitCode);
        Assert.Contains("both REELAY_Blobs__S3__SecretKey and REELAY_Blobs__S3__SecretKey_FILE are set", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Entrypoint_AnUnreadableSecretFile_StopsNamingIt()
    {
        var ct = TestContext.Current.CancellationToken;
        using var scratch = new ScratchFolder();
        var missing = Path.Combine(scratch.Path, "no-such-file");

        var result = await RunAsync(new()
        {
            ["REELAY_DATA_DIR"] = Path.Combine(scratch.Path, "data"),
            ["REELAY_Storage__Postgres__ConnectionString_FILE"] = missing,
        }, ct);

        Assert.Equal(66, result.ExitCode);
        Assert.Contains($"REELAY_Storage__Postgres__ConnectionString_FILE names {missing}, which cannot be read", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Entrypoint_ADataDirectoryItCannotWrite_StopsSayingSo()
    {
        var ct = TestContext.Current.CancellationToken;
        using var scratch = new ScratchFolder();
        // Under a file, not a folder: unwritable for every user, root included.
        var blocker = Path.Combine(scratch.Path, "a-file");
        await File.WriteAllTextAsync(blocker, "", ct);

        var result = await RunAsync(new() { ["REELAY_DATA_DIR"] = Path.Combine(blocker, "data") }, ct);

        Assert.Equal(73, result.ExitCode);
        Assert.Contains("is not writable", result.StandardError, StringComparison.Ordinal);
    }

    /// <summary>Runs the entrypoint with a server that must never be reached (the checks stop it first).</summary>
    private static Task<ProcessResult> RunAsync(Dictionary<string, string> environment, CancellationToken ct)
    {
        environment["REELAY_SERVER_DLL"] = "/nonexistent/Reelay.Server.dll";
        return ChildProcess.RunAsync("sh", [Entrypoint], ct, environment);
    }

    private sealed class ScratchFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("reelay-entrypoint-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
