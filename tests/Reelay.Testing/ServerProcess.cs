namespace Reelay.Testing;

/// <summary>
/// Reelay as a separate OS process (the built Reelay.Server.dll), so a test can kill it with
/// SIGKILL at any moment and start it again over the same data directory; bench/ measures it the
/// same way. Started with the kit's defaults (loopback allowed, a short engine idle delay, warnings
/// only), which <c>environment</c> overrides.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly Dictionary<string, string> _environment;
    private readonly string _serverDll;
    private readonly List<string> _logs = [];
    private ChildProcess? _process;

    /// <param name="serverDll">The Reelay.Server.dll to run; by default the one built beside the caller's own output.</param>
    public ServerProcess(string dataDir, string adminKey, IReadOnlyDictionary<string, string>? environment = null, string? serverDll = null)
    {
        DataDir = dataDir;
        AdminKey = adminKey;
        Port = ChildProcess.FreeLoopbackPort();
        _serverDll = serverDll ?? ServerDll();
        _environment = new Dictionary<string, string>
        {
            ["REELAY_DATA_DIR"] = dataDir,
            ["REELAY_ADMIN_KEY"] = adminKey,
            ["REELAY_URLS"] = $"http://127.0.0.1:{Port}",
            ["REELAY_ALLOW_PRIVATE_NETWORKS"] = "loopback",
            ["REELAY_Engine__IdleDelay"] = "00:00:00.200",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            _environment[key] = value;
        }
    }

    public string DataDir { get; }

    public string AdminKey { get; }

    public int Port { get; }

    /// <summary>The running server's resident memory (VmRSS from /proc), in bytes.</summary>
    public long ResidentBytes()
    {
        var process = _process ?? throw new InvalidOperationException("Not running.");
        var line = File.ReadLines($"/proc/{process.Id}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");

    /// <summary>Output of every run so far (the last lines of each), for assertion messages.</summary>
    public string Log => string.Join('\n', [.. _logs, _process?.Output ?? ""]);

    /// <summary>Starts the process and waits until /healthz answers.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _process = ChildProcess.Start("dotnet", [_serverDll], _environment);
        await _process.WaitHealthyAsync(BaseAddress, StartTimeout, cancellationToken);
    }

    /// <summary>SIGKILL: no shutdown code runs, exactly like a crash or an OOM kill.</summary>
    public async Task KillAsync()
    {
        if (_process is { } process)
        {
            await process.DisposeAsync();
            _logs.Add(process.Output);
            _process = null;
        }
    }

    /// <summary>SIGTERM, as a service manager stops it; returns the exit code once the process has ended.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        var process = _process ?? throw new InvalidOperationException("Not running.");
        var code = await process.TerminateAsync(timeout);
        await KillAsync();
        return code;
    }

    public HttpClient ClientFor(string key)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    /// <summary>Creates a client key through the admin API and returns its secret.</summary>
    public async Task<string> CreateKeyAsync(string mode = "test", string name = "test", CancellationToken cancellationToken = default)
    {
        using var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        return (await ClientKeys.CreateAsync(client, AdminKey, mode, name, cancellationToken)).Key;
    }

    /// <summary>Kills the process, then checks the books it left (<see cref="LedgerInvariants"/>) when the data directory is still there.</summary>
    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        LedgerInvariants.AssertHold(Path.Combine(DataDir, "reelay.db"));
    }

    /// <summary>The server's own build output (it carries appsettings.json), found beside the test's.</summary>
    public static string ServerDll()
    {
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = testOutput.Name;
        var bin = testOutput.Parent!.Parent!;
        var dll = Path.Combine(bin.FullName, "Reelay.Server", configuration, "Reelay.Server.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"Build the server first: {dll} is missing.");
    }
}
