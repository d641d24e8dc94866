using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Api.Errors;

/// <summary>One instance for the table: no workers, a small body limit, a host list and a one-task cap for test keys.</summary>
public sealed class ErrorBodyFixture : IAsyncLifetime
{
    public ReelayApp App { get; private set; } = null!;

    public string TestKey { get; private set; } = "";

    public string LiveKey { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        App = ReelayApp.Start(new Dictionary<string, string?>
        {
            ["Engine:Enabled"] = "false",
            ["Limits:MaxCreateBodyBytes"] = "4096",
            ["Limits:MaxInFlightPerTestKey"] = "1",
            ["AllowedHosts"] = "127.0.0.1;localhost",
            ["Storage:BusyTimeout"] = "00:00:01",
        });
        TestKey = await App.CreateKeyAsync("test", "errors-test", TestContext.Current.CancellationToken);
        LiveKey = await App.CreateKeyAsync("live", "errors-live", TestContext.Current.CancellationToken);
    }

    public ValueTask DisposeAsync() => App.DisposeAsync();
}

/// <summary>
/// Every writer of an error answer — handlers, key filter, body reader, status-code pages, host filter,
/// admission, the exception handler — sends the OpenAI envelope plus a top-level <c>message</c> with the
/// same text, and the text as written: no <c>\u0027</c>-style escapes for clients that print raw bodies.
/// </summary>
public sealed class ErrorBodyTests(ErrorBodyFixture fixture) : IClassFixture<ErrorBodyFixture>
{
    public enum Auth
    {
        TestKey,
        LiveKey,
        AdminKey,
        None,
        UnknownKey,
    }

    /// <param name="Raw">Text the body's bytes must hold exactly as written here (JSON string escapes of <c>"</c> included).</param>
    public sealed record ErrorCase(
        string Name, int Status, string Code, string Raw,
        string Method = "POST", string Path = "/v1/video/create", string? Body = null, string ContentType = "application/json",
        Auth As = Auth.TestKey, string? Host = null);

    private static readonly ErrorCase[] Cases =
    [
        new("handler_quotes", 400, "unsupported_value", """'aspect_ratio' \"21:9\" is not supported by grok-video-3""",
            Body: """{"model":"grok-video-3","prompt":"a cat","aspect_ratio":"21:9"}"""),
        new("handler_non_ascii", 400, "model_not_found", "Model '小猫's model' does not exist.",
            Body: """{"model":"小猫's model","prompt":"a cat"}"""),
        new("body_invalid_json", 400, "invalid_json", "The body is not valid JSON", Body: """{"model":"""),
        new("body_wrong_type", 400, "invalid_type", "'prompt' must be a string, got a number.", Body: """{"model":"reelay-preview","prompt":5}"""),
        new("body_not_json", 415, "unsupported_media_type", "(got 'text/plain; charset=utf-8')", Body: "a cat", ContentType: "text/plain"),
        new("body_too_large", 413, "body_too_large", "The body is larger than", Body: "{\"prompt\":\"" + new string('x', 8192) + "\"}"),
        new("key_missing", 401, "missing_api_key", "Missing API key.", Body: "{}", As: Auth.None),
        new("key_unknown", 401, "invalid_api_key", "Invalid API key: it is unknown or has been revoked.", Body: "{}", As: Auth.UnknownKey),
        new("key_admin", 403, "admin_key_not_allowed", "Admin keys manage the gateway", Body: "{}", As: Auth.AdminKey),
        new("no_upstream", 503, "model_not_configured", "No upstream is configured for model 'grok-video-3'.",
            Body: """{"model":"grok-video-3","prompt":"a cat"}""", As: Auth.LiveKey),
        new("openai_not_found", 404, "video_not_found", "No video with id 'sora-2:nope' exists for this key.", Method: "GET", Path: "/v1/videos/sora-2:nope"),
        new("route_not_found", 404, "route_not_found", "No route matches GET /v1/nowhere.", Method: "GET", Path: "/v1/nowhere"),
        new("method_not_allowed", 405, "method_not_allowed", "DELETE is not allowed on /v1/video/create.", Method: "DELETE"),
        new("host_not_allowed", 400, "invalid_host", "The Host header 'evil.example' is not a name this server answers to.",
            Method: "GET", Path: "/healthz", Host: "evil.example"),
    ];

    private static readonly Dictionary<string, ErrorCase> ByName = Cases.ToDictionary(c => c.Name);

    public static TheoryData<string> CaseNames => [.. Cases.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Error_EveryWriter_SendsEnvelopeTopLevelMessageAndUnescapedText(string name)
    {
        var expected = ByName[name];
        var ct = TestContext.Current.CancellationToken;
        using var client = fixture.App.CreateClient();
        using var request = new HttpRequestMessage(new HttpMethod(expected.Method), expected.Path);
        if (expected.Body is not null)
        {
            request.Content = new StringContent(expected.Body, Encoding.UTF8, expected.ContentType);
        }

        if (KeyFor(expected.As) is { } key)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        if (expected.Host is not null)
        {
            request.Headers.Host = expected.Host;
        }

        using var response = await client.SendAsync(request, ct);

        var error = await AssertReadableEnvelopeAsync(response, expected.Status, ct);
        Assert.Equal(expected.Code, error.GetProperty("code").GetString());
        Assert.Contains(expected.Raw, Encoding.UTF8.GetString(await response.Content.ReadAsByteArrayAsync(ct)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Error_Admission429_SendsEnvelopeTopLevelMessageAndRetryAfter()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = await fixture.App.CreateClientWithKeyAsync("test", ct);
        const string body = """{"model":"reelay-preview","prompt":"a lighthouse"}""";
        using (var first = await client.PostAsync("/v1/video/create", new StringContent(body, Encoding.UTF8, "application/json"), ct))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        using var refused = await client.PostAsync("/v1/video/create", new StringContent(body, Encoding.UTF8, "application/json"), ct);

        var error = await AssertReadableEnvelopeAsync(refused, 429, ct);
        Assert.Equal("too_many_tasks", error.GetProperty("code").GetString());
        Assert.NotNull(refused.Headers.RetryAfter);
    }

    [Fact]
    public async Task Error_StoreCannotWrite503_SendsEnvelopeTopLevelMessageFromTheExceptionHandler()
    {
        var ct = TestContext.Current.CancellationToken;
        using var admin = fixture.App.AdminClient();

        HttpResponseMessage refused;
        await using (await DatabaseWriteLock.TakeAsync(fixture.App.DatabasePath, ct))
        {
            refused = await admin.PostAsync("/admin/keys", new StringContent("""{"name":"while locked","mode":"test"}""", Encoding.UTF8, "application/json"), ct);
        }

        using (refused)
        {
            var error = await AssertReadableEnvelopeAsync(refused, 503, ct);
            Assert.Equal("store_unavailable", error.GetProperty("code").GetString());
            Assert.Contains("Reelay's database cannot take this request right now", Encoding.UTF8.GetString(await refused.Content.ReadAsByteArrayAsync(ct)), StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// <c>{"error":{message,type,param,code},"message"}</c> with both messages equal, and no <c>\u</c> escape in
    /// the bytes: none of these messages holds a character that JSON requires escaping that way.
    /// </summary>
    private static async Task<JsonElement> AssertReadableEnvelopeAsync(HttpResponseMessage response, int status, CancellationToken ct)
    {
        var text = Encoding.UTF8.GetString(await response.Content.ReadAsByteArrayAsync(ct));
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("\\u", text, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(text);
        var root = json.RootElement;
        Assert.Equal(["error", "message"], root.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        var error = root.GetProperty("error");
        Assert.Equal(["code", "message", "param", "type"], error.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        Assert.Equal(error.GetProperty("message").GetString(), root.GetProperty("message").GetString());
        return error.Clone();
    }

    private string? KeyFor(Auth auth) => auth switch
    {
        Auth.TestKey => fixture.TestKey,
        Auth.LiveKey => fixture.LiveKey,
        Auth.AdminKey => fixture.App.AdminKey,
        Auth.UnknownKey => "sk-test-" + new string('0', 43),
        _ => null,
    };
}
