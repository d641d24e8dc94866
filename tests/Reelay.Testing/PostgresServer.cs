using System.Globalization;
using Npgsql;

namespace Reelay.Testing;

/// <summary>
/// A real PostgreSQL server for the test run: Debian's binaries (<c>/usr/lib/postgresql/*/bin</c>, installed by
/// <c>scripts/install-prerequisites --test</c>) on 127.0.0.1 at a free port, with a throwaway data directory
/// under the temp directory (its unix socket inside it) and <c>fsync=off</c>: nothing in it must survive the run.
/// One server per test run (<see cref="SharedAsync"/>), stopped and deleted when the run ends; each test class
/// takes a fresh database of its own (<see cref="CreateDatabaseAsync"/>).
/// PostgreSQL refuses to run as root, and CI runs as root: the server then runs as the <c>postgres</c>
/// system user, which owns the data directory; otherwise as the current user.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    /// <summary>How long a start may take before the run gives up on PostgreSQL (initdb writes a few MB; the box is shared).</summary>
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private static readonly Lazy<Task<PostgresServer>> Shared = new(StartSharedAsync);

    private readonly string _bin;
    private readonly bool _asPostgresUser;

    private PostgresServer(string bin, string directory, int port, bool asPostgresUser)
    {
        _bin = bin;
        Directory = directory;
        Port = port;
        _asPostgresUser = asPostgresUser;
    }

    /// <summary>The data directory (and the unix socket's).</summary>
    public string Directory { get; }

    public int Port { get; }

    /// <summary>To the server's maintenance database, as its superuser.</summary>
    public string AdminConnectionString => ConnectionStringFor("postgres");

    /// <summary>The run's server, started on first use.</summary>
    public static Task<PostgresServer> SharedAsync() => Shared.Value;

    /// <summary>
    /// A connection string to <paramref name="database"/>. Pooling off: a test that drops or stops things must
    /// not find a pooled connection from before. A Reelay handed this string does not pool either; tests that
    /// run it as in production (the scale-out tests, bench/) set <c>Pooling=true</c> on it.
    /// </summary>
    public string ConnectionStringFor(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Database = database,
        Username = "postgres",
        Pooling = false,
        Timeout = 15,
    }.ConnectionString;

    /// <summary>Creates an empty database (<c>t_&lt;guid&gt;</c>) and returns a connection string to it.</summary>
    public async Task<string> CreateDatabaseAsync(CancellationToken cancellationToken = default)
    {
        var name = "t_" + Guid.NewGuid().ToString("N");
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await create.ExecuteNonQueryAsync(cancellationToken);
        return ConnectionStringFor(name);
    }

    private static async Task<PostgresServer> StartSharedAsync()
    {
        var server = await StartAsync(CancellationToken.None);
        // One server for the whole run: stopped and deleted as the test process ends.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return server;
    }

    /// <summary>Initialises a data directory and starts a server on it; throws with the server's own words when it cannot.</summary>
    public static async Task<PostgresServer> StartAsync(CancellationToken cancellationToken)
    {
        var bin = FindBinaries();
        var asPostgresUser = Environment.UserName == "root";
        var directory = Path.Combine(Path.GetTempPath(), "reelay-pg-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        if (asPostgresUser)
        {
            await MustAsync("chown", ["postgres:postgres", directory], cancellationToken);
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(StartTimeout);
        var data = Path.Combine(directory, "data");
        var probe = new PostgresServer(bin, directory, 0, asPostgresUser);
        await probe.RunAsync("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C.UTF-8"], deadline.Token);

        // A port that was free a moment ago may be taken by the time the server binds it: try another.
        for (var attempt = 1; ; attempt++)
        {
            var port = ChildProcess.FreeLoopbackPort();
            var server = new PostgresServer(bin, directory, port, asPostgresUser);
            // pg_ctl -w returns once the server accepts connections (or fails), within -t seconds: no sleeping here.
            var started = await server.TryRunAsync("pg_ctl", [
                "start", "-w", "-t", ((int)StartTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture), "-D", data, "-l", Path.Combine(directory, "server.log"),
                "-o", $"-c listen_addresses=127.0.0.1 -p {port} -k {directory} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
            ], deadline.Token);
            if (started.ExitCode == 0)
            {
                return server;
            }

            var log = File.Exists(Path.Combine(directory, "server.log")) ? await File.ReadAllTextAsync(Path.Combine(directory, "server.log"), CancellationToken.None) : "";
            if (attempt == 3 || !log.Contains("could not bind", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"PostgreSQL did not start:\n{started.Output}\n{log}");
            }
        }
    }

    /// <summary>Stops the server at once (nothing in it must survive) and deletes its directory.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Port != 0)
        {
            await TryRunAsync("pg_ctl", ["stop", "-D", Path.Combine(Directory, "data"), "-m", "immediate", "-w"], CancellationToken.None);
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Stops the server (fast shutdown: connections are cut, as in an outage); <see cref="StartAgainAsync"/> brings it back on the same port.</summary>
    public Task StopAsync(CancellationToken cancellationToken) =>
        RunAsync("pg_ctl", ["stop", "-D", Path.Combine(Directory, "data"), "-m", "fast", "-w"], cancellationToken);

    /// <summary>Starts a stopped server again, on the same port and data.</summary>
    public Task StartAgainAsync(CancellationToken cancellationToken) =>
        RunAsync("pg_ctl", [
            "start", "-w", "-t", ((int)StartTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture), "-D", Path.Combine(Directory, "data"), "-l", Path.Combine(Directory, "server.log"),
            "-o", $"-c listen_addresses=127.0.0.1 -p {Port} -k {Directory} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
        ], cancellationToken);

    private static string FindBinaries()
    {
        var root = "/usr/lib/postgresql";
        var bin = System.IO.Directory.Exists(root)
            ? System.IO.Directory.GetDirectories(root).Select(version => Path.Combine(version, "bin"))
                .Where(candidate => File.Exists(Path.Combine(candidate, "initdb")))
                .OrderByDescending(candidate => candidate, StringComparer.Ordinal).FirstOrDefault()
            : null;
        return bin ?? throw new InvalidOperationException("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run scripts/install-prerequisites --test.");
    }

    private async Task RunAsync(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var result = await TryRunAsync(tool, arguments, cancellationToken);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} {string.Join(' ', arguments)} failed ({result.ExitCode}):\n{result.Output}");
        }
    }

    private Task<ProcessResult> TryRunAsync(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var program = Path.Combine(_bin, tool);
        return _asPostgresUser
            ? ChildProcess.RunAsync("runuser", ["-u", "postgres", "--", program, .. arguments], cancellationToken)
            : ChildProcess.RunAsync(program, arguments, cancellationToken);
    }

    private static async Task MustAsync(string program, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var result = await ChildProcess.RunAsync(program, arguments, cancellationToken);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed:\n{result.Output}");
        }
    }
}
