using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Reelay.Providers.ComfyUi;

/// <summary>Where a prompt is, as its server's websocket told it.</summary>
internal enum PromptPhase
{
    /// <summary>Queued on this socket; no event of it yet.</summary>
    Queued,

    /// <summary>Started (<c>execution_start</c>, <c>executing</c> a node, <c>progress</c>…).</summary>
    Running,

    /// <summary>Finished, well or not: <c>executing</c> with <c>node: null</c>, sent once the history entry is written.</summary>
    Ended,
}

/// <summary>One prompt as the events of its socket left it.</summary>
/// <param name="Progress">0–99 from the latest <c>progress</c> (sampler steps), when one came.</param>
/// <param name="Error">What <c>execution_error</c> or <c>execution_interrupted</c> said, when one came.</param>
/// <param name="CheckedAt">When the prompt was last looked up over HTTP, or first followed (Unix ms).</param>
/// <param name="LastEvent">The latest event as sent, for diagnostics.</param>
internal sealed record PromptState(PromptPhase Phase, int? Progress, string? Error, bool Interrupted, long CheckedAt, string LastEvent);

/// <summary>
/// Follows ComfyUI servers over their websocket (<c>/ws?clientId=…</c>): one connection per channel,
/// opened before a prompt is queued (the server sends a prompt's events only to the socket whose
/// clientId the prompt names) and read for as long as it stays up. Events feed a per-prompt state that
/// a poll reads; a start and an end are reported on <see cref="Changes"/> so the engine polls at once.
/// A socket that cannot be opened or drops leaves polls to <c>/history</c> and <c>/queue</c>: the
/// prompts it followed lose their state and are reported, so each is looked up over HTTP now.
/// </summary>
internal sealed partial class ComfyUiSockets(TimeProvider time, TimeSpan connectTimeout, ILogger logger) : IAsyncDisposable
{
    // A server whose /ws cannot be reached (a proxy without websocket support) is not asked again at
    // every submission: each attempt can cost the connect timeout.
    private static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(30);

    // execution_error carries a traceback and executed a node's whole UI output; larger is skipped.
    private const int MaxMessageBytes = 4 * 1024 * 1024;

    private readonly ConcurrentDictionary<string, Connection> _connections = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _connecting = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _retryAt = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, UpstreamJob> _jobs = new(StringComparer.Ordinal);
    private readonly Channel<UpstreamJob> _changes = Channel.CreateUnbounded<UpstreamJob>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>
    /// This process's id towards every server. Per process, not fixed: a server keeps one socket per id,
    /// so two Reelay instances sharing one would take each other's events.
    /// </summary>
    public string ClientId { get; } = "reelay-" + Guid.NewGuid().ToString("N");

    /// <summary>Prompts that started or ended, and those a dropped socket was following.</summary>
    public ChannelReader<UpstreamJob> Changes => _changes.Reader;

    /// <summary>Whether the channel's socket is open now (after trying to open it, unless a recent try failed).</summary>
    public async Task<bool> ConnectAsync(ChannelSettings channel, Uri baseUrl, CancellationToken cancellationToken)
    {
        var key = KeyOf(channel, baseUrl);
        if (_connections.TryGetValue(key, out var open) && open.Live)
        {
            return true;
        }

        if (_retryAt.TryGetValue(key, out var retryAt) && time.GetUtcNow() < retryAt)
        {
            return false;
        }

        var gate = _connecting.GetOrAdd(key, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (_connections.TryGetValue(key, out open) && open.Live)
            {
                return true;
            }

            var socket = new ClientWebSocket();
            socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(30);
            if (!string.IsNullOrEmpty(channel.ApiKey))
            {
                // The same bearer token the HTTP calls carry, for the proxy in front.
                socket.Options.SetRequestHeader("Authorization", "Bearer " + channel.ApiKey);
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
            timeout.CancelAfter(connectTimeout);
            try
            {
                await socket.ConnectAsync(SocketUrl(baseUrl), timeout.Token);
            }
            catch (Exception e) when (e is WebSocketException or HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                socket.Dispose();
                _retryAt[key] = time.GetUtcNow() + RetryAfterFailure;
                LogUnavailable(logger, channel.Name, e.GetType().Name, e.Message);
                return false;
            }

            var connection = new Connection(socket);
            _connections[key] = connection;
            _retryAt.TryRemove(key, out _);
            connection.Reading = ReadAsync(key, channel.Name, connection);
            LogConnected(logger, channel.Name, ClientId);
            return true;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>A prompt just queued: followed on the channel's socket if it is open. Its events may have come first.</summary>
    public void Follow(ChannelSettings channel, Uri baseUrl, UpstreamJob job)
    {
        _jobs[job.UpstreamId] = job;
        if (!_connections.TryGetValue(KeyOf(channel, baseUrl), out var connection) || !connection.Live)
        {
            return;
        }

        var state = connection.Prompts.GetOrAdd(job.UpstreamId, _ => new PromptState(PromptPhase.Queued, null, null, false, Now, ""));
        if (state.Phase != PromptPhase.Queued)
        {
            // It started (or ended) before the answer to /prompt came: say so now that its task is known.
            _changes.Writer.TryWrite(job);
        }
    }

    /// <summary>The prompt as the channel's open socket knows it, or null (no open socket, or not followed on it).</summary>
    public PromptState? StateOf(ChannelSettings channel, Uri baseUrl, UpstreamJob job)
    {
        // Remembered at every poll, so a start or end the socket reports names the task even after a restart of this process.
        _jobs.TryAdd(job.UpstreamId, job);
        return _connections.TryGetValue(KeyOf(channel, baseUrl), out var connection) && connection.Live
            && connection.Prompts.TryGetValue(job.UpstreamId, out var state)
                ? state
                : null;
    }

    /// <summary>Notes that a followed prompt was just looked up over HTTP.</summary>
    public void Checked(ChannelSettings channel, Uri baseUrl, string promptId)
    {
        // A lost race with an event only means one more lookup next time.
        if (_connections.TryGetValue(KeyOf(channel, baseUrl), out var connection) && connection.Prompts.TryGetValue(promptId, out var old))
        {
            connection.Prompts.TryUpdate(promptId, old with { CheckedAt = Now }, old);
        }
    }

    /// <summary>The prompt has ended for Reelay (its end was read from the history): nothing more to follow.</summary>
    public void Forget(ChannelSettings channel, Uri baseUrl, string promptId)
    {
        _jobs.TryRemove(promptId, out _);
        if (_connections.TryGetValue(KeyOf(channel, baseUrl), out var connection))
        {
            connection.Prompts.TryRemove(promptId, out _);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        foreach (var connection in _connections.Values)
        {
            connection.Socket.Abort();
            await connection.Reading;
        }

        _changes.Writer.TryComplete();
        _stopping.Dispose();
        foreach (var gate in _connecting.Values)
        {
            gate.Dispose();
        }
    }

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Reads events until the socket closes or fails; then its prompts go back to HTTP polling, reported so that happens now.</summary>
    private async Task ReadAsync(string key, string channelName, Connection connection)
    {
        // Off the caller's path: the submission that opened the socket goes on at once.
        await Task.Yield();
        var buffer = new byte[16 * 1024];
        using var message = new MemoryStream();
        var skipping = false;
        try
        {
            while (true)
            {
                var received = await connection.Socket.ReceiveAsync(buffer.AsMemory(), _stopping.Token);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                // Binary frames are previews (event 1, 4) and text of nodes (3): not needed to follow a prompt.
                skipping |= received.MessageType == WebSocketMessageType.Binary || message.Length + received.Count > MaxMessageBytes;
                if (!skipping)
                {
                    message.Write(buffer, 0, received.Count);
                }

                if (received.EndOfMessage)
                {
                    if (!skipping)
                    {
                        Handle(connection, message.GetBuffer().AsSpan(0, (int)message.Length));
                    }

                    message.SetLength(0);
                    skipping = false;
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
        }
        finally
        {
            connection.Live = false;
            _connections.TryRemove(new KeyValuePair<string, Connection>(key, connection));
            if (!_stopping.IsCancellationRequested)
            {
                LogDropped(logger, channelName, connection.Prompts.Count);
                foreach (var (promptId, state) in connection.Prompts)
                {
                    if (state.Phase != PromptPhase.Ended && _jobs.TryGetValue(promptId, out var job))
                    {
                        _changes.Writer.TryWrite(job);
                    }
                }
            }

            connection.Socket.Dispose();
        }
    }

    /// <summary>One text frame: <c>{"type": "...", "data": {...}}</c>. Unknown types and malformed frames are ignored.</summary>
    private void Handle(Connection connection, ReadOnlySpan<byte> frame)
    {
        string? type;
        string? promptId;
        JsonElement data;
        try
        {
            using var document = JsonDocument.Parse(frame.ToArray());
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("data", out var d) || d.ValueKind != JsonValueKind.Object)
            {
                return;
            }

            type = root.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            data = d.Clone();
            promptId = data.TryGetProperty("prompt_id", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
        }
        catch (JsonException)
        {
            return;
        }

        if (promptId is null)
        {
            // status (queue_remaining) names no prompt.
            return;
        }

        var text = System.Text.Encoding.UTF8.GetString(frame);
        switch (type)
        {
            case "execution_start":
                Update(connection, promptId, text, s => s with { Phase = PromptPhase.Running }, report: true);
                break;
            case "executing" when data.TryGetProperty("node", out var node) && node.ValueKind == JsonValueKind.Null:
                // Sent after the history entry is written, success or not: the poll it causes reads the outcome there.
                Update(connection, promptId, text, s => s with { Phase = PromptPhase.Ended }, report: true);
                break;
            case "progress":
                var value = data.TryGetProperty("value", out var v) && v.TryGetDouble(out var vd) ? vd : 0;
                var max = data.TryGetProperty("max", out var m) && m.TryGetDouble(out var md) ? md : 0;
                Update(connection, promptId, text, s => s with { Phase = PromptPhase.Running, Progress = max > 0 ? Math.Clamp((int)(value * 100 / max), 0, 99) : s.Progress }, report: false);
                break;
            case "execution_error":
                var nodeType = data.TryGetProperty("node_type", out var n) ? n.GetString() : null;
                var exception = data.TryGetProperty("exception_message", out var x) ? x.GetString() : null;
                Update(connection, promptId, text, s => s with { Error = $"ComfyUI failed in {nodeType ?? "a node"}: {exception ?? "no message"}" }, report: false);
                break;
            case "execution_interrupted":
                Update(connection, promptId, text, s => s with { Error = "The ComfyUI prompt was interrupted.", Interrupted = true }, report: false);
                break;
            case "executing" or "execution_cached" or "executed" or "progress_state" or "execution_success":
                Update(connection, promptId, text, s => s with { Phase = PromptPhase.Running }, report: false);
                break;
        }
    }

    private void Update(Connection connection, string promptId, string text, Func<PromptState, PromptState> change, bool report)
    {
        var updated = connection.Prompts.AddOrUpdate(
            promptId,
            _ => change(new PromptState(PromptPhase.Queued, null, null, false, Now, text)) with { LastEvent = text },
            // An end is final: a late progress frame does not reopen the prompt.
            (_, old) => old.Phase == PromptPhase.Ended ? old : change(old) with { LastEvent = text });
        if (report && updated.LastEvent == text && _jobs.TryGetValue(promptId, out var job))
        {
            _changes.Writer.TryWrite(job);
        }
    }

    private static string KeyOf(ChannelSettings channel, Uri baseUrl) => channel.Name + "\n" + baseUrl.AbsoluteUri;

    /// <summary><c>ws(s)://host/…/ws?clientId=</c> beside the channel's HTTP base URL (a proxy prefix included).</summary>
    private Uri SocketUrl(Uri baseUrl)
    {
        var http = Http.UpstreamClient.Combine(baseUrl, "/ws?clientId=" + Uri.EscapeDataString(ClientId));
        var builder = new UriBuilder(http) { Scheme = http.Scheme == Uri.UriSchemeHttps ? "wss" : "ws" };
        return builder.Uri;
    }

    private sealed class Connection(ClientWebSocket socket)
    {
        public ClientWebSocket Socket { get; } = socket;

        public ConcurrentDictionary<string, PromptState> Prompts { get; } = new(StringComparer.Ordinal);

        public volatile bool Live = true;

        public Task Reading { get; set; } = Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "ComfyUI channel {Channel}: following prompts over its websocket as {ClientId}")]
    private static partial void LogConnected(ILogger logger, string channel, string clientId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "ComfyUI channel {Channel}: its websocket cannot be opened ({Kind}: {Reason}); prompts are polled through /history")]
    private static partial void LogUnavailable(ILogger logger, string channel, string kind, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "ComfyUI channel {Channel}: its websocket dropped; the {Prompts} prompts it followed are polled through /history")]
    private static partial void LogDropped(ILogger logger, string channel, int prompts);
}
