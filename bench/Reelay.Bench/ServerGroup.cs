using Reelay.Testing;

namespace Reelay.Bench;

/// <summary>The server processes, clients and data directories one measurement starts; disposed together, clients first, data last.</summary>
internal sealed class ServerGroup : IAsyncDisposable
{
    private readonly List<ChildProcess> _servers = [];
    private readonly List<HttpClient> _clients = [];
    private readonly List<string> _dataDirs = [];

    /// <summary>A fresh data directory, deleted with the group.</summary>
    public string NewDataDirectory()
    {
        var dataDir = Benchmark.NewDataDirectory();
        _dataDirs.Add(dataDir);
        return dataDir;
    }

    /// <summary>Starts a server as <see cref="Benchmark.StartServerAsync"/> does; stopped with the group.</summary>
    public async Task StartAsync(Uri url, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment, string workingDirectory) =>
        _servers.Add(await Benchmark.StartServerAsync(url, arguments, environment, workingDirectory));

    /// <summary>A load-generator client (<see cref="LoadGenerator.CreateClient"/>), disposed with the group.</summary>
    public HttpClient Client(Uri url, int connections)
    {
        var client = LoadGenerator.CreateClient(url, connections);
        _clients.Add(client);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        foreach (var dataDir in _dataDirs)
        {
            Benchmark.DeleteDataDirectory(dataDir);
        }
    }
}
