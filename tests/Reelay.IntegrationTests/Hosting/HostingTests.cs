using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Hosting;

public class HostingTests
{
    [Fact]
    public async Task Health_AndReadiness_Answer200WithoutAKey()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = app.CreateClient();

        Assert.Equal("ok", await client.GetStringAsync("/healthz", ct));
        Assert.Equal("ready", await client.GetStringAsync("/readyz", ct));
    }

    [Fact]
    public async Task AllowedHosts_ForeignHostHeader_Answers400EnvelopeBeforeAnyHandler()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["AllowedHosts"] = "127.0.0.1;localhost" });
        using var client = await app.CreateClientWithKeyAsync("test", ct);

        foreach (var path in (string[])["/healthz", "/v1/video/query?id=grok:x", "/files/videos/a.mp4?exp=1&sig=x"])
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Host = "evil.example";
            using var response = await client.SendAsync(request, ct);
            var text = await response.Content.ReadAsStringAsync(ct);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{path} answered {(int)response.StatusCode}: {text}");
            var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
            Assert.Equal("invalid_host", error.GetProperty("code").GetString());
            Assert.StartsWith("The Host header 'evil.example' is not a name this server answers to.", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        using var allowed = new HttpRequestMessage(HttpMethod.Get, "/healthz");
        allowed.Headers.Host = "localhost:" + app.BaseAddress.Port;
        using var answer = await client.SendAsync(allowed, ct);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("ok", await client.GetStringAsync("/healthz", ct));
    }

    [Fact]
    public async Task AllowedHosts_Unset_EveryHostAnswered()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = app.CreateClient();

        using var request = new HttpRequestMessage(HttpMethod.Get, "/healthz");
        request.Headers.Host = "anything.example";
        using var response = await client.SendAsync(request, ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task FileLinks_NoPublicUrl_FollowTheAllowedHostTheClientUsed()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["AllowedHosts"] = "127.0.0.1;localhost" });
        using var client = await app.CreateClientWithKeyAsync("test", ct);
        var id = await client.CreateAsync(new { model = "reelay-preview", prompt = "links", duration = 1, size = "480P" }, ct);
        Assert.Equal("completed", (await client.WaitForEndAsync(id, TimeSpan.FromSeconds(90), ct)).GetProperty("status").GetString());

        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/video/query?id=" + Uri.EscapeDataString(id));
        request.Headers.Host = "localhost:" + app.BaseAddress.Port;
        using var response = await client.SendAsync(request, ct);
        using var task = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));

        var link = task.RootElement.GetProperty("video_url").GetString()!;
        Assert.StartsWith($"http://localhost:{app.BaseAddress.Port}/files/videos/", link, StringComparison.Ordinal);
        using var anonymous = app.CreateClient();
        using var video = await anonymous.GetAsync(link, ct);
        Assert.Equal(HttpStatusCode.OK, video.StatusCode);
    }

    [Fact]
    public async Task MaxConcurrentConnections_LimitReached_ClosesTheNextConnectionAndKeepsTheOpenOnes()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["Limits:MaxConcurrentConnections"] = "2" });
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var port = app.BaseAddress.Port;

        // An answer on each proves Kestrel accepted and counted both before the third arrives.
        using var first = await ConnectAsync(port, timeout.Token);
        using var second = await ConnectAsync(port, timeout.Token);
        Assert.Equal("ok", await HealthOverAsync(first, timeout.Token));
        Assert.Equal("ok", await HealthOverAsync(second, timeout.Token));

        using (var third = await ConnectAsync(port, timeout.Token))
        {
            Assert.Null(await HealthOverAsync(third, timeout.Token));
        }

        Assert.Equal("ok", await HealthOverAsync(first, timeout.Token));
        Assert.Equal("ok", await HealthOverAsync(second, timeout.Token));

        // A limit on connections at once, not in total: once one closes, a newcomer is served (when the
        // server has noticed the close, hence the bounded retry).
        first.Shutdown(SocketShutdown.Both);
        first.Close();
        string? answer = null;
        while (answer is null)
        {
            using var next = await ConnectAsync(port, timeout.Token);
            answer = await HealthOverAsync(next, timeout.Token);
        }

        Assert.Equal("ok", answer);
    }

    private static async Task<Socket> ConnectAsync(int port, CancellationToken ct)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port, ct);
        return socket;
    }

    /// <summary>GET /healthz on a kept-alive connection: the body, or null when the server closed the connection instead.</summary>
    private static async Task<string?> HealthOverAsync(Socket socket, CancellationToken ct)
    {
        try
        {
            await socket.SendAsync("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"u8.ToArray(), ct);
            var received = new StringBuilder();
            var buffer = new byte[4096];
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer, ct);
                if (read == 0)
                {
                    return received.Length == 0 ? null : throw new InvalidOperationException("connection closed mid-answer: " + received);
                }

                received.Append(Encoding.ASCII.GetString(buffer, 0, read));
                var text = received.ToString();
                var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                if (end >= 0 && text.Length >= end + 4 + 2)
                {
                    Assert.StartsWith("HTTP/1.1 200", text, StringComparison.Ordinal);
                    return text[(end + 4)..];
                }
            }
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown)
        {
            return null;
        }
    }
}
