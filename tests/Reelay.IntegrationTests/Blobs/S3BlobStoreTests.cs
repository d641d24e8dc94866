using System.Globalization;
using System.Security.Cryptography;
using System.Web;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Blobs;
using Reelay.Blobs.S3;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Blobs;

/// <summary>
/// The blob contract on the S3 store, inside a running Reelay whose blobs go to a fresh bucket of a real
/// S3-compatible server (one s3rver for the class), and what only presigned links have to keep.
/// </summary>
public sealed class S3BlobStoreTests(S3Server s3) : BlobStoreContract, IClassFixture<S3Server>
{
    protected override Task<StoreUnderTest> StartCleanStoreAsync()
    {
        var app = ReelayApp.Start(s3.ReelaySettings());
        var store = app.Services.GetRequiredService<IBlobStore>();
        Assert.IsType<S3BlobStore>(store);

        var request = new DefaultHttpContext().Request;
        request.Scheme = app.BaseAddress.Scheme;
        request.Host = new HostString(app.BaseAddress.Authority);
        return Task.FromResult(new StoreUnderTest(store, request, app));
    }

    [Fact]
    public async Task GetReadUrl_PresignedOnTheStore_SignedForAtLeastTheLifetime()
    {
        var key = BlobKeys.NewVideo();
        await Store.WriteAsync(key, new MemoryStream([1, 2, 3]), Ct);
        var lifetime = TimeSpan.FromHours(3);
        var before = DateTimeOffset.UtcNow;

        var url = new Uri(Store.GetReadUrl(key, lifetime, LinkRequest));

        Assert.StartsWith(s3.ServiceUrl + "/", url.ToString(), StringComparison.Ordinal);
        Assert.EndsWith("/" + key, url.AbsolutePath, StringComparison.Ordinal);
        var query = HttpUtility.ParseQueryString(url.Query);
        Assert.Equal("AWS4-HMAC-SHA256", query["X-Amz-Algorithm"]);
        Assert.StartsWith(S3Server.AccessKey + "/", query["X-Amz-Credential"], StringComparison.Ordinal);
        var signedAt = DateTimeOffset.ParseExact(query["X-Amz-Date"]!, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        var expires = signedAt + TimeSpan.FromSeconds(int.Parse(query["X-Amz-Expires"]!, CultureInfo.InvariantCulture));
        // At least the lifetime from now, and at most the minute it is rounded up to beyond that.
        Assert.InRange(expires, before + lifetime, DateTimeOffset.UtcNow + lifetime + TimeSpan.FromSeconds(61));
    }

    [Fact]
    public async Task GetReadUrl_Presigned_SignatureVerifiesWithTheSecretOnly()
    {
        var key = BlobKeys.NewThumbnail();
        await Store.WriteAsync(key, new MemoryStream([1, 2, 3]), Ct);

        var url = new Uri(Store.GetReadUrl(key, TimeSpan.FromMinutes(5), LinkRequest));

        // s3rver 3.7.1 does not verify SigV4 signatures, so the test does, as S3 would.
        var signature = HttpUtility.ParseQueryString(url.Query)["X-Amz-Signature"];
        Assert.Equal(PresignedSignature(url, S3Server.SecretKey), signature);
        Assert.NotEqual(PresignedSignature(url, "another-secret"), signature);
    }

    [Fact]
    public async Task GetReadUrl_WithAPublicUrl_IsSignedForTheHostClientsReach()
    {
        // Reelay reaches the store at 127.0.0.1; clients by another name (here localhost, the same server).
        var publicUrl = s3.ServiceUrl.Replace("127.0.0.1", "localhost", StringComparison.Ordinal);
        var settings = new Dictionary<string, string?>(s3.ReelaySettings()) { ["Blobs:S3:PublicUrl"] = publicUrl };
        await using var app = ReelayApp.Start(settings);
        var store = app.Services.GetRequiredService<IBlobStore>();
        var key = BlobKeys.NewThumbnail();
        await store.WriteAsync(key, new MemoryStream([7, 8, 9]), Ct);

        var url = new Uri(store.GetReadUrl(key, TimeSpan.FromMinutes(5), LinkRequest));

        Assert.StartsWith(publicUrl + "/", url.ToString(), StringComparison.Ordinal);
        Assert.Equal(PresignedSignature(url, S3Server.SecretKey), HttpUtility.ParseQueryString(url.Query)["X-Amz-Signature"]);
        using var http = new HttpClient();
        Assert.Equal([7, 8, 9], await http.GetByteArrayAsync(url, Ct));
    }

    /// <summary>The SigV4 signature S3 expects on a presigned GET: canonical request, string to sign, derived key.</summary>
    private static string PresignedSignature(Uri url, string secretKey)
    {
        var query = HttpUtility.ParseQueryString(url.Query);
        var canonicalQuery = string.Join('&', query.AllKeys
            .Where(name => name != "X-Amz-Signature")
            .Order(StringComparer.Ordinal)
            .Select(name => Uri.EscapeDataString(name!) + "=" + Uri.EscapeDataString(query[name]!)));
        var canonicalRequest = string.Join('\n', "GET", url.AbsolutePath, canonicalQuery, "host:" + url.Authority, "", "host", "UNSIGNED-PAYLOAD");
        var scope = query["X-Amz-Credential"]![(query["X-Amz-Credential"]!.IndexOf('/', StringComparison.Ordinal) + 1)..];
        var stringToSign = string.Join('\n', "AWS4-HMAC-SHA256", query["X-Amz-Date"], scope,
            Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(canonicalRequest))));

        var key = System.Text.Encoding.UTF8.GetBytes("AWS4" + secretKey);
        foreach (var part in scope.Split('/'))
        {
            key = HMACSHA256.HashData(key, System.Text.Encoding.UTF8.GetBytes(part));
        }

        return Convert.ToHexStringLower(HMACSHA256.HashData(key, System.Text.Encoding.UTF8.GetBytes(stringToSign)));
    }

    [Fact]
    public async Task PutFileAsync_LargerThanTheMultipartThreshold_UploadedInParts()
    {
        var key = BlobKeys.NewVideo();
        var source = Path.Combine(Path.GetTempPath(), "reelay-blob-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllBytesAsync(source, RandomNumberGenerator.GetBytes(17 * 1024 * 1024), Ct);

        await Store.PutFileAsync(key, source, Ct);

        // s3rver tags a multipart object like a single PUT, so its request log is the witness: parts 1..3 of 8 MB.
        var parts = s3.Output.Split('\n').Where(line => line.Contains(key, StringComparison.Ordinal) && line.Contains("partNumber=", StringComparison.Ordinal)).ToList();
        Assert.True(parts.Count >= 3, $"expected the upload in parts, s3rver logged:\n{s3.Output}");
        await using var blob = await Store.OpenReadAsync(key, Ct);
        Assert.Equal(17 * 1024 * 1024, blob!.Length);
        Assert.False(File.Exists(source));
    }
}
