using System.Text.Json;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Api.OpenAi;

/// <summary>The official openai npm package, unchanged, against a real Reelay (tests/sdk-js/videos.test.mjs).</summary>
public class OpenAiNodeSdkTests
{
    [Fact]
    public async Task NodeSdk_VideosLifecycleAgainstReelay_AllNodeTestsPass()
    {
        var ct = TestContext.Current.CancellationToken;
        var project = Path.Combine(OpenAiVideos.RepositoryRoot(), "tests", "sdk-js");
        Assert.True(
            File.Exists(Path.Combine(project, "node_modules", "openai", "package.json")),
            $"The openai npm package is not installed in {project}: run `npm ci --prefix tests/sdk-js` (scripts/test does this).");

        await using var app = ReelayApp.Start();
        var key = await app.CreateKeyAsync("test", cancellationToken: ct);
        var output = Directory.CreateTempSubdirectory("reelay-sdk-js-");
        try
        {
            var (exitCode, log) = await RunNodeTestsAsync(project, new()
            {
                ["REELAY_BASE_URL"] = app.BaseAddress.ToString(),
                ["REELAY_KEY"] = key,
                ["REELAY_OUT_DIR"] = output.FullName,
            }, ct);
            Assert.True(exitCode == 0, $"node --test exited with {exitCode}:\n{log}");

            // The bytes the SDK downloaded are the MP4 Reelay stored.
            using var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output.FullName, "download.json"), ct));
            var id = manifest.RootElement.GetProperty("id").GetString()!;
            using var client = app.ClientFor(key);
            var stored = await client.StoredVideoBytesAsync(app, id, ct);
            Assert.Equal(stored, await File.ReadAllBytesAsync(Path.Combine(output.FullName, "download.mp4"), ct));
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }

    private static async Task<(int ExitCode, string Log)> RunNodeTestsAsync(string project, Dictionary<string, string> environment, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(4));
        try
        {
            var result = await ChildProcess.RunAsync("node", ["--test", "--test-reporter=spec"], timeout.Token, environment, project);
            return (result.ExitCode, result.Output);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (-1, "(killed: node --test ran longer than 4 minutes)");
        }
    }
}
