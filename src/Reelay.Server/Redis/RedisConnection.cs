using System.Net;
using Microsoft.Extensions.Options;
using Reelay.Telemetry;
using StackExchange.Redis;

namespace Reelay.Redis;

/// <summary>
/// The process's one connection to Redis, and what every use of it shares: whether Redis can be reached,
/// the notices instances send each other, and the outage log. Redis is never required: the connection is
/// made in the background (startup does not wait for Redis, nor fail without it), a command while it is
/// down fails at once instead of queueing, and each caller then does without (rates counted in process,
/// notices reaching this instance only). One warning per outage, whatever the number of requests.
/// </summary>
public sealed partial class RedisConnection : IDisposable
{
    /// <summary>Separates the sending instance from the payload in a notice.</summary>
    private const char Separator = '\n';

    private readonly ConnectionMultiplexer _multiplexer;
    private readonly ReelayTelemetry _telemetry;
    private readonly ILogger<RedisConnection> _logger;

    /// <summary>Marks this process's notices: Redis delivers them back to it, and it already acted on them.</summary>
    private readonly string _instance = Guid.NewGuid().ToString("N");

    /// <summary>1 while Redis is known to be unreachable (an outage is logged once, when this turns 1).</summary>
    private int _down;

    public RedisConnection(IOptions<RedisOptions> options, ReelayTelemetry telemetry, ILogger<RedisConnection> logger)
    {
        _telemetry = telemetry;
        _logger = logger;
        var configuration = ConfigurationOptions.Parse(options.Value.Configuration!);
        // Startup never fails because Redis is down: the multiplexer keeps trying in the background.
        configuration.AbortOnConnectFail = false;
        // A command sent while disconnected fails at once rather than waiting in a backlog for its timeout:
        // the request that sent it falls back and is answered without delay.
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        Servers = string.Join(", ", configuration.EndPoints.Select(Describe));
        _multiplexer = ConnectionMultiplexer.Connect(configuration);
        _multiplexer.ConnectionFailed += (_, e) => MarkDown(e.FailureType.ToString());
        _multiplexer.ConnectionRestored += (_, _) => MarkUp();
        if (!_multiplexer.IsConnected)
        {
            MarkDown("not reachable at start");
        }
    }

    /// <summary>The servers of the configuration string (never its password), for logs and readiness.</summary>
    public string Servers { get; }

    /// <summary>Whether a command could be sent now; false from the moment the connection drops until it is back.</summary>
    public bool IsConnected => _multiplexer.IsConnected;

    public IDatabase Database => _multiplexer.GetDatabase();

    /// <summary>An operation did without Redis (<c>rate</c>, <c>publish</c>): counted, and the outage logged if it is new.</summary>
    public void FellBack(string operation, string reason)
    {
        _telemetry.RecordRedisFallback(operation);
        MarkDown(reason);
    }

    /// <summary>An operation reached Redis: an outage, if there was one, is over.</summary>
    public void Succeeded() => MarkUp();

    /// <summary>
    /// Sends <paramref name="payload"/> to the other instances subscribed to <paramref name="channel"/>,
    /// without waiting for Redis: every notice only says "look again", the stores stay the truth, so a lost
    /// one costs the other instances latency (a wait's closing read, a cache entry's lifetime), never a
    /// wrong answer.
    /// </summary>
    public void Publish(RedisChannel channel, string payload)
    {
        if (!IsConnected)
        {
            FellBack("publish", "not connected");
            return;
        }

        try
        {
            _multiplexer.GetSubscriber().Publish(channel, _instance + Separator + payload, CommandFlags.FireAndForget);
        }
        catch (RedisException e)
        {
            FellBack("publish", e.Message);
        }
    }

    /// <summary>
    /// As <see cref="Publish"/>, but completes once Redis has relayed the notice to its subscribers (or
    /// could not be reached: then the notice reached this instance only, which is logged and counted).
    /// </summary>
    public async Task PublishAndWaitAsync(RedisChannel channel, string payload)
    {
        if (!IsConnected)
        {
            FellBack("publish", "not connected");
            return;
        }

        try
        {
            await _multiplexer.GetSubscriber().PublishAsync(channel, _instance + Separator + payload);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            FellBack("publish", e.Message);
        }
    }

    /// <summary>
    /// Calls <paramref name="onNotice"/> with each payload another instance publishes on the channel. The
    /// subscription is kept by the multiplexer even when Redis is down now, and made again on every
    /// reconnection.
    /// </summary>
    public void Subscribe(RedisChannel channel, Action<string> onNotice)
    {
        try
        {
            _multiplexer.GetSubscriber().Subscribe(channel, (_, message) =>
            {
                var text = (string?)message;
                if (text is not null && text.IndexOf(Separator, StringComparison.Ordinal) is var at and > 0 && !text.AsSpan(0, at).SequenceEqual(_instance))
                {
                    onNotice(text[(at + 1)..]);
                }
            });
        }
        catch (RedisException e)
        {
            MarkDown(e.Message);
        }
    }

    public void Dispose() => _multiplexer.Dispose();

    private void MarkDown(string reason)
    {
        if (Interlocked.Exchange(ref _down, 1) == 0)
        {
            LogUnreachable(_logger, Servers, reason);
        }
    }

    private void MarkUp()
    {
        if (Volatile.Read(ref _down) == 1 && _multiplexer.IsConnected && Interlocked.Exchange(ref _down, 0) == 1)
        {
            LogReachable(_logger, Servers);
        }
    }

    private static string Describe(EndPoint endPoint) => endPoint switch
    {
        DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
        _ => endPoint.ToString() ?? "",
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis at {Servers} cannot be reached ({Reason}): request rates are counted by each instance alone, and task and key notices reach this instance only, until it is back")]
    private static partial void LogUnreachable(ILogger logger, string servers, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Redis at {Servers} is reachable again: request rates and notices are shared by every instance")]
    private static partial void LogReachable(ILogger logger, string servers);
}
