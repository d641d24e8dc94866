using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Reelay.Blobs;
using Reelay.Blobs.LocalDisk;
using Reelay.Hosting;
using Reelay.Secrets;

namespace Reelay.Tests.Blobs.LocalDisk;

public sealed class FileUrlsTests : IDisposable
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "reelay-fileurls-" + Guid.NewGuid().ToString("N"));
    private static readonly TimeSpan Ttl = TimeSpan.FromHours(1);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));
    private readonly List<SecretKeyRing> _rings = [];

    public void Dispose()
    {
        foreach (var ring in _rings)
        {
            ring.Dispose();
        }

        if (Directory.Exists(_dataDir))
        {
            Directory.Delete(_dataDir, recursive: true);
        }
    }

    private FileUrls NewUrls(string? signingKey = "test-signing-key") =>
        NewUrls(new FileLinkOptions { SigningKey = signingKey });

    /// <summary>As the host builds it: without a configured key the keys live, encrypted, in the data directory.</summary>
    private FileUrls NewUrls(FileLinkOptions options) =>
        string.IsNullOrWhiteSpace(options.SigningKey)
            ? new(NewSigningKeys(options), Options.Create(options), _time)
            : new(Options.Create(options), _time);

    private DataDirectory Data => new(Options.Create(new DataDirectoryOptions { DataDir = _dataDir }));

    /// <summary>The generated keys of one instance over the data directory, with its own view of the key ring.</summary>
    private FileSigningKeys NewSigningKeys(FileLinkOptions? options = null)
    {
        var ring = new SecretKeyRing(Options.Create(new SecretsOptions()), Data, NullLoggerFactory.Instance, _time);
        _rings.Add(ring);
        return new FileSigningKeys(Options.Create(options ?? new FileLinkOptions { FileUrlTtl = Ttl }), Data, new SecretProtector(ring), _time, NullLogger<FileSigningKeys>.Instance);
    }

    private static HttpRequest Request()
    {
        var context = new DefaultHttpContext();
        context.Request.Scheme = "http";
        context.Request.Host = new HostString("127.0.0.1:8080");
        return context.Request;
    }

    private static (string Key, string Exp, string Sig) Parse(string url)
    {
        var uri = new Uri(url);
        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(uri.Query);
        return (uri.AbsolutePath["/files/".Length..], query["exp"].ToString(), query["sig"].ToString());
    }

    [Fact]
    public void For_StoredKey_AbsoluteUrlThatVerifies()
    {
        var urls = NewUrls();

        var url = urls.For("videos/abc.mp4", Ttl, Request());

        Assert.StartsWith("http://127.0.0.1:8080/files/videos/abc.mp4?exp=", url, StringComparison.Ordinal);
        var (key, exp, sig) = Parse(url);
        Assert.True(urls.Verify(key, exp, sig));
    }

    [Fact]
    public void For_PublicUrlSet_UsesIt()
    {
        var urls = NewUrls(new FileLinkOptions { SigningKey = "k", PublicUrl = "https://videos.example.com/" });

        Assert.StartsWith("https://videos.example.com/files/a.mp4?", urls.For("a.mp4", Ttl, Request()), StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_OtherFileKey_Rejected()
    {
        var urls = NewUrls();
        var (_, exp, sig) = Parse(urls.For("videos/abc.mp4", Ttl, Request()));

        Assert.False(urls.Verify("videos/abd.mp4", exp, sig));
    }

    [Fact]
    public void Verify_LaterExpiry_Rejected()
    {
        var urls = NewUrls();
        var (key, exp, sig) = Parse(urls.For("videos/abc.mp4", Ttl, Request()));

        Assert.False(urls.Verify(key, (long.Parse(exp) + 86400).ToString(), sig));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAA")]
    public void Verify_BadSignature_Rejected(string? signature)
    {
        var urls = NewUrls();
        var (key, exp, _) = Parse(urls.For("videos/abc.mp4", Ttl, Request()));

        Assert.False(urls.Verify(key, exp, signature));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("-5")]
    [InlineData("soon")]
    public void Verify_MalformedExpiry_Rejected(string? expiry)
    {
        var urls = NewUrls();
        var (key, _, sig) = Parse(urls.For("videos/abc.mp4", Ttl, Request()));

        Assert.False(urls.Verify(key, expiry, sig));
    }

    [Fact]
    public void Verify_SignedWithAnotherSecret_Rejected()
    {
        var (key, exp, sig) = Parse(NewUrls("secret-one").For("videos/abc.mp4", Ttl, Request()));

        Assert.False(NewUrls("secret-two").Verify(key, exp, sig));
    }

    [Fact]
    public void Verify_AfterTtl_Rejected()
    {
        var urls = NewUrls();
        var (key, exp, sig) = Parse(urls.For("videos/abc.mp4", Ttl, Request()));

        _time.Advance(TimeSpan.FromMinutes(59));
        Assert.True(urls.Verify(key, exp, sig));
        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.False(urls.Verify(key, exp, sig));
    }

    [Fact]
    public void NewUrls_NoSigningKeyConfigured_GeneratedOnceAndKeptEncryptedInDataDir()
    {
        var first = NewUrls(signingKey: null);
        var (key, exp, sig) = Parse(first.For("a.mp4", Ttl, Request()));

        var second = NewUrls(signingKey: null);

        var path = Path.Combine(_dataDir, FileSigningKeys.FileName);
        Assert.True(File.Exists(path));
        Assert.False(File.Exists(Path.Combine(_dataDir, FileSigningKeys.PlainFileName)));
        Assert.DoesNotMatch("[0-9a-f]{64}", File.ReadAllText(path));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }

        Assert.True(second.Verify(key, exp, sig));
    }

    [Fact]
    public async Task PlainKeyOfAnEarlierVersion_EncryptedAtStartAndItsLinksStillVerify()
    {
        const string plain = "5f1d3c0e9b7a4c2d8e6f0a1b3c5d7e9f5f1d3c0e9b7a4c2d8e6f0a1b3c5d7e9f";
        Directory.CreateDirectory(_dataDir);
        await File.WriteAllTextAsync(Path.Combine(_dataDir, FileSigningKeys.PlainFileName), plain + "\n", TestContext.Current.CancellationToken);
        // A link the earlier version handed out: signed with the UTF-8 bytes of that hex text.
        var (key, exp, sig) = Parse(NewUrls(plain).For("videos/old.mp4", Ttl, Request()));

        var keys = NewSigningKeys();
        var encrypted = await keys.ProtectPlainTextAsync(TestContext.Current.CancellationToken);
        var urls = new FileUrls(keys, Options.Create(new FileLinkOptions()), _time);

        Assert.Equal(1, encrypted);
        Assert.True(urls.Verify(key, exp, sig));
        Assert.False(File.Exists(Path.Combine(_dataDir, FileSigningKeys.PlainFileName)));
        Assert.DoesNotContain(plain, await File.ReadAllTextAsync(Path.Combine(_dataDir, FileSigningKeys.FileName), TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Equal(0, await NewSigningKeys().ProtectPlainTextAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public void Rotate_LinksSignedBefore_VerifyUntilTheyExpireButThePreviousKeyRetiresAfterTheTtl()
    {
        var keys = NewSigningKeys();
        var urls = new FileUrls(keys, Options.Create(new FileLinkOptions { FileUrlTtl = Ttl }), _time);
        var (key, exp, sig) = Parse(urls.For("videos/abc.mp4", Ttl, Request()));
        // Signed for longer than the TTL (as no link is): it shows when the previous key stops verifying.
        var (longKey, longExp, longSig) = Parse(urls.For("videos/long.mp4", Ttl * 3, Request()));

        var until = keys.Rotate();
        var (_, newExp, newSig) = Parse(urls.For("videos/abc.mp4", Ttl, Request()));

        Assert.Equal(_time.GetUtcNow() + Ttl + FileSigningKeys.PreviousKeySlack, until);
        Assert.Equal(exp, newExp);
        Assert.NotEqual(sig, newSig);
        Assert.True(urls.Verify(key, exp, sig));
        Assert.True(urls.Verify(key, newExp, newSig));
        _time.Advance(Ttl);
        Assert.True(urls.Verify(key, exp, sig));
        Assert.True(urls.Verify(longKey, longExp, longSig));
        _time.Advance(FileSigningKeys.PreviousKeySlack + TimeSpan.FromSeconds(1));
        Assert.False(urls.Verify(longKey, longExp, longSig));
    }

    [Fact]
    public void AnotherInstanceRotates_LinksItSignsVerifyHereAtOnce()
    {
        var here = new FileUrls(NewSigningKeys(), Options.Create(new FileLinkOptions()), _time);
        var thereKeys = NewSigningKeys();
        var there = new FileUrls(thereKeys, Options.Create(new FileLinkOptions()), _time);
        var (oldKey, oldExp, oldSig) = Parse(here.For("a.mp4", Ttl, Request()));

        thereKeys.Rotate();
        var (key, exp, sig) = Parse(there.For("a.mp4", Ttl, Request()));

        Assert.NotEqual(oldSig, sig);
        Assert.True(here.Verify(key, exp, sig));
        Assert.True(there.Verify(oldKey, oldExp, oldSig));
    }

    [Fact]
    public void ConfiguredKeyChanged_LinksOfThePreviousKeyVerifyWhileItIsSet()
    {
        var (key, exp, sig) = Parse(NewUrls("old-configured-key").For("a.mp4", Ttl, Request()));

        var withPrevious = NewUrls(new FileLinkOptions { SigningKey = "new-configured-key", SigningKeyPrevious = "old-configured-key" });
        var withoutPrevious = NewUrls("new-configured-key");

        Assert.True(withPrevious.Verify(key, exp, sig));
        Assert.False(withoutPrevious.Verify(key, exp, sig));
        Assert.Null(FileSigningKeys.FromOptions(new FileLinkOptions { SigningKey = "k" }, _time).Rotate());
    }
}
