using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Reelay.Blobs;
using Reelay.Channels;

namespace Reelay.Engine;

/// <summary>How upstream callbacks are taken in (section <c>Callbacks</c>).</summary>
public sealed class UpstreamCallbackOptions
{
    /// <summary>Callbacks one remote address may send per second before it is answered 429. Default 20.</summary>
    public int PermitsPerSecond { get; set; } = 20;

    /// <summary>Callbacks one remote address may send at once above that rate. Default 100.</summary>
    public int Burst { get; set; } = 100;

    /// <summary>Largest callback body read; a larger one is answered alike but dropped. Default 1 MiB.</summary>
    public int MaxBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Callbacks waiting to be read; more are answered alike but dropped (polling still finds the jobs). Default 10,000.</summary>
    public int QueueCapacity { get; set; } = 10_000;
}

/// <summary>A callback as the route took it in, before its token is checked.</summary>
public sealed record ReceivedCallback(string Provider, string Token, IReadOnlyDictionary<string, string> Headers, ReadOnlyMemory<byte> Body, DateTimeOffset ReceivedAt);

/// <summary>
/// The per-task callback URLs handed to upstreams, and the queue the callback route fills. A token is
/// the task id and channel name, signed (HMAC-SHA256 under a key derived from the file-URL signing
/// key), so it cannot be guessed or altered, and no table maps tokens: checking one costs the same
/// whether or not its task exists. The route only enqueues; <see cref="CallbackReceiver"/> checks
/// and acts, so the answer is the same, and as fast, for every token.
/// </summary>
public sealed class UpstreamCallbacks : IDisposable
{
    private const int MacBytes = 16;
    private readonly byte[] _key;
    private readonly System.Threading.Channels.Channel<ReceivedCallback> _inbox;
    private readonly PartitionedRateLimiter<IPAddress> _limiter;

    public UpstreamCallbacks(IOptions<FileLinkOptions> links, IOptions<UpstreamCallbackOptions> options)
    {
        // Its own key, so a callback token can never pass for a file-link signature or the other way round.
        _key = HMACSHA256.HashData(Encoding.UTF8.GetBytes(links.Value.SigningKey ?? ""), "reelay upstream callback tokens"u8);
        Options = options.Value;
        _inbox = System.Threading.Channels.Channel.CreateBounded<ReceivedCallback>(new System.Threading.Channels.BoundedChannelOptions(Options.QueueCapacity)
        {
            FullMode = System.Threading.Channels.BoundedChannelFullMode.DropWrite,
            SingleReader = true,
        });
        _limiter = PartitionedRateLimiter.Create<IPAddress, IPAddress>(address => RateLimitPartition.GetTokenBucketLimiter(address, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(1, Options.Burst),
            TokensPerPeriod = Math.Max(1, Options.PermitsPerSecond),
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
        }));
    }

    public UpstreamCallbackOptions Options { get; }

    /// <summary>Callbacks taken in, for <see cref="CallbackReceiver"/>.</summary>
    public System.Threading.Channels.ChannelReader<ReceivedCallback> Reader => _inbox.Reader;

    /// <summary>The URL a job on <paramref name="route"/> is submitted with: <c>{PublicCallbackBaseUrl}callbacks/{provider}/{token}</c>.</summary>
    public Uri UrlFor(RouteCandidate route, string taskId) =>
        new(route.Channel.PublicCallbackBaseUrl!, $"callbacks/{Uri.EscapeDataString(route.Provider.Name)}/{Token(taskId, route.Channel.Name)}");

    /// <summary>Whether one more callback from this address is within its rate.</summary>
    public bool TryAdmit(IPAddress? address)
    {
        using var lease = _limiter.AttemptAcquire(address ?? IPAddress.None);
        return lease.IsAcquired;
    }

    /// <summary>Queues a callback for the receiver; false when the queue is full (it is then dropped).</summary>
    public bool TryEnqueue(ReceivedCallback callback) => _inbox.Writer.TryWrite(callback);

    /// <summary>The task and channel a token was issued for; false for any token Reelay did not issue, in constant time.</summary>
    public bool TryRead(string token, out string taskId, out string channel)
    {
        taskId = channel = "";
        var dot = token.LastIndexOf('.');
        if (dot <= 0 || token.Length > 1024)
        {
            return false;
        }

        byte[] payload, mac;
        try
        {
            payload = Base64Url.DecodeFromChars(token.AsSpan(0, dot));
            mac = Base64Url.DecodeFromChars(token.AsSpan(dot + 1));
        }
        catch (FormatException)
        {
            return false;
        }

        if (!CryptographicOperations.FixedTimeEquals(mac, HMACSHA256.HashData(_key, payload).AsSpan(0, MacBytes)))
        {
            return false;
        }

        var text = Encoding.UTF8.GetString(payload);
        var newline = text.IndexOf('\n', StringComparison.Ordinal);
        if (newline <= 0)
        {
            return false;
        }

        (taskId, channel) = (text[..newline], text[(newline + 1)..]);
        return true;
    }

    private string Token(string taskId, string channel)
    {
        var payload = Encoding.UTF8.GetBytes(taskId + "\n" + channel);
        return Base64Url.EncodeToString(payload) + "." + Base64Url.EncodeToString(HMACSHA256.HashData(_key, payload).AsSpan(0, MacBytes));
    }

    public void Dispose() => _limiter.Dispose();
}
