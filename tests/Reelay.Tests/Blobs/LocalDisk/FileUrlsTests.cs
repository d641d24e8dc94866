using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Reelay.Blobs;
using Reelay.Blobs.LocalDisk;
using Reelay.Hosting;

namespace Reelay.Tests.Blobs.LocalDisk;

public sealed class FileUrlsTests : IDisposable
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "reelay-fileurls-" + Guid.NewGuid().ToString("N"));
    private static readonly TimeSpan Ttl = TimeSpan.FromHours(1);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));

    public void Dispose() => Directory.Delete(_dataDir, recursive: true);

    private FileUrls NewUrls(string? signingKey = "test-signing-key") =>
        NewUrls(new FileLinkOptions { SigningKey = signingKey });

    /// <summary>As the host builds it: a missing signing key is generated into the data directory.</summary>
    private FileUrls NewUrls(FileLinkOptions options)
    {
        new GeneratedSigningKey(new DataDirectory(Options.Create(new DataDirectoryOptions { DataDir = _dataDir }))).PostConfigure(null, options);
        return new(Options.Create(options), _time);
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
    public void NewUrls_NoSigningKeyConfigured_GeneratedOnceAndKeptInDataDir()
    {
        var first = NewUrls(signingKey: null);
        var (key, exp, sig) = Parse(first.For("a.mp4", Ttl, Request()));

        var second = NewUrls(signingKey: null);

        Assert.True(File.Exists(Path.Combine(_dataDir, "signing-key")));
        Assert.True(second.Verify(key, exp, sig));
    }
}
