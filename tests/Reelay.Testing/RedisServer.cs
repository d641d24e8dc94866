using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Reelay.Testing;

/// <summary>
/// A real <c>redis-server</c> (Debian's, installed by <c>scripts/install-prerequisites --test</c>) on
/// 127.0.0.1 and a free port, with nothing persisted (<c>--save '' --appendonly no</c>) and a throwaway
/// working directory; killed on dispose. <see cref="StopAsync"/> and <see cref="RestartAsync"/> take it
/// down and bring it back on the same port, empty, as an outage does.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "reelay-redis-" + Guid.NewGuid().ToString("N"));
    private ChildProcess? _process;

    private RedisServer() => Port = ChildProcess.FreeLoopbackPort();

    public int Port { get; }

    /// <summary>The StackExchange.Redis configuration string for Reelay's <c>Redis:Configuration</c>.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>Starts a server and returns once it answers PING.</summary>
    public static async Task<RedisServer> StartAsync(CancellationToken cancellationToken)
    {
        var server = new RedisServer();
        Directory.CreateDirectory(server._directory);
        try
        {
            await server.RestartAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the server (again, after <see cref="StopAsync"/>) on its port and returns once it answers PING.</summary>
    public async Task RestartAsync(CancellationToken cancellationToken)
    {
        if (_process is not null)
        {
            throw new InvalidOperationException("redis-server is already running.");
        }

        try
        {
            _process = ChildProcess.Start("redis-server", [
                "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", _directory, "--daemonize", "no"]);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("redis-server was not found on PATH: run scripts/install-prerequisites --test.", e);
        }

        await WaitForPingAsync(_process, cancellationToken);
    }

    /// <summary>SIGKILL: Redis goes away mid-conversation, as when its host dies.</summary>
    public async Task StopAsync()
    {
        if (_process is { } process)
        {
            _process = null;
            await process.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>PING until PONG, each try a connection of its own; fails when the process exits or the deadline passes.</summary>
    private async Task WaitForPingAsync(ChildProcess process, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with code {process.ExitCode} before it answered PING:\n{process.Output}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(System.Net.IPAddress.Loopback, Port, cancellationToken);
                var stream = client.GetStream();
                await stream.WriteAsync("PING\r\n"u8.ToArray(), cancellationToken);
                var buffer = new byte[16];
                using var read = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                read.CancelAfter(TimeSpan.FromSeconds(2));
                var count = await stream.ReadAsync(buffer, read.Token);
                if (Encoding.ASCII.GetString(buffer, 0, count).StartsWith("+PONG", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (SocketException)
            {
                // Not listening yet.
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Listening but not answering yet (the 2 s read limit).
            }

            if (Stopwatch.GetElapsedTime(started) > StartTimeout)
            {
                throw new TimeoutException($"redis-server on port {Port} did not answer PING within {StartTimeout.TotalSeconds:0} s:\n{process.Output}");
            }

            await Task.Delay(50, cancellationToken);
        }
    }
}
