using System.Globalization;
using Xunit;

namespace Reelay.Testing;

/// <summary>
/// A real S3-compatible server for tests: s3rver (npm, tests/s3) on 127.0.0.1 at a port the OS picks, storing
/// into its own temporary directory, killed and deleted on dispose. It speaks the object API Reelay uses
/// (PUT, multipart uploads, HEAD, GET with <c>Range</c>, DELETE, HeadBucket) and checks a request's access
/// key id, its date and a presigned URL's expiry. What it does not do, which tests must not lean on: check
/// SigV4 signatures (3.7.1 leaves that unimplemented: a wrong secret is accepted), refuse an unsigned
/// request, decode aws-chunked bodies, tag multipart objects "…-N", suffix ranges (<c>bytes=-N</c>),
/// <c>If-Range</c>, or keep an aborted PUT out of the bucket.
/// </summary>
public sealed class S3Server : IAsyncLifetime
{
    /// <summary>The one key pair s3rver knows.</summary>
    public const string AccessKey = "S3RVER";

    public const string SecretKey = "S3RVER";

    private const string Listening = "S3rver listening on ";

    private ChildProcess? _process;
    private DirectoryInfo? _directory;

    /// <summary>Its endpoint, e.g. <c>http://127.0.0.1:40123</c> (no trailing slash).</summary>
    public string ServiceUrl { get; private set; } = "";

    /// <summary>What it printed last, for assertion messages.</summary>
    public string Output => _process?.Output ?? "";

    public static async Task<S3Server> StartAsync(CancellationToken cancellationToken)
    {
        var server = new S3Server();
        try
        {
            await server.StartCoreAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Settings for a Reelay whose blobs go to a bucket of this server (a new one per call unless named),
    /// created by Reelay at startup.
    /// </summary>
    public Dictionary<string, string?> ReelaySettings(string? bucket = null) => new()
    {
        ["Blobs:Provider"] = "s3",
        ["Blobs:S3:ServiceUrl"] = ServiceUrl,
        ["Blobs:S3:Bucket"] = bucket ?? NewBucketName(),
        ["Blobs:S3:AccessKey"] = AccessKey,
        ["Blobs:S3:SecretKey"] = SecretKey,
        ["Blobs:S3:CreateBucket"] = "true",
    };

    /// <summary>The keys of the objects a bucket holds, read from the server's own files.</summary>
    public IReadOnlyList<string> ObjectKeys(string bucket)
    {
        const string suffix = "._S3rver_object";
        var root = Path.Combine(_directory!.FullName, bucket);
        return Directory.Exists(root)
            ? [.. Directory.EnumerateFiles(root, "*" + suffix, SearchOption.AllDirectories)
                .Select(file => Path.GetRelativePath(root, file)[..^suffix.Length].Replace(Path.DirectorySeparatorChar, '/'))
                .Order(StringComparer.Ordinal)]
            : [];
    }

    /// <summary>A bucket name no other test uses.</summary>
    public static string NewBucketName() => "reelay-" + Guid.NewGuid().ToString("N")[..20];

    ValueTask IAsyncLifetime.InitializeAsync() => new(StartCoreAsync(TestContext.Current.CancellationToken));

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }

        try
        {
            _directory?.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Stops the server as an outage would: its address refuses connections; its objects stay for <see cref="RestartAsync"/>.</summary>
    public async Task StopAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
            _process = null;
        }
    }

    /// <summary>Starts the stopped server again on the same address, over the same objects.</summary>
    public Task RestartAsync(CancellationToken cancellationToken) =>
        StartCoreAsync(new Uri(ServiceUrl).Port, cancellationToken);

    private Task StartCoreAsync(CancellationToken cancellationToken) => StartCoreAsync(0, cancellationToken);

    private async Task StartCoreAsync(int port, CancellationToken cancellationToken)
    {
        var script = Path.Combine(RepositoryRoot(), "tests", "s3", "node_modules", "s3rver", "bin", "s3rver.js");
        if (!File.Exists(script))
        {
            throw new InvalidOperationException($"s3rver is not installed ({script} is missing): run `npm ci --prefix tests/s3` (scripts/test does this).");
        }

        _directory ??= Directory.CreateTempSubdirectory("reelay-s3-");
        // Port 0: the OS picks a free one and s3rver prints it, so there is no probe-then-bind race.
        _process = ChildProcess.Start("node", [script, "--directory", _directory.FullName, "--address", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture), "--no-vhost-buckets"]);
        var line = await _process.WaitForOutputAsync(l => l.StartsWith(Listening, StringComparison.Ordinal), TimeSpan.FromSeconds(30), cancellationToken);
        var listening = int.Parse(line[(line.LastIndexOf(':') + 1)..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture);
        ServiceUrl = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{listening}");
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Reelay.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Reelay.slnx not found above " + AppContext.BaseDirectory);
    }
}
