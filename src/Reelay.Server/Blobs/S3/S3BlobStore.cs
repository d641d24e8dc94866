using System.Globalization;
using System.Net;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Reelay.Hosting;
using Reelay.Storage;

namespace Reelay.Blobs.S3;

/// <summary>
/// Blobs as objects in one bucket of an S3-compatible store, under the same keys the local disk uses.
/// Clients read them straight from the store through presigned GET URLs (Range and all, no Reelay in
/// between); Reelay's own reads (<c>/v1/videos/{id}/content</c>, request images) go through
/// <see cref="OpenReadAsync"/>, whose stream asks the store for the byte range it is positioned at.
/// </summary>
public sealed partial class S3BlobStore : IBlobStore, IDisposable
{
    /// <summary>
    /// How much longer than asked a link is signed: its expiry is rounded up to the next minute (so a
    /// minute's queries share one URL), and callers such as the query cache add their own few seconds.
    /// </summary>
    public static readonly TimeSpan SigningMargin = TimeSpan.FromMinutes(5);

    /// <summary>A presigned URL is ~500 bytes; this many kept for their minute is a few megabytes at most.</summary>
    private const long MaxRememberedUrls = 20_000;

    /// <summary>Files from this size on go up in parts (the size from which TransferUtility would, too).</summary>
    internal const long MultipartThreshold = 16 * 1024 * 1024;

    /// <summary>Part size of a multipart upload, and how many parts are sent at once.</summary>
    private const long PartSize = 8 * 1024 * 1024;

    private const int ConcurrentParts = 4;

    private const long MaxParts = 10_000;

    private readonly AmazonS3Client _client;

    /// <summary>Signs links for <see cref="S3BlobOptions.PublicUrl"/> (no request goes through it); the client itself without one.</summary>
    private readonly AmazonS3Client _presigner;
    private readonly S3BlobOptions _options;
    private readonly string _bucket;
    private readonly Protocol _protocol;
    private readonly DataDirectory _data;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly MemoryCache _urls = new(new MemoryCacheOptions { SizeLimit = MaxRememberedUrls });

    public S3BlobStore(IOptions<S3BlobOptions> options, DataDirectory data, TimeProvider time, ILogger<S3BlobStore> logger)
    {
        _options = options.Value;
        _bucket = _options.Bucket!;
        _data = data;
        _time = time;
        _logger = logger;

        var config = new AmazonS3Config
        {
            ForcePathStyle = _options.PathStyle,
            AuthenticationRegion = _options.Region,
            // Checksums only where an operation requires one: the SDK's default sends CRC32 trailers in
            // aws-chunked bodies, which many S3-compatible servers do not read (s3rver refuses them).
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (string.IsNullOrWhiteSpace(_options.ServiceUrl))
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(_options.Region);
        }
        else
        {
            config.ServiceURL = _options.ServiceUrl;
        }

        var linkBase = string.IsNullOrWhiteSpace(_options.PublicUrl) ? _options.ServiceUrl : _options.PublicUrl;
        _protocol = string.IsNullOrWhiteSpace(linkBase) || linkBase.StartsWith("https:", StringComparison.OrdinalIgnoreCase)
            ? Protocol.HTTPS
            : Protocol.HTTP;
        _client = NewClient(config);
        if (string.IsNullOrWhiteSpace(_options.PublicUrl))
        {
            _presigner = _client;
        }
        else
        {
            var linkConfig = new AmazonS3Config
            {
                ForcePathStyle = _options.PathStyle,
                AuthenticationRegion = _options.Region,
                ServiceURL = _options.PublicUrl,
            };
            _presigner = NewClient(linkConfig);
        }
    }

    private AmazonS3Client NewClient(AmazonS3Config config) =>
        string.IsNullOrWhiteSpace(_options.AccessKey)
            ? new AmazonS3Client(config)
            : new AmazonS3Client(new BasicAWSCredentials(_options.AccessKey, _options.SecretKey), config);

    /// <summary>Where requests go, for messages: the endpoint, never a credential.</summary>
    public string Endpoint => string.IsNullOrWhiteSpace(_options.ServiceUrl) ? $"AWS S3 ({_options.Region})" : _options.ServiceUrl;

    public async Task<BlobContent?> OpenReadAsync(string key, CancellationToken cancellationToken)
    {
        if (!BlobKeys.IsWellFormed(key))
        {
            return null;
        }

        GetObjectMetadataResponse head;
        try
        {
            // HEAD first: a 304, a HEAD request or a Range answer needs the validators before any byte,
            // and the stream then asks only for the bytes it is read from.
            head = await _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _bucket, Key = key }, cancellationToken);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        var entityTag = Quoted(head.ETag);
        var modified = head.LastModified is { } at ? Utc(at) : _time.GetUtcNow();
        return new BlobContent(new S3ObjectStream(_client, _bucket, key, head.ContentLength, entityTag), head.ContentLength, BlobKeys.ContentType(key), modified, entityTag);
    }

    public async Task WriteAsync(string key, Stream content, CancellationToken cancellationToken)
    {
        BlobKeys.EnsureWellFormed(key);

        // Staged on local disk first, so a source that fails midway fails here with its own error and
        // nothing reaches the bucket (some S3-compatible servers keep what arrived of an aborted PUT),
        // and the upload can be retried from a seekable file.
        var staged = Path.Combine(_data.Work, "upload-" + Guid.NewGuid().ToString("N") + ".partial");
        try
        {
            await using (var file = new FileStream(staged, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true))
            {
                await content.CopyToAsync(file, cancellationToken);
            }

            await UploadOrUnavailableAsync(key, staged, cancellationToken);
        }
        finally
        {
            File.Delete(staged);
        }
    }

    public async Task PutFileAsync(string key, string sourcePath, CancellationToken cancellationToken)
    {
        BlobKeys.EnsureWellFormed(key);
        await UploadOrUnavailableAsync(key, sourcePath, cancellationToken);
        File.Delete(sourcePath);
    }

    /// <summary>
    /// Uploads, and says a store that cannot take it (unreachable, failing, refusing the credentials) the
    /// way every store does: a <see cref="StoreUnavailableException"/>, which callers answer with 503 or
    /// back off on, never a reason to fail the task whose video it is.
    /// </summary>
    private async Task UploadOrUnavailableAsync(string key, string path, CancellationToken cancellationToken)
    {
        try
        {
            await UploadAsync(key, path, cancellationToken);
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
        {
            var (reason, what) = e is AmazonServiceException { StatusCode: >= HttpStatusCode.InternalServerError } service
                ? (StoreUnavailableReason.IoError, $"answered {(int)service.StatusCode}{Code(service)}")
                : e is AmazonServiceException refused
                    ? (StoreUnavailableReason.CannotOpen, $"refused the upload ({(int)refused.StatusCode}{Code(refused)})")
                    : (StoreUnavailableReason.CannotOpen, $"cannot be reached ({e.Message})");
            throw new StoreUnavailableException(reason, $"the S3 store at {Endpoint} {what}", TimeSpan.FromSeconds(5), e);
        }
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        if (BlobKeys.IsWellFormed(key))
        {
            // S3 answers 204 whether or not the object existed: deleting twice is quiet by itself.
            await _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _bucket, Key = key }, cancellationToken);
        }
    }

    /// <summary>
    /// A presigned GET URL of the store, valid for at least <paramref name="lifetime"/>. Its expiry is rounded
    /// up to the next minute and the URL is remembered until then, so every query in that minute hands out
    /// the same link (a browser's cache of the video stays warm) and signing costs nothing per request.
    /// <paramref name="request"/> is not used: the store serves the link itself.
    /// </summary>
    public string GetReadUrl(string key, TimeSpan lifetime, HttpRequest request)
    {
        BlobKeys.EnsureWellFormed(key);
        var minuteEnd = DateTimeOffset.FromUnixTimeSeconds((_time.GetUtcNow().ToUnixTimeSeconds() / 60 + 1) * 60);
        var remembered = string.Create(CultureInfo.InvariantCulture, $"{minuteEnd.ToUnixTimeSeconds()} {lifetime.Ticks} {key}");
        if (_urls.TryGetValue(remembered, out string? url) && url is not null)
        {
            return url;
        }

        url = _presigner.GetPreSignedURL(new GetPreSignedUrlRequest
        {
            BucketName = _bucket,
            Key = key,
            Verb = HttpVerb.GET,
            Protocol = _protocol,
            Expires = (minuteEnd + lifetime).UtcDateTime,
        });
        _urls.Set(remembered, url, new MemoryCacheEntryOptions { AbsoluteExpiration = minuteEnd, Size = 1 });
        return url;
    }

    /// <summary>
    /// Readiness: the bucket answers a HEAD with these credentials. With <c>CreateBucket</c>, a missing
    /// bucket is created. Every failure says which setting to look at.
    /// </summary>
    public async Task<HealthCheckResult> CheckBucketAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _client.HeadBucketAsync(new HeadBucketRequest { BucketName = _bucket }, cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound && _options.CreateBucket)
        {
            return await CreateBucketAsync(cancellationToken);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return HealthCheckResult.Unhealthy($"S3 bucket '{_bucket}' does not exist at {Endpoint}: create it, or set Blobs:S3:CreateBucket to true.");
        }
        catch (AmazonS3Exception e) when (e.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized)
        {
            // A HEAD answer has no body, so S3 cannot say which credential was wrong.
            return HealthCheckResult.Unhealthy($"S3 at {Endpoint} refused access to bucket '{_bucket}' ({(int)e.StatusCode}{Code(e)}): check Blobs:S3:AccessKey and Blobs:S3:SecretKey, and that the key may read and write the bucket.");
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.MovedPermanently)
        {
            return HealthCheckResult.Unhealthy($"S3 bucket '{_bucket}' is in another region than Blobs:S3:Region '{_options.Region}': set the bucket's region.");
        }
        catch (AmazonS3Exception e)
        {
            return HealthCheckResult.Unhealthy($"S3 at {Endpoint} answered {(int)e.StatusCode}{Code(e)} for bucket '{_bucket}'.");
        }
        catch (Exception e) when (e is AmazonClientException or HttpRequestException or IOException)
        {
            return HealthCheckResult.Unhealthy($"S3 at {Endpoint} cannot be reached (Blobs:S3:ServiceUrl): {e.Message}");
        }
    }

    public void Dispose()
    {
        _client.Dispose();
        if (!ReferenceEquals(_presigner, _client))
        {
            _presigner.Dispose();
        }

        _urls.Dispose();
    }

    /// <summary>
    /// Streams a file into the bucket: one PUT below <see cref="MultipartThreshold"/>, a multipart upload
    /// above it, whose parts are read straight from the file at their offsets, a few at once, each retried
    /// by the SDK on its own, and past the 5 GB one PUT may carry. The file is never held in memory, and the
    /// object appears only once whole (completing a multipart upload is atomic; a failed one is aborted).
    /// Payloads are signed whole (the SDK hashes the file, then sends it) rather than in aws-chunked
    /// frames: S3-compatible servers that do not decode those frames (s3rver among them) would store
    /// them as the object's bytes. TransferUtility always sends such frames, so it is not used.
    /// </summary>
    private async Task UploadAsync(string key, string path, CancellationToken cancellationToken)
    {
        var size = new FileInfo(path).Length;
        if (size < MultipartThreshold)
        {
            await _client.PutObjectAsync(new PutObjectRequest
            {
                BucketName = _bucket,
                Key = key,
                FilePath = path,
                ContentType = BlobKeys.ContentType(key),
                UseChunkEncoding = false,
            }, cancellationToken);
            return;
        }

        var upload = await _client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest
        {
            BucketName = _bucket,
            Key = key,
            ContentType = BlobKeys.ContentType(key),
        }, cancellationToken);
        try
        {
            // S3 allows at most 10,000 parts, each at least 5 MB but the last.
            var partSize = Math.Max(PartSize, (size + MaxParts - 1) / MaxParts);
            var count = (int)((size + partSize - 1) / partSize);
            var tags = new PartETag[count];
            await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = ConcurrentParts, CancellationToken = cancellationToken }, async (index, token) =>
            {
                var offset = index * partSize;
                var part = await _client.UploadPartAsync(new UploadPartRequest
                {
                    BucketName = _bucket,
                    Key = key,
                    UploadId = upload.UploadId,
                    PartNumber = index + 1,
                    FilePath = path,
                    FilePosition = offset,
                    PartSize = Math.Min(partSize, size - offset),
                    IsLastPart = index == count - 1,
                    UseChunkEncoding = false,
                }, token);
                tags[index] = new PartETag(index + 1, part.ETag);
            });

            await _client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = _bucket,
                Key = key,
                UploadId = upload.UploadId,
                PartETags = [.. tags],
            }, cancellationToken);
        }
        catch
        {
            // Parts of an upload never completed are kept, and billed, until aborted.
            try
            {
                await _client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = _bucket, Key = key, UploadId = upload.UploadId }, CancellationToken.None);
            }
            catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException)
            {
                LogAbortFailed(_logger, key, e.Message);
            }

            throw;
        }
    }

    private async Task<HealthCheckResult> CreateBucketAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _client.PutBucketAsync(new PutBucketRequest { BucketName = _bucket }, cancellationToken);
            LogBucketCreated(_logger, _bucket, Endpoint);
            return HealthCheckResult.Healthy();
        }
        catch (AmazonS3Exception e) when (e.ErrorCode is "BucketAlreadyOwnedByYou")
        {
            // Another instance created it a moment ago.
            return HealthCheckResult.Healthy();
        }
        catch (AmazonS3Exception e)
        {
            return HealthCheckResult.Unhealthy($"S3 bucket '{_bucket}' does not exist at {Endpoint} and could not be created (Blobs:S3:CreateBucket): {(int)e.StatusCode}{Code(e)}.");
        }
    }

    private static string Code(AmazonServiceException e) => string.IsNullOrEmpty(e.ErrorCode) ? "" : " " + e.ErrorCode;

    /// <summary>S3 sends ETags quoted; a server that does not is quoted here, since <c>If-Range</c> compares quoted strong tags.</summary>
    private static string Quoted(string? etag) =>
        string.IsNullOrEmpty(etag) ? "\"\"" : etag.StartsWith('"') ? etag : "\"" + etag + "\"";

    private static DateTimeOffset Utc(DateTime at) =>
        at.Kind == DateTimeKind.Unspecified ? new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc)) : new DateTimeOffset(at.ToUniversalTime());

    [LoggerMessage(Level = LogLevel.Warning, Message = "A failed multipart upload of {Key} could not be aborted; its parts stay in the bucket until a lifecycle rule removes them: {Reason}")]
    private static partial void LogAbortFailed(ILogger logger, string key, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Created S3 bucket {Bucket} at {Endpoint}")]
    private static partial void LogBucketCreated(ILogger logger, string bucket, string endpoint);
}
