using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Reelay.Testing;

/// <summary>
/// A whole Reelay on a real Kestrel socket (127.0.0.1, random port) with its own data directory and
/// SQLite file, and the admin key it was started with. Speaks the domain: create keys, get clients.
/// </summary>
public sealed class ReelayApp : IAsyncDisposable
{
    private readonly Factory _factory;
    private readonly bool _ownsDataDir;

    private ReelayApp(Factory factory, string dataDir, string adminKey, bool ownsDataDir, string? postgres)
    {
        _factory = factory;
        PostgresConnectionString = postgres;
        DataDir = dataDir;
        AdminKey = adminKey;
        _ownsDataDir = ownsDataDir;
    }

    public string DataDir { get; }

    /// <summary>The instance's SQLite file, for tests that reach past the API (another process's lock, row counts).</summary>
    public string DatabasePath => Path.Combine(DataDir, "reelay.db");

    public string AdminKey { get; }

    /// <summary>The PostgreSQL database the instance stores in, when started with <c>Storage:Provider=postgres</c>; null on SQLite.</summary>
    public string? PostgresConnectionString { get; }

    public Uri BaseAddress => _factory.ClientOptions.BaseAddress;

    public IServiceProvider Services => _factory.Services;

    /// <summary>
    /// Starts an instance. <paramref name="settings"/> are configuration keys as appsettings.json names
    /// them (<c>ALLOW_PRIVATE_NETWORKS</c>, <c>Engine:IdleDelay</c>, <c>Channels:0:Provider</c>…);
    /// <paramref name="logs"/>, when given, receives every log line the instance writes.
    /// </summary>
    /// <param name="services">Replaces services after the app's own registrations (a clock, say); null for none.</param>
    public static ReelayApp Start(IReadOnlyDictionary<string, string?>? settings = null, string? dataDir = null, CapturedLogs? logs = null, Action<IServiceCollection>? services = null)
    {
        var ownsDataDir = dataDir is null;
        dataDir ??= Path.Combine(Path.GetTempPath(), "reelay-test-" + Guid.NewGuid().ToString("N"));
        var adminKey = "sk-admin-test-" + Guid.NewGuid().ToString("N");
        var all = new Dictionary<string, string?>
        {
            ["DATA_DIR"] = dataDir,
            ["ADMIN_KEY"] = adminKey,
            // Tests serve reference images from loopback; production refuses it unless told.
            ["ALLOW_PRIVATE_NETWORKS"] = "loopback",
            ["Engine:IdleDelay"] = "00:00:00.200",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        var factory = new Factory(all, logs, services);
        factory.UseKestrel(0);
        factory.StartServer();
        var postgres = all.GetValueOrDefault("Storage:Provider") is "postgres" ? all.GetValueOrDefault("Storage:Postgres:ConnectionString") : null;
        return new ReelayApp(factory, dataDir, adminKey, ownsDataDir, postgres);
    }

    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

    public HttpClient ClientFor(string key)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    public HttpClient AdminClient() => ClientFor(AdminKey);

    /// <summary>Creates a client key through the admin API and returns its secret.</summary>
    public async Task<string> CreateKeyAsync(string mode = "test", string name = "test", CancellationToken cancellationToken = default) =>
        (await CreateKeyWithIdAsync(mode, name, cancellationToken)).Key;

    /// <summary>Creates a client key through the admin API and returns its id (the owner of its tasks) and secret.</summary>
    public async Task<(string Id, string Key)> CreateKeyWithIdAsync(string mode = "test", string name = "test", CancellationToken cancellationToken = default)
    {
        using var client = CreateClient();
        var created = await ClientKeys.CreateAsync(client, AdminKey, mode, name, cancellationToken);
        return (created.Id, created.Key);
    }

    /// <summary>Creates a key and returns a client that uses it.</summary>
    public async Task<HttpClient> CreateClientWithKeyAsync(string mode = "test", CancellationToken cancellationToken = default) =>
        ClientFor(await CreateKeyAsync(mode, cancellationToken: cancellationToken));

    /// <summary>
    /// Stops the instance, checks the books it leaves (<see cref="LedgerInvariants"/>: every test that
    /// starts Reelay proves at its end that credits did not drift), and deletes its data directory.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await _factory.DisposeAsync();
        try
        {
            if (PostgresConnectionString is { } postgres)
            {
                LedgerInvariants.AssertHoldInPostgres(postgres);
            }
            else
            {
                LedgerInvariants.AssertHold(DatabasePath);
            }
        }
        finally
        {
            // A data directory the test passed in outlives this instance (restart tests reuse it).
            if (_ownsDataDir)
            {
                try
                {
                    Directory.Delete(DataDir, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }
    }

    private sealed class Factory(IReadOnlyDictionary<string, string?> settings, CapturedLogs? logs, Action<IServiceCollection>? services) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }

            if (logs is not null)
            {
                builder.ConfigureLogging(logging => logging.AddProvider(logs));
            }

            if (services is not null)
            {
                builder.ConfigureTestServices(services);
            }
        }
    }
}
