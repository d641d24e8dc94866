using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Reelay.Testing;

/// <summary>
/// Reelay as a separate OS process (the built Reelay.Server.dll), so a test can kill it with
/// SIGKILL at any moment and start it again over the same data directory.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Dictionary<string, string> _environment;
    private Process? _process;

    public ServerProcess(string dataDir, string adminKey, IReadOnlyDictionary<string, string>? environment = null)
    {
        DataDir = dataDir;
        AdminKey = adminKey;
        Port = FreePort();
        _environment = new Dictionary<string, string>(environment ?? new Dictionary<string, string>())
        {
            ["REELAY_DATA_DIR"] = dataDir,
            ["REELAY_ADMIN_KEY"] = adminKey,
            ["REELAY_URLS"] = $"http://127.0.0.1:{Port}",
            ["REELAY_ALLOW_PRIVATE_NETWORKS"] = "loopback",
            ["REELAY_Engine__IdleDelay"] = "00:00:00.200",
            ["Logging__LogLevel__Default"] = "Warning",
        };
    }

    public string DataDir { get; }

    public string AdminKey { get; }

    public int Port { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");

    /// <summary>Output of every run so far, for assertion messages.</summary>
    public string Log { get; private set; } = "";

    /// <summary>Starts the process and waits until /healthz answers.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("dotnet", [ServerDll()])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in _environment)
        {
            start.Environment[key] = value;
        }

        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        using var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"Reelay exited with {_process.ExitCode} on start:\n{Log}");
            }

            try
            {
                using var health = await client.GetAsync("/healthz", cancellationToken);
                if (health.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Reelay did not answer /healthz within 60 s:\n{Log}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>SIGKILL: no shutdown code runs, exactly like a crash or an OOM kill.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }

    /// <summary>SIGTERM, as a service manager stops it; returns the exit code once the process has ended.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        var process = _process ?? throw new InvalidOperationException("Not running.");
        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var wait = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(wait.Token);
        var code = process.ExitCode;
        process.Dispose();
        _process = null;
        return code;
    }

    public HttpClient ClientFor(string key)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    public async ValueTask DisposeAsync() => await KillAsync();

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_environment)
            {
                Log += line + "\n";
            }
        }
    }

    /// <summary>The server's own build output (it carries appsettings.json), found beside the test's.</summary>
    private static string ServerDll()
    {
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = testOutput.Name;
        var bin = testOutput.Parent!.Parent!;
        var dll = Path.Combine(bin.FullName, "Reelay.Server", configuration, "Reelay.Server.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"Build the server first: {dll} is missing.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
