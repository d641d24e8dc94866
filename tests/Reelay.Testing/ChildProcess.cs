using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Reelay.Testing;

/// <summary>What a finished one-shot process printed.</summary>
public sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>Both streams, for assertion and exception messages.</summary>
    public string Output => StandardOutput + StandardError;
}

/// <summary>
/// The one way tests and bench/ run other programs: one-shot tools (ffmpeg, ffprobe, node, mount)
/// with <see cref="RunAsync"/>, and long-running servers (Reelay itself, the bench baseline) with
/// <see cref="Start"/>, killed with their children on dispose. A started process keeps the last
/// lines of its output to explain a failed start or a failed assertion.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private const int KeptLines = 400;

    private readonly Process _process;
    private readonly Queue<string> _output = new();
    private readonly List<(Func<string, bool> Matches, TaskCompletionSource<string> Seen)> _awaited = [];

    private ChildProcess(Process process) => _process = process;

    public bool HasExited => _process.HasExited;

    /// <summary>The operating system's id of the process.</summary>
    public int Id => _process.Id;

    public int ExitCode => _process.ExitCode;

    /// <summary>The last lines the process wrote to stdout and stderr.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    /// <summary>A loopback port that was free a moment ago, for a child server to bind.</summary>
    public static int FreeLoopbackPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>Runs a program to its end and returns what it printed; killed (with its children) on cancellation.</summary>
    public static async Task<ProcessResult> RunAsync(
        string program,
        IEnumerable<string> arguments,
        CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null)
    {
        using var process = Process.Start(StartInfo(program, arguments, environment, workingDirectory))
            ?? throw new InvalidOperationException($"{program} did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            throw;
        }

        return new ProcessResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts a long-running program; its output is kept as it comes.</summary>
    public static ChildProcess Start(
        string program,
        IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null)
    {
        var process = Process.Start(StartInfo(program, arguments, environment, workingDirectory))
            ?? throw new InvalidOperationException($"{program} did not start.");
        var child = new ChildProcess(process);
        process.OutputDataReceived += (_, e) => child.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => child.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Waits until <c>GET /healthz</c> on <paramref name="baseAddress"/> answers 200; fails if the process exits first.</summary>
    public async Task WaitHealthyAsync(Uri baseAddress, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The server exited with code {_process.ExitCode} before it answered /healthz:\n{Output}");
            }

            try
            {
                using var health = await client.GetAsync(new Uri("/healthz", UriKind.Relative), cancellationToken);
                if (health.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Listening but not answering yet (the 2 s client timeout).
            }

            if (Stopwatch.GetElapsedTime(started) > timeout)
            {
                throw new TimeoutException($"{baseAddress} did not answer /healthz within {timeout.TotalSeconds:0} s:\n{Output}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>
    /// The first line of output (kept so far, or still to come) that <paramref name="matches"/>, such as a
    /// server announcing the port it bound; fails when the process exits first or <paramref name="timeout"/> passes.
    /// </summary>
    public async Task<string> WaitForOutputAsync(Func<string, bool> matches, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_output)
        {
            if (_output.FirstOrDefault(matches) is { } already)
            {
                return already;
            }

            _awaited.Add((matches, seen));
        }

        try
        {
            var first = await Task.WhenAny(seen.Task, _process.WaitForExitAsync(cancellationToken)).WaitAsync(timeout, cancellationToken);
            return first == seen.Task
                ? await seen.Task
                : throw new InvalidOperationException($"The process exited with code {_process.ExitCode} before the awaited output:\n{Output}");
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"No awaited output within {timeout.TotalSeconds:0} s:\n{Output}");
        }
        finally
        {
            lock (_output)
            {
                _awaited.RemoveAll(a => a.Seen == seen);
            }
        }
    }

    /// <summary>SIGKILL to the process and its children: no shutdown code runs, exactly like a crash or an OOM kill.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync(CancellationToken.None);
    }

    /// <summary>SIGTERM, as a service manager stops a program; returns the exit code once it has ended.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        var kill = await RunAsync("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)], CancellationToken.None);
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -TERM {_process.Id} failed ({kill.ExitCode}): {kill.Output}");
        }

        using var wait = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(wait.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }

    private static ProcessStartInfo StartInfo(
        string program, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment, string? workingDirectory)
    {
        var start = new ProcessStartInfo(program, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (workingDirectory is not null)
        {
            start.WorkingDirectory = workingDirectory;
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        return start;
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Enqueue(line);
            if (_output.Count > KeptLines)
            {
                _output.Dequeue();
            }

            foreach (var awaited in _awaited.Where(a => a.Matches(line)).ToList())
            {
                _awaited.Remove(awaited);
                awaited.Seen.TrySetResult(line);
            }
        }
    }
}
