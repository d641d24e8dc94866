using Amazon.S3;
using Amazon.S3.Model;

namespace Reelay.Blobs.S3;

/// <summary>
/// An object read as a seekable stream: each read continues one ranged GET from where the stream is
/// positioned, and a seek elsewhere drops it, so the next read asks for the bytes from there to the end.
/// ASP.NET's range processing seeks to the range's start and reads its length: a Range request costs one
/// GET of the bytes from that start. Every GET names the ETag the answer's validators came from, so the
/// bytes are of that version or the read fails.
/// </summary>
internal sealed class S3ObjectStream(IAmazonS3 client, string bucket, string key, long length, string entityTag) : Stream
{
    private GetObjectResponse? _response;
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position
    {
        get => _position;
        set => Seek(value, SeekOrigin.Begin);
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        var target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            SeekOrigin.End => length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
        ArgumentOutOfRangeException.ThrowIfNegative(target, nameof(offset));
        if (target != _position)
        {
            CloseBody();
            _position = target;
        }

        return _position;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.Length == 0 || _position >= length)
        {
            return 0;
        }

        _response ??= await client.GetObjectAsync(new GetObjectRequest
        {
            BucketName = bucket,
            Key = key,
            ByteRange = new ByteRange(_position, length - 1),
            EtagToMatch = entityTag,
        }, cancellationToken);

        var read = await _response.ResponseStream.ReadAsync(buffer, cancellationToken);
        if (read == 0)
        {
            throw new IOException($"S3 object '{key}' ended at byte {_position} of {length}.");
        }

        _position += read;
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>The SDK has no synchronous calls; Reelay reads blobs asynchronously, this is for callers that cannot.</summary>
    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            CloseBody();
        }

        base.Dispose(disposing);
    }

    /// <summary>Drops the GET under way; a body not read to its end closes its connection rather than reading the rest.</summary>
    private void CloseBody()
    {
        _response?.Dispose();
        _response = null;
    }
}
