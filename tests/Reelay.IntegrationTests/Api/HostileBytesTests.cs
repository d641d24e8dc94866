using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Channels;
using Reelay.Keys;
using Reelay.Tasks;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Api;

/// <summary>One app for the table: every request in it is refused, so none can disturb another.</summary>
public sealed class HostileBytesFixture : IAsyncLifetime
{
    /// <summary>An admin-created channel the PATCH cases aim at.</summary>
    public const string ChannelName = "hostile-xai";

    public ReelayApp App { get; private set; } = null!;

    public string KeyId { get; private set; } = "";

    public string Key { get; private set; } = "";

    /// <summary>A pending task of <see cref="Key"/>: remix reads its body before it looks the source up.</summary>
    public string SourceId { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        App = ReelayApp.Start(new Dictionary<string, string?> { ["Engine:Enabled"] = "false" });
        (KeyId, Key) = await App.CreateKeyWithIdAsync("test", "hostile", ct);
        using var client = App.ClientFor(Key);
        SourceId = await client.CreateAsync(new { model = "reelay-preview", prompt = "source" }, ct);
        using var admin = App.AdminClient();
        using var channel = await admin.PostAsync("/admin/channels",
            new StringContent($$"""{"name":"{{ChannelName}}","provider":"xai","api_key":"k","priority":1}""", Encoding.UTF8, "application/json"), ct);
        channel.EnsureSuccessStatusCode();
    }

    public ValueTask DisposeAsync() => App.DisposeAsync();
}

/// <summary>
/// Bytes no well-behaved client sends — lone surrogates, invalid UTF-8, non-string names, broken
/// multipart, bodies cut short — each answered with a 400 that names what is wrong, never a 500,
/// and nothing stored.
/// </summary>
public sealed class HostileBytesTests(HostileBytesFixture fixture) : IClassFixture<HostileBytesFixture>
{
    private const string Json = "application/json";
    private const string Boundary = "reelay-boundary";

    /// <param name="Body">Request bytes as text; <c>«FF»</c> stands for one raw byte given in hex, so invalid UTF-8 can be written down.</param>
    /// <param name="Fragment">Text the message must contain.</param>
    public sealed record Hostile(
        string Name,
        string Method,
        string Path,
        string Body,
        string? Param,
        string Fragment,
        string Code = "invalid_utf8",
        string ContentType = Json,
        bool Admin = false);

    private static readonly Hostile[] Cases =
    [
        // Strings: an escaped lone surrogate, raw bytes that are not UTF-8, at the top and nested.
        new("unified_prompt_lone_high_surrogate", "POST", "/v1/video/create", """{"model":"reelay-preview","prompt":"cat \ud800"}""", "prompt", "'prompt' is not valid UTF-8 text"),
        new("unified_prompt_lone_low_surrogate", "POST", "/v1/video/create", """{"model":"reelay-preview","prompt":"\udc00 cat"}""", "prompt", "lone surrogate"),
        new("unified_prompt_reversed_pair", "POST", "/v1/video/create", """{"model":"reelay-preview","prompt":"\ude00\ud83d"}""", "prompt", "lone surrogate"),
        new("unified_model_raw_ff", "POST", "/v1/video/create", """{"model":"reelay«FF»","prompt":"cat"}""", "model", "bytes that are not UTF-8"),
        new("unified_prompt_cesu_surrogate", "POST", "/v1/video/create", """{"model":"reelay-preview","prompt":"«ED»«A0»«80»"}""", "prompt", "bytes that are not UTF-8"),
        new("unified_prompt_overlong_slash", "POST", "/v1/video/create", """{"model":"reelay-preview","prompt":"«C0»«AF»"}""", "prompt", "bytes that are not UTF-8"),
        new("unified_prompt_cut_sequence", "POST", "/v1/video/create", """{"model":"reelay-preview","prompt":"euro «E2»«82»"}""", "prompt", "bytes that are not UTF-8"),
        new("unified_image_item", "POST", "/v1/video/create", """{"model":"reelay-preview","prompt":"cat","images":["https://example.com/a.png","https://example.com/\ud800.png"]}""", "images[1]", "'images[1]' is not valid UTF-8 text"),
        new("unified_duration_as_string", "POST", "/v1/video/create", """{"model":"reelay-preview","prompt":"cat","duration":"\ud800"}""", "duration", "'duration' is not valid UTF-8 text"),
        new("unified_unknown_field", "POST", "/v1/video/create", """{"model":"reelay-preview","prompt":"cat","extra":{"note":"«FF»"}}""", "extra.note", "'extra.note' is not valid UTF-8 text"),

        new("unified_duration_hundred_digits", "POST", "/v1/video/create", "{\"model\":\"reelay-preview\",\"prompt\":\"cat\",\"duration\":" + new string('9', 100) + "}",
            "duration", "'duration' must be a whole number, got " + new string('9', 40) + "….", Code: "invalid_type"),

        // Property names.
        new("unified_name_lone_surrogate", "POST", "/v1/video/create", """{"model":"reelay-preview","prompt":"cat","\ud800":1}""", null, "A property name in the body is not valid UTF-8 text"),
        new("unified_name_raw_bytes", "POST", "/v1/video/create", """{"«FF»":1,"model":"reelay-preview","prompt":"cat"}""", null, "A property name in the body is not valid UTF-8 text"),
        new("unified_name_nested", "POST", "/v1/video/create", """{"model":"reelay-preview","prompt":"cat","extra":[{"\udfff":1}]}""", "extra[0]", "A property name in 'extra[0]' is not valid UTF-8 text"),

        // The OpenAI surface: JSON create and remix.
        new("openai_prompt_lone_surrogate", "POST", "/v1/videos", """{"prompt":"\ud800"}""", "prompt", "'prompt' is not valid UTF-8 text"),
        new("openai_image_url_raw_bytes", "POST", "/v1/videos", """{"prompt":"cat","input_reference":{"image_url":"https://example.com/«FE».png"}}""", "input_reference.image_url", "'input_reference.image_url' is not valid UTF-8 text"),
        new("openai_name_in_input_reference", "POST", "/v1/videos", """{"prompt":"cat","input_reference":{"\ud800":"x","image_url":"https://example.com/a.png"}}""", "input_reference", "A property name in 'input_reference'"),
        new("openai_remix_prompt", "POST", "/v1/videos/{source}/remix", """{"prompt":"again \udbff"}""", "prompt", "'prompt' is not valid UTF-8 text"),
        new("openai_remix_name", "POST", "/v1/videos/{source}/remix", """{"prompt":"again","\ud800x":1}""", null, "A property name in the body"),

        // Admin: keys, channels, channel updates.
        new("admin_key_name", "POST", "/admin/keys", """{"name":"ops \ud800","mode":"test"}""", "name", "'name' is not valid UTF-8 text", Admin: true),
        new("admin_key_property_name", "POST", "/admin/keys", """{"name":"ops","mode":"test","\ud800":true}""", null, "A property name in the body", Admin: true),
        new("admin_channel_base_url", "POST", "/admin/channels", """{"name":"c1","provider":"xai","base_url":"https://«FF».example"}""", "base_url", "'base_url' is not valid UTF-8 text", Admin: true),
        new("admin_channel_model", "POST", "/admin/channels", """{"name":"c1","provider":"xai","models":["grok-video-3","\udc00"]}""", "models[1]", "'models[1]' is not valid UTF-8 text", Admin: true),
        new("admin_channel_property_name", "POST", "/admin/channels", """{"name":"c1","provider":"xai","\ud800":1}""", null, "A property name in the body", Admin: true),
        new("admin_patch_api_key", "PATCH", "/admin/channels/" + HostileBytesFixture.ChannelName, """{"api_key":"\ud800"}""", "api_key", "'api_key' is not valid UTF-8 text", Admin: true),
        new("admin_patch_property_name", "PATCH", "/admin/channels/" + HostileBytesFixture.ChannelName, """{"priority":2,"\ud800":1}""", null, "A property name in the body", Admin: true),
        new("admin_patch_name_surrogate", "PATCH", "/admin/channels/" + HostileBytesFixture.ChannelName, """{"name":"\ud800"}""", "name", "'name' is not valid UTF-8 text", Admin: true),

        // PATCH with a name that is not a string.
        new("admin_patch_name_number", "PATCH", "/admin/channels/" + HostileBytesFixture.ChannelName, """{"name":5}""", "name", "'name' must be a string, got a number", Code: "invalid_type", Admin: true),
        new("admin_patch_name_array", "PATCH", "/admin/channels/" + HostileBytesFixture.ChannelName, """{"name":[]}""", "name", "'name' must be a string, got an array", Code: "invalid_type", Admin: true),
        new("admin_patch_name_object", "PATCH", "/admin/channels/" + HostileBytesFixture.ChannelName, """{"name":{}}""", "name", "'name' must be a string, got an object", Code: "invalid_type", Admin: true),
        new("admin_patch_name_boolean", "PATCH", "/admin/channels/" + HostileBytesFixture.ChannelName, """{"name":true,"priority":9}""", "name", "'name' must be a string, got a boolean", Code: "invalid_type", Admin: true),

        // Multipart whose bytes do not add up.
        new("multipart_no_closing_boundary", "POST", "/v1/videos",
            $"--{Boundary}\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nreelay-preview\r\n--{Boundary}\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\na cat",
            null, "multipart body ends before", Code: "invalid_multipart", ContentType: $"multipart/form-data; boundary={Boundary}"),
        new("multipart_cut_in_headers", "POST", "/v1/videos",
            $"--{Boundary}\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\na cat\r\n--{Boundary}\r\nContent-Dispo",
            null, "Invalid header line", Code: "invalid_multipart", ContentType: $"multipart/form-data; boundary={Boundary}"),
        new("multipart_other_boundary", "POST", "/v1/videos",
            "--other\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\na cat\r\n--other--\r\n",
            null, $"boundary '{Boundary}'", Code: "invalid_multipart", ContentType: $"multipart/form-data; boundary={Boundary}"),
        new("multipart_remix_cut", "POST", "/v1/videos/{source}/remix",
            $"--{Boundary}\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nagain",
            null, "multipart body ends before", Code: "invalid_multipart", ContentType: $"multipart/form-data; boundary={Boundary}"),
    ];

    private static readonly Dictionary<string, Hostile> ByName = Cases.ToDictionary(c => c.Name);

    public static TheoryData<string> CaseNames => [.. Cases.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Request_HostileBytes_Answers400NamingTheField(string name)
    {
        var hostile = ByName[name];

        var (status, body) = await SendAsync(hostile);

        Assert.True(status == 400, $"{name} answered {status}: {body}");
        using var json = JsonDocument.Parse(body);
        var error = json.RootElement.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(hostile.Code, error.GetProperty("code").GetString());
        Assert.Equal(hostile.Param, error.GetProperty("param").GetString());
        Assert.Contains(hostile.Fragment, error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Request_EveryHostileCase_StoresNothing()
    {
        var ct = TestContext.Current.CancellationToken;
        var channelBefore = await ChannelJsonAsync(ct);

        foreach (var hostile in Cases)
        {
            var (status, body) = await SendAsync(hostile);
            Assert.True(status is >= 400 and < 500, $"{hostile.Name} answered {status}: {body}");
        }

        var tasks = await fixture.App.Services.GetRequiredService<ITaskStore>().ListAsync(fixture.KeyId, new TaskPageRequest(100, null, false), ct);
        Assert.Equal([fixture.SourceId], tasks.Select(t => t.Id));
        var keys = await fixture.App.Services.GetRequiredService<IKeyStore>().ListAsync(ct);
        Assert.Equal(["hostile"], keys.Select(k => k.Name));
        var channels = await fixture.App.Services.GetRequiredService<IChannelStore>().ListAsync(ct);
        Assert.Equal([HostileBytesFixture.ChannelName], channels.Select(c => c.Name));
        Assert.Equal(channelBefore, await ChannelJsonAsync(ct));
    }

    /// <summary>A chunked body whose framing breaks off mid-way: Kestrel stops the read, the answer is still a 400 envelope.</summary>
    [Theory]
    [InlineData("/v1/video/create", Json, """{"model":"reelay-preview","prompt":"a c""")]
    [InlineData("/v1/videos", Json, """{"prompt":"a c""")]
    [InlineData("/v1/videos", "multipart/form-data; boundary=" + Boundary, "--" + Boundary + "\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\na c")]
    public async Task Create_BrokenChunkedFraming_Answers400Envelope(string path, string contentType, string partial)
    {
        var ct = TestContext.Current.CancellationToken;
        var bytes = Encoding.UTF8.GetBytes(partial);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(fixture.App.BaseAddress.Host, fixture.App.BaseAddress.Port, ct);
        var stream = tcp.GetStream();
        var head = $"POST {path} HTTP/1.1\r\nHost: {fixture.App.BaseAddress.Authority}\r\nAuthorization: Bearer {fixture.Key}\r\n" +
            $"Content-Type: {contentType}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{bytes.Length:x}\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head), ct);
        await stream.WriteAsync(bytes, ct);
        // Where the next chunk's size belongs: no hex digits, so the body cannot be read to its end.
        await stream.WriteAsync("\r\nzz\r\n"u8.ToArray(), ct);

        using var reader = new StreamReader(stream, Encoding.UTF8);
        var response = await reader.ReadToEndAsync(ct);

        Assert.True(response.StartsWith("HTTP/1.1 400", StringComparison.Ordinal), $"answered: {response}");
        var body = response[(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        using var json = JsonDocument.Parse(body[body.IndexOf('{', StringComparison.Ordinal)..(body.LastIndexOf('}') + 1)]);
        var error = json.RootElement.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Contains("could not be read to its end", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    private async Task<string> ChannelJsonAsync(CancellationToken ct)
    {
        using var admin = fixture.App.AdminClient();
        return await admin.GetStringAsync("/admin/channels/" + HostileBytesFixture.ChannelName, ct);
    }

    private async Task<(int Status, string Body)> SendAsync(Hostile hostile)
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = hostile.Admin ? fixture.App.AdminClient() : fixture.App.ClientFor(fixture.Key);
        using var request = new HttpRequestMessage(new HttpMethod(hostile.Method), hostile.Path.Replace("{source}", Uri.EscapeDataString(fixture.SourceId), StringComparison.Ordinal))
        {
            Content = new ByteArrayContent(Bytes(hostile.Body)),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(hostile.ContentType);
        using var response = await client.SendAsync(request, ct);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(ct));
    }

    /// <summary>UTF-8 of the text, with each <c>«XX»</c> replaced by the raw byte 0xXX.</summary>
    internal static byte[] Bytes(string text)
    {
        var bytes = new List<byte>();
        var parts = text.Split('«');
        bytes.AddRange(Encoding.UTF8.GetBytes(parts[0]));
        foreach (var part in parts.Skip(1))
        {
            bytes.Add(Convert.ToByte(part[..2], 16));
            bytes.AddRange(Encoding.UTF8.GetBytes(part[3..]));
        }

        return [.. bytes];
    }
}
