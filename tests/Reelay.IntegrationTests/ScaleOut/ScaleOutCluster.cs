using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Npgsql;
using Reelay.Testing;
using Reelay.Testing.Fakes;

namespace Reelay.IntegrationTests.ScaleOut;

/// <summary>
/// Reelay scaled out as the README's "Scaling out" describes: several server processes on their own loopback
/// ports over one PostgreSQL database, one S3 bucket (s3rver) and one Redis, with one admin key, one secrets key
/// ring and one signing key, in front of one fake relay whose jobs finish by time. Each instance reaches the relay
/// with a channel key of its own (<see cref="ChannelKey"/>), so the relay's records tell which instance sent what.
/// </summary>
internal sealed class ScaleOutCluster(string database, S3Server s3, RedisServer redis, FakeUnifiedRelayServer relay, string sharedDirectory) : IAsyncDisposable
{
    /// <summary>The model every task asks for, served by the relay channel.</summary>
    public const string Model = "grok-video-3";

    /// <summary>The database every instance uses (a connection string without pooling, for the test's own reads).</summary>
    public string Database => database;

    public S3Server S3 => s3;

    public RedisServer Redis => redis;

    public FakeUnifiedRelayServer Relay => relay;

    /// <summary>An admin-made channel, disabled so nothing routes to it, whose stored key every instance must be able to decrypt.</summary>
    public const string SpareChannel = "spare";

    public string AdminKey { get; } = "sk-admin-scale-" + Guid.NewGuid().ToString("N");

    public List<ServerProcess> Instances { get; } = [];

    /// <summary>
    /// Starts the backing servers and <paramref name="count"/> instances, each with <paramref name="settings"/> (REELAY_…
    /// variables) on top of the shared ones, with <see cref="Model"/> priced at one credit a video.
    /// </summary>
    public static async Task<ScaleOutCluster> StartAsync(PostgresServer postgres, int count, TimeSpan jobDuration, IReadOnlyDictionary<string, string> settings, CancellationToken cancellationToken)
    {
        var database = await postgres.CreateDatabaseAsync(cancellationToken);
        var s3 = await S3Server.StartAsync(cancellationToken);
        var redis = await RedisServer.StartAsync(cancellationToken);
        var relay = await FakeUnifiedRelayServer.StartNewAsync(cancellationToken);
        relay.JobDuration = jobDuration;
        var shared = Directory.CreateTempSubdirectory("reelay-scale-").FullName;
        var cluster = new ScaleOutCluster(database, s3, redis, relay, shared);
        try
        {
            var environmentOfAll = cluster.SharedEnvironment(database, settings);
            for (var i = 0; i < count; i++)
            {
                var environment = new Dictionary<string, string>(environmentOfAll)
                {
                    ["REELAY_Channels__0__ApiKey"] = ChannelKey(i),
                };
                cluster.Instances.Add(new ServerProcess(Path.Combine(shared, "instance-" + i), cluster.AdminKey, environment));
            }

            // The first makes the schema and the key ring, sets the price and stores a secret (a disabled channel's key,
            // encrypted with the ring); the others then load all of it, together.
            await cluster.Instances[0].StartAsync(cancellationToken);
            using (var admin = cluster.Instances[0].ClientFor(cluster.AdminKey))
            {
                using var price = await admin.PutAsJsonAsync($"/admin/prices/{Model}", new { per_video = 1 }, cancellationToken);
                price.EnsureSuccessStatusCode();
                using var channel = await admin.PostAsJsonAsync("/admin/channels",
                    new { name = SpareChannel, provider = "unified", base_url = relay.BaseUrl.ToString(), api_key = "spare-relay-key", enabled = false }, cancellationToken);
                channel.EnsureSuccessStatusCode();
            }

            await Task.WhenAll(cluster.Instances.Skip(1).Select(instance => instance.StartAsync(cancellationToken)));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>The relay key instance <paramref name="instance"/> sends.</summary>
    public static string ChannelKey(int instance) => "relay-key-" + instance;

    /// <summary>The instance that sent a request the relay received (by its channel key), or -1.</summary>
    public static int SentBy(RecordedRequest request) =>
        request.Header("Authorization") is { } authorization && authorization.StartsWith("Bearer relay-key-", StringComparison.Ordinal)
            ? int.Parse(authorization["Bearer relay-key-".Length..], System.Globalization.CultureInfo.InvariantCulture)
            : -1;

    /// <summary>Opens an account through the first instance and returns its id and a key of it.</summary>
    public async Task<(string AccountId, CreatedKey Key)> CreateKeyAsync(decimal credits, bool unlimited, object? keyLimits, CancellationToken cancellationToken)
    {
        using var admin = AdminClient();
        var account = await AccountKit.CreateAccountAsync(admin, AdminKey, credits, unlimited, cancellationToken: cancellationToken);
        return (account, await AccountKit.CreateKeyAsync(admin, AdminKey, account, "live", keyLimits, cancellationToken));
    }

    /// <summary>An account's balance and holds, in credits, as a live instance reports them.</summary>
    public async Task<(decimal Balance, decimal Held)> BooksAsync(string accountId, CancellationToken cancellationToken)
    {
        using var admin = AdminClient();
        var account = await AccountKit.GetAccountAsync(admin, AdminKey, accountId, cancellationToken);
        return (account.GetProperty("balance").GetDecimal(), account.GetProperty("held").GetDecimal());
    }

    /// <summary>How many tasks of a key are unfinished right now, as the store counts them for its limit.</summary>
    public Task<long> UnfinishedAsync(string keyId, CancellationToken cancellationToken) =>
        CountAsync("SELECT COUNT(*) FROM tasks WHERE owner_key_id = @key AND stage IN ('pending', 'submitting', 'running', 'finishing')", keyId, cancellationToken);

    /// <summary>How many tasks no upstream has accepted yet (a kill now could interrupt a submission).</summary>
    public Task<long> NotYetSubmittedAsync(CancellationToken cancellationToken) =>
        CountAsync("SELECT COUNT(*) FROM tasks WHERE stage IN ('pending', 'submitting')", null, cancellationToken);

    private HttpClient AdminClient() => new() { BaseAddress = Instances[0].BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>At most one paid submission per task: each prompt reached the relay exactly once, and nothing else did.</summary>
    public void AssertEachSubmittedOnce(IReadOnlyCollection<string> prompts)
    {
        var submissions = Relay.Requests.Where(r => r.Kind == FakeRequestKind.Submit)
            .GroupBy(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("prompt").GetString()!).ToDictionary(g => g.Key, g => g.Count());
        Assert.All(prompts, prompt => Assert.Equal(1, submissions.GetValueOrDefault(prompt)));
        Assert.Equal(prompts.Count, Relay.Submissions);
    }

    /// <summary>A completed task's <c>video_url</c> (a presigned S3 link) serves its MP4 to a client with no Reelay key.</summary>
    public static async Task AssertVideoPlaysAsync(string id, JsonElement task, CancellationToken cancellationToken)
    {
        using var browser = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var video = await browser.GetByteArrayAsync(task.GetProperty("video_url").GetString(), cancellationToken);
        Assert.True(video.Length > 8 && video.AsSpan(4, 4).SequenceEqual("ftyp"u8), $"{id}: its video_url did not serve an MP4");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var instance in Instances)
        {
            await instance.DisposeAsync();
        }

        await Relay.DisposeAsync();
        await Redis.DisposeAsync();
        await S3.DisposeAsync();
        try
        {
            Directory.Delete(sharedDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task<long> CountAsync(string sql, string? key, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(Database);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        if (key is not null)
        {
            command.Parameters.AddWithValue("key", key);
        }

        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>What every instance must share (README "Scaling out"), as REELAY_… variables.</summary>
    private Dictionary<string, string> SharedEnvironment(string database, IReadOnlyDictionary<string, string> settings)
    {
        var environment = new Dictionary<string, string>
        {
            ["REELAY_Storage__Provider"] = "postgres",
            // Reelay pools its connections as in production; the kit's string turns pooling off for the test's own reads.
            ["REELAY_Storage__Postgres__ConnectionString"] = new NpgsqlConnectionStringBuilder(database) { Pooling = true }.ConnectionString,
            ["REELAY_Redis__Configuration"] = Redis.Configuration,
            ["REELAY_SECRETS_KEY_RING"] = Path.Combine(sharedDirectory, "keys"),
            ["REELAY_SECRETS_KEY"] = Convert.ToHexString(RandomNumberGenerator.GetBytes(32)),
            ["REELAY_SIGNING_KEY"] = Convert.ToHexString(RandomNumberGenerator.GetBytes(32)),
            ["REELAY_Channels__0__Name"] = "relay",
            ["REELAY_Channels__0__Provider"] = "unified",
            ["REELAY_Channels__0__BaseUrl"] = Relay.BaseUrl.ToString(),
            ["REELAY_Channels__0__PollInterval"] = "00:00:00.300",
        };
        foreach (var (key, value) in S3.ReelaySettings())
        {
            environment["REELAY_" + key.Replace(":", "__", StringComparison.Ordinal)] = value!;
        }

        foreach (var (key, value) in settings)
        {
            environment[key] = value;
        }

        return environment;
    }
}
