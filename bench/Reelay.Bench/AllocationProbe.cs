using System.Net;
using System.Net.Sockets;
using System.Text;
using Reelay.Testing;

namespace Reelay.Bench;

/// <summary>Bytes the server allocated per request, for one kind of request.</summary>
internal sealed record AllocationFigure(string Name, int Requests, double BytesPerRequest)
{
    /// <summary>The types that took the most of the sampled bytes, with their share.</summary>
    public IReadOnlyList<(string Type, double Share)> LargestTypes { get; init; } = [];
}

/// <summary>
/// Allocations per request, measured in process: Reelay is hosted in the bench's own process
/// (<see cref="ReelayApp"/>, on a real Kestrel socket) over a data directory the run filled, and a
/// client that allocates nothing per request (a blocking socket on one thread, requests formatted once,
/// answers read into one buffer) sends requests one at a time. <see cref="GC.GetTotalAllocatedBytes"/>
/// before and after, divided by the count, is then what the server allocated per request (Kestrel,
/// middleware, auth, handler), give or take the idle timers of the host (well under a byte a request).
/// </summary>
internal static class AllocationProbe
{
    private const int Warmup = 2_000;

    /// <summary>Requests per kind; sequential, so this takes a few seconds per kind.</summary>
    private const int Measured = 10_000;

    public static async Task<IReadOnlyList<AllocationFigure>> RunAsync(
        string dataDir, string clientKey, IReadOnlyList<(string Name, string Method, string Path, string? Body)> kinds)
    {
        await using var app = ReelayApp.Start(
            new Dictionary<string, string?>
            {
                ["Engine:Enabled"] = "false",
                ["Limits:MaxInFlightPerTestKey"] = "0",
                ["Limits:LocalAdmission"] = "false",
                ["Logging:LogLevel:Default"] = "Warning",
            },
            dataDir);
        var figures = new List<AllocationFigure>();
        foreach (var (name, method, path, body) in kinds)
        {
            // A dedicated thread: nothing else of the bench runs while it measures.
            var figure = await Task.Factory.StartNew(
                () => Measure(app.BaseAddress, name, method, path, body, clientKey), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            figures.Add(figure);
            Console.WriteLine(FormattableString.Invariant($"  allocations: {name,-44} {figure.BytesPerRequest,8:0} B/request"));
        }

        return figures;
    }

    private static AllocationFigure Measure(Uri server, string name, string method, string path, string? body, string key)
    {
        var bodyBytes = body is null ? [] : Encoding.UTF8.GetBytes(body);
        var head = new StringBuilder()
            .Append(method).Append(' ').Append(path).Append(" HTTP/1.1\r\n")
            .Append("Host: ").Append(server.Authority).Append("\r\n")
            .Append("Authorization: Bearer ").Append(key).Append("\r\n");
        if (body is not null)
        {
            head.Append("Content-Type: application/json\r\nContent-Length: ").Append(bodyBytes.Length).Append("\r\n");
        }

        var request = Encoding.ASCII.GetBytes(head.Append("\r\n").ToString()).Concat(bodyBytes).ToArray();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Connect(new IPEndPoint(IPAddress.Loopback, server.Port));
        var buffer = new byte[1 << 16];
        for (var i = 0; i < Warmup; i++)
        {
            RoundTrip(socket, request, buffer, name);
        }

        var before = GC.GetTotalAllocatedBytes(precise: true);
        for (var i = 0; i < Measured; i++)
        {
            RoundTrip(socket, request, buffer, name);
        }

        var after = GC.GetTotalAllocatedBytes(precise: true);

        // A second pass, sampled by the runtime (one event per ~100 KB allocated), says which types the bytes went to.
        using (var sampler = new AllocationSampler())
        {
            for (var i = 0; i < Measured; i++)
            {
                RoundTrip(socket, request, buffer, name);
            }

            return new AllocationFigure(name, Measured, (after - before) / (double)Measured) { LargestTypes = sampler.Largest(3) };
        }
    }

    /// <summary>Sends one request and reads its whole answer (headers, then Content-Length bytes); anything but 200 throws.</summary>
    private static void RoundTrip(Socket socket, byte[] request, byte[] buffer, string name)
    {
        socket.Send(request);
        var filled = 0;
        var headerEnd = -1;
        while (headerEnd < 0)
        {
            var read = socket.Receive(buffer.AsSpan(filled));
            if (read == 0)
            {
                throw new InvalidOperationException($"{name}: the server closed the connection.");
            }

            filled += read;
            headerEnd = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8);
        }

        var headers = buffer.AsSpan(0, headerEnd);
        if (!headers.StartsWith("HTTP/1.1 200 "u8))
        {
            throw new InvalidOperationException($"{name}: answered {Encoding.ASCII.GetString(buffer, 0, Math.Min(filled, 400))}");
        }

        if (headers.IndexOf("Transfer-Encoding: chunked"u8) >= 0)
        {
            // A JSON answer written as it was serialized: chunks, then the empty last chunk.
            while (!buffer.AsSpan(0, filled).EndsWith("\r\n0\r\n\r\n"u8))
            {
                var read = socket.Receive(buffer.AsSpan(filled));
                if (read == 0)
                {
                    throw new InvalidOperationException($"{name}: the server closed the connection mid-answer.");
                }

                filled += read;
            }

            return;
        }

        var lengthAt = headers.IndexOf("Content-Length: "u8);
        var length = 0;
        for (var i = lengthAt + 16; lengthAt >= 0 && i < headers.Length && headers[i] is >= (byte)'0' and <= (byte)'9'; i++)
        {
            length = (length * 10) + (headers[i] - '0');
        }

        var total = headerEnd + 4 + length;
        while (filled < total)
        {
            var read = socket.Receive(buffer.AsSpan(filled));
            if (read == 0)
            {
                throw new InvalidOperationException($"{name}: the server closed the connection mid-answer.");
            }

            filled += read;
        }
    }
}

/// <summary>
/// Listens to the runtime's <c>GCAllocationTick</c> event (raised about every 100 KB allocated, naming the
/// type of the allocation that crossed the mark) and sums the amounts per type: a sample of where bytes go.
/// </summary>
internal sealed class AllocationSampler : System.Diagnostics.Tracing.EventListener
{
    private const int AllocationTickEventId = 10;
    private readonly Dictionary<string, long> _bytes = new(StringComparer.Ordinal);

    protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(source, System.Diagnostics.Tracing.EventLevel.Verbose, (System.Diagnostics.Tracing.EventKeywords)0x1);
        }
    }

    protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs e)
    {
        if (e.EventId != AllocationTickEventId || e.PayloadNames is not { } names)
        {
            return;
        }

        var type = e.Payload![names.IndexOf("TypeName")] as string ?? "?";
        var amount = Convert.ToInt64(e.Payload[names.IndexOf("AllocationAmount64")], System.Globalization.CultureInfo.InvariantCulture);
        lock (_bytes)
        {
            _bytes[type] = _bytes.GetValueOrDefault(type) + amount;
        }
    }

    public IReadOnlyList<(string Type, double Share)> Largest(int count)
    {
        lock (_bytes)
        {
            var total = Math.Max(1, _bytes.Values.Sum());
            return [.. _bytes.OrderByDescending(pair => pair.Value).Take(count).Select(pair => (pair.Key, pair.Value / (double)total))];
        }
    }
}
