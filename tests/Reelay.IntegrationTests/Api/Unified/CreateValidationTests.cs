using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Api.Errors;
using Reelay.Tasks;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Api.Unified;

/// <summary>One app for the whole table: bad requests store nothing, so they cannot disturb each other.</summary>
public sealed class CreateValidationFixture : IAsyncLifetime
{
    /// <summary>The create body limit the table's 413 case runs against (1 MiB).</summary>
    public const int MaxCreateBodyBytes = 1024 * 1024;

    public ReelayApp App { get; private set; } = null!;

    public string TestKeyId { get; private set; } = "";

    public string TestKey { get; private set; } = "";

    public string LiveKeyId { get; private set; } = "";

    public string LiveKey { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        // No private ranges allowed, as in production, so the table can show loopback callbacks refused.
        App = ReelayApp.Start(new Dictionary<string, string?>
        {
            ["Limits:MaxCreateBodyBytes"] = MaxCreateBodyBytes.ToString(),
            ["ALLOW_PRIVATE_NETWORKS"] = "",
        });
        (TestKeyId, TestKey) = await App.CreateKeyWithIdAsync("test", "validation-test", TestContext.Current.CancellationToken);
        (LiveKeyId, LiveKey) = await App.CreateKeyWithIdAsync("live", "validation-live", TestContext.Current.CancellationToken);
    }

    public ValueTask DisposeAsync() => App.DisposeAsync();
}

public sealed class CreateValidationTests(CreateValidationFixture fixture) : IClassFixture<CreateValidationFixture>
{
    private const string Json = "application/json";

    /// <summary>Who the request claims to be.</summary>
    public enum Auth
    {
        TestKey,
        LiveKey,
        AdminKey,
        None,
        UnknownKey,
        EmptyBearer,
        BasicScheme,
    }

    /// <param name="Fragment">Text the message must contain: what the client has to change.</param>
    public sealed record BadRequest(
        string Name,
        int Status,
        string Code,
        string? Param,
        string Fragment,
        string? Body = null,
        string? ContentType = Json,
        Auth As = Auth.TestKey,
        string Method = "POST",
        string Path = "/v1/video/create",
        string? IdempotencyKey = null);

    private static readonly string[] ValidImage = ["https://example.com/cat.png"];

    private static string Create(object fields) => JsonSerializer.Serialize(fields);

    private static string Images(int count) => Create(new { model = "reelay-preview", prompt = "a cat", images = Enumerable.Repeat(ValidImage[0], count) });

    private static readonly BadRequest[] Cases =
    [
        // The body as a whole.
        new("json_malformed", 400, "invalid_json", null, "not valid JSON", Body: """{"model": "grok-video-3", """),
        new("json_trailing_garbage", 400, "invalid_json", null, "not valid JSON", Body: """{"model":"grok-video-3","prompt":"cat"} trailing"""),
        new("json_unquoted_names", 400, "invalid_json", null, "not valid JSON", Body: """{model:"grok-video-3"}"""),
        new("json_array", 400, "invalid_json", null, "must be a JSON object, not an array", Body: """[{"model":"grok-video-3"}]"""),
        new("json_string", 400, "invalid_json", null, "must be a JSON object, not a string", Body: "\"make a video\""),
        new("json_number", 400, "invalid_json", null, "must be a JSON object, not a number", Body: "42"),
        new("json_null", 400, "invalid_json", null, "must be a JSON object, not null", Body: "null"),
        new("body_empty", 400, "empty_body", null, "send a JSON object", Body: ""),
        new("json_depth_100", 400, "invalid_json", null, "not valid JSON",
            Body: "{\"model\":\"reelay-preview\",\"prompt\":\"cat\",\"x\":" + new string('[', 100) + new string(']', 100) + "}"),
        new("content_type_text_plain", 415, "unsupported_media_type", null, "Content-Type: application/json", Body: """{"model":"reelay-preview","prompt":"cat"}""", ContentType: "text/plain"),
        new("content_type_form", 415, "unsupported_media_type", null, "application/x-www-form-urlencoded", Body: "model=reelay-preview&prompt=cat", ContentType: "application/x-www-form-urlencoded"),
        new("content_type_none", 415, "unsupported_media_type", null, "got none", Body: """{"model":"reelay-preview","prompt":"cat"}""", ContentType: null),
        new("body_too_large", 413, "body_too_large", null, "as URLs instead of data URIs",
            Body: Create(new { model = "reelay-preview", prompt = "cat", images = new[] { "data:image/png;base64," + new string('A', 1536 * 1024) } })),

        // model
        new("model_missing", 400, "missing_field", "model", "GET /v1/models", Body: """{"prompt":"cat"}"""),
        new("model_null", 400, "missing_field", "model", "GET /v1/models", Body: """{"model":null,"prompt":"cat"}"""),
        new("model_empty", 400, "missing_field", "model", "GET /v1/models", Body: """{"model":"","prompt":"cat"}"""),
        new("model_whitespace", 400, "missing_field", "model", "GET /v1/models", Body: """{"model":"   ","prompt":"cat"}"""),
        new("model_number", 400, "invalid_type", "model", "'model' must be a string, got a number", Body: """{"model":3,"prompt":"cat"}"""),
        new("model_unknown", 400, "model_not_found", "model", "Available models: fal-kling-v2.1-master, gen4.5, gen4_turbo, grok-video-3, grok-video-3-max, grok-video-3-pro", Body: """{"model":"gpt-video-9","prompt":"cat"}"""),

        // prompt
        new("prompt_missing", 400, "missing_field", "prompt", "describe the video", Body: """{"model":"reelay-preview"}"""),
        new("prompt_number", 400, "invalid_type", "prompt", "'prompt' must be a string, got a number", Body: """{"model":"reelay-preview","prompt":7}"""),
        new("prompt_array", 400, "invalid_type", "prompt", "'prompt' must be a string, got an array", Body: """{"model":"reelay-preview","prompt":["cat"]}"""),
        new("prompt_empty", 400, "empty_prompt", "prompt", "describe the video", Body: """{"model":"reelay-preview","prompt":""}"""),
        new("prompt_whitespace", 400, "empty_prompt", "prompt", "describe the video", Body: """{"model":"reelay-preview","prompt":" \n\t "}"""),
        new("prompt_only_flags", 400, "empty_prompt", "prompt", "--mode=custom alone are not a prompt", Body: """{"model":"grok-video-3","prompt":"--mode=custom"}"""),
        new("prompt_too_long", 400, "prompt_too_long", "prompt", "the limit is 8000", Body: Create(new { model = "reelay-preview", prompt = new string('a', 8001) })),

        // aspect_ratio
        new("aspect_ratio_unsupported", 400, "unsupported_value", "aspect_ratio", "use one of 3:2, 2:3, 1:1, 16:9, 9:16", Body: """{"model":"grok-video-3","prompt":"cat","aspect_ratio":"21:9"}"""),
        new("aspect_ratio_word", 400, "unsupported_value", "aspect_ratio", "\"wide\" is not supported by reelay-preview", Body: """{"model":"reelay-preview","prompt":"cat","aspect_ratio":"wide"}"""),
        new("aspect_ratio_number", 400, "invalid_type", "aspect_ratio", "'aspect_ratio' must be a string, got a number", Body: """{"model":"grok-video-3","prompt":"cat","aspect_ratio":1.5}"""),
        new("aspect_ratio_against_pixel_size", 400, "conflicting_values", "size", "is 16:9 but 'aspect_ratio' is \"9:16\"", Body: """{"model":"reelay-preview","prompt":"cat","aspect_ratio":"9:16","size":"1280x720"}"""),
        new("duration_not_allowed_at_size", 400, "unsupported_value", "duration", "not supported by veo3.1 at 1080P; use 8 seconds", Body: """{"model":"veo3.1","prompt":"cat","size":"1080P","duration":6}"""),
        new("aspect_ratio_square_on_veo", 400, "unsupported_value", "aspect_ratio", "use one of 16:9, 9:16", Body: """{"model":"veo3.1","prompt":"cat","aspect_ratio":"1:1"}"""),

        // size
        new("size_8k", 400, "unsupported_value", "size", "\"8K\" is not supported by grok-video-3; use one of 720P, 480P", Body: """{"model":"grok-video-3","prompt":"cat","size":"8K"}"""),
        new("size_number", 400, "invalid_type", "size", "'size' must be a string, got a number", Body: """{"model":"grok-video-3","prompt":"cat","size":720}"""),
        new("size_1080p_on_grok", 400, "unsupported_value", "size", "use one of 720P, 480P", Body: """{"model":"grok-video-3","prompt":"cat","size":"1080P"}"""),
        new("size_large_on_sora", 400, "unsupported_value", "size", "use one of 720P", Body: """{"model":"sora-2","prompt":"cat","size":"large"}"""),

        new("size_large_pixels_on_sora", 400, "unsupported_value", "size", "\"1792x1024\" is not supported by sora-2; use one of 720P", Body: """{"model":"sora-2","prompt":"cat","size":"1792x1024"}"""),

        // orientation: picks the shape, and must agree with a ratio or pixel size that is given
        new("orientation_unknown", 400, "unsupported_value", "orientation", "'orientation' \"diagonal\" is not one of portrait, landscape, square.", Body: """{"model":"reelay-preview","prompt":"cat","orientation":"diagonal"}"""),
        new("orientation_number", 400, "invalid_type", "orientation", "'orientation' must be a string, got a number", Body: """{"model":"reelay-preview","prompt":"cat","orientation":1}"""),
        new("orientation_against_aspect_ratio", 400, "conflicting_values", "orientation",
            "'orientation' \"landscape\" contradicts 'aspect_ratio' \"9:16\", which is portrait: send matching values, or only one of them.",
            Body: """{"model":"veo3.1","prompt":"cat","orientation":"landscape","aspect_ratio":"9:16"}"""),
        new("orientation_against_pixel_size", 400, "conflicting_values", "orientation", "'orientation' \"portrait\" contradicts 'size' \"1280x720\", which is landscape",
            Body: """{"model":"reelay-preview","prompt":"cat","orientation":"portrait","size":"1280x720"}"""),
        new("orientation_square_on_sora", 400, "unsupported_value", "orientation",
            "sora-2 has no square shape: its aspect ratios are 16:9, 9:16. Send 'orientation' portrait or landscape, or one of those ratios as 'aspect_ratio'.",
            Body: """{"model":"sora-2","prompt":"cat","orientation":"square"}"""),

        // The Sora app's fields: stored with the task, so their types and words are checked.
        new("watermark_word", 400, "invalid_type", "watermark", "'watermark' must be true or false, got a string", Body: """{"model":"sora-2","prompt":"cat","watermark":"no"}"""),
        new("private_number", 400, "invalid_type", "private", "'private' must be true or false", Body: """{"model":"sora-2","prompt":"cat","private":1}"""),
        new("style_unknown", 400, "unsupported_value", "style", "'style' \"cubism\" is not one of thanksgiving, comic, news, selfie, nostalgic, anime.", Body: """{"model":"sora-2","prompt":"cat","style":"cubism"}"""),
        new("style_number", 400, "invalid_type", "style", "'style' must be a string, got a number", Body: """{"model":"sora-2","prompt":"cat","style":3}"""),
        new("duration_25_on_sora_2", 400, "unsupported_value", "duration", "use 4, 8, 10, 12, 15 seconds", Body: """{"model":"sora-2","prompt":"cat","duration":25}"""),

        // images
        new("images_string", 400, "invalid_type", "images", "must be an array of strings, got a string", Body: """{"model":"reelay-preview","prompt":"cat","images":"https://example.com/cat.png"}"""),
        new("images_item_number", 400, "invalid_type", "images[0]", "an http(s) URL or a data:image/...;base64, URI", Body: """{"model":"reelay-preview","prompt":"cat","images":[5]}"""),
        new("images_item_object", 400, "invalid_type", "images[1]", "got an object", Body: """{"model":"reelay-preview","prompt":"cat","images":["https://example.com/a.png",{"url":"x"}]}"""),
        new("images_ftp", 400, "invalid_image_reference", "images[0]", "absolute http(s) URL", Body: """{"model":"reelay-preview","prompt":"cat","images":["ftp://example.com/cat.png"]}"""),
        new("images_relative_path", 400, "invalid_image_reference", "images[0]", "absolute http(s) URL", Body: """{"model":"reelay-preview","prompt":"cat","images":["/uploads/cat.png"]}"""),
        new("images_not_a_url", 400, "invalid_image_reference", "images[0]", "absolute http(s) URL", Body: """{"model":"reelay-preview","prompt":"cat","images":["a picture of a cat"]}"""),
        new("images_second_bad", 400, "invalid_image_reference", "images[1]", "absolute http(s) URL", Body: """{"model":"reelay-preview","prompt":"cat","images":["https://example.com/a.png","file:///etc/passwd"]}"""),
        new("images_data_uri_text", 400, "invalid_image_reference", "images[0]", "'text/plain' is not one of image/png, image/jpeg", Body: """{"model":"reelay-preview","prompt":"cat","images":["data:text/plain;base64,aGVsbG8="]}"""),
        new("images_data_uri_not_base64", 400, "invalid_image_reference", "images[0]", "must be base64-encoded", Body: """{"model":"reelay-preview","prompt":"cat","images":["data:image/png,iVBORw0KGgo="]}"""),
        new("images_data_uri_no_comma", 400, "invalid_image_reference", "images[0]", "needs a comma", Body: """{"model":"reelay-preview","prompt":"cat","images":["data:image/png;base64"]}"""),
        new("images_data_uri_bad_payload", 400, "invalid_image_reference", "images[0]", "not valid base64", Body: """{"model":"reelay-preview","prompt":"cat","images":["data:image/png;base64,@@@@"]}"""),
        new("images_too_many_for_grok", 400, "too_many_images", "images", "grok-video-3 takes at most 7",
            Body: Create(new { model = "grok-video-3", prompt = "cat", images = Enumerable.Repeat(ValidImage[0], 8) })),
        new("images_too_many_for_sora", 400, "too_many_images", "images", "sora-2 takes at most 1",
            Body: Create(new { model = "sora-2", prompt = "cat", images = Enumerable.Repeat(ValidImage[0], 2) })),
        new("images_more_than_16", 400, "too_many_items", "images", "at most 16 are accepted", Body: Images(17)),

        // duration
        new("duration_word", 400, "invalid_type", "duration", "'duration' must be a whole number, got a string", Body: """{"model":"reelay-preview","prompt":"cat","duration":"abc"}"""),
        new("duration_zero", 400, "unsupported_value", "duration", "use 1–15 seconds", Body: """{"model":"reelay-preview","prompt":"cat","duration":0}"""),
        new("duration_negative_on_veo", 400, "unsupported_value", "duration", "use 4, 6, 8 seconds", Body: """{"model":"veo3.1","prompt":"cat","duration":-4}"""),
        new("duration_16_on_preview", 400, "unsupported_value", "duration", "use 1–15 seconds", Body: """{"model":"reelay-preview","prompt":"cat","duration":16}"""),
        new("duration_5_on_veo", 400, "unsupported_value", "duration", "use 4, 6, 8 seconds", Body: """{"model":"veo3.1","prompt":"cat","duration":5}"""),
        new("duration_fraction", 400, "invalid_type", "duration", "'duration' must be a whole number, got 2.5", Body: """{"model":"reelay-preview","prompt":"cat","duration":2.5}"""),
        new("duration_boolean", 400, "invalid_type", "duration", "'duration' must be a whole number, got a boolean", Body: """{"model":"reelay-preview","prompt":"cat","duration":true}"""),
        new("seconds_word", 400, "invalid_type", "seconds", "'seconds' must be a whole number", Body: """{"model":"reelay-preview","prompt":"cat","seconds":"ten"}"""),

        // seed, negative_prompt, callback_url, flags
        new("seed_negative", 400, "out_of_range", "seed", "'seed' must be between 0 and 4294967295", Body: """{"model":"reelay-preview","prompt":"cat","seed":-1}"""),
        new("seed_word", 400, "invalid_type", "seed", "'seed' must be a whole number", Body: """{"model":"reelay-preview","prompt":"cat","seed":"x"}"""),
        new("negative_prompt_number", 400, "invalid_type", "negative_prompt", "'negative_prompt' must be a string", Body: """{"model":"reelay-preview","prompt":"cat","negative_prompt":1}"""),
        new("negative_prompt_too_long", 400, "prompt_too_long", "negative_prompt", "the limit is 2000",
            Body: Create(new { model = "reelay-preview", prompt = "cat", negative_prompt = new string('n', 2001) })),
        new("callback_url_ftp", 400, "invalid_callback_url", "callback_url", "absolute http(s) URL", Body: """{"model":"reelay-preview","prompt":"cat","callback_url":"ftp://example.com/hook"}"""),
        new("callback_url_number", 400, "invalid_type", "callback_url", "'callback_url' must be a string", Body: """{"model":"reelay-preview","prompt":"cat","callback_url":42}"""),
        new("callback_url_loopback", 400, "invalid_callback_url", "callback_url",
            "'callback_url' points at 127.0.0.1, a loopback address; webhooks are delivered only to public addresses: send a public URL (an operator can allow private ranges with REELAY_ALLOW_PRIVATE_NETWORKS).",
            Body: """{"model":"reelay-preview","prompt":"cat","callback_url":"http://127.0.0.1:8080/hook"}"""),
        new("callback_url_loopback_decimal", 400, "invalid_callback_url", "callback_url", "points at 127.0.0.1, a loopback address",
            Body: """{"model":"reelay-preview","prompt":"cat","callback_url":"http://2130706433/hook"}"""),
        new("callback_url_metadata", 400, "invalid_callback_url", "callback_url", "points at 169.254.169.254, the cloud metadata address",
            Body: """{"model":"reelay-preview","prompt":"cat","callback_url":"http://169.254.169.254/latest/meta-data/"}"""),
        new("callback_url_private", 400, "invalid_callback_url", "callback_url", "points at 10.1.2.3, a private address",
            Body: """{"model":"reelay-preview","prompt":"cat","callback_url":"https://10.1.2.3/hook"}"""),
        new("callback_url_ipv6_loopback", 400, "invalid_callback_url", "callback_url", "points at ::1, a loopback address",
            Body: """{"model":"reelay-preview","prompt":"cat","callback_url":"http://[::1]/hook"}"""),
        new("callback_url_ipv4_compatible", 400, "invalid_callback_url", "callback_url", "a deprecated IPv4-compatible address",
            Body: """{"model":"reelay-preview","prompt":"cat","callback_url":"http://[::127.0.0.1]/hook"}"""),
        new("callback_url_6to4_private", 400, "invalid_callback_url", "callback_url", "points at 2002:c0a8:101::, a 6to4 address embedding 192.168.1.1, a private address",
            Body: """{"model":"reelay-preview","prompt":"cat","callback_url":"http://[2002:c0a8:0101::]/hook"}"""),
        new("callback_url_localhost", 400, "invalid_callback_url", "callback_url", "points at localhost, a loopback host name",
            Body: """{"model":"reelay-preview","prompt":"cat","callback_url":"http://localhost:3000/hook"}"""),
        new("callback_url_sub_localhost", 400, "invalid_callback_url", "callback_url", "points at hooks.localhost, a loopback host name",
            Body: """{"model":"reelay-preview","prompt":"cat","callback_url":"http://hooks.localhost/hook"}"""),
        new("enhance_prompt_word", 400, "invalid_type", "enhance_prompt", "'enhance_prompt' must be true or false", Body: """{"model":"veo3.1","prompt":"cat","enhance_prompt":"yes"}"""),
        new("enable_upsample_number", 400, "invalid_type", "enable_upsample", "'enable_upsample' must be true or false", Body: """{"model":"veo3.1","prompt":"cat","enable_upsample":1}"""),
        new("idempotency_key_too_long", 400, "invalid_idempotency_key", "Idempotency-Key", "longer than 200 characters",
            Body: """{"model":"reelay-preview","prompt":"cat"}""", IdempotencyKey: new string('k', 201)),

        // Who is asking.
        new("auth_missing", 401, "missing_api_key", null, "Authorization: Bearer", Body: """{"model":"reelay-preview","prompt":"cat"}""", As: Auth.None),
        new("auth_unknown_key", 401, "invalid_api_key", null, "unknown or has been revoked", Body: """{"model":"reelay-preview","prompt":"cat"}""", As: Auth.UnknownKey),
        new("auth_empty_bearer", 401, "missing_api_key", null, "Authorization: Bearer", Body: """{"model":"reelay-preview","prompt":"cat"}""", As: Auth.EmptyBearer),
        new("auth_basic_scheme", 401, "missing_api_key", null, "Authorization: Bearer", Body: """{"model":"reelay-preview","prompt":"cat"}""", As: Auth.BasicScheme),
        new("auth_admin_key", 403, "admin_key_not_allowed", null, "POST /admin/keys", Body: """{"model":"reelay-preview","prompt":"cat"}""", As: Auth.AdminKey),
        new("auth_before_body", 401, "missing_api_key", null, "Authorization: Bearer", Body: "not json", ContentType: "text/plain", As: Auth.None),
        new("live_key_model_without_channel", 503, "model_not_configured", "model", "REELAY_Channels__0__Provider=", Body: """{"model":"grok-video-3","prompt":"cat"}""", As: Auth.LiveKey),

        // GET /v1/video/query
        new("query_without_id", 400, "missing_field", "id", "the id that /v1/video/create returned", Method: "GET", Path: "/v1/video/query"),
        new("query_empty_id", 400, "missing_field", "id", "the id that /v1/video/create returned", Method: "GET", Path: "/v1/video/query?id="),
        new("query_unknown_id", 404, "not_found", "id", "exists for this key", Method: "GET", Path: "/v1/video/query?id=grok:0b6f9e1c-7f0a-4c1e-9d55-2d3f1f0b9a11"),
        new("query_garbage_id", 404, "not_found", "id", "exists for this key", Method: "GET", Path: "/v1/video/query?id=%27%3B%20DROP%20TABLE%20tasks"),
        new("query_without_key", 401, "missing_api_key", null, "Authorization: Bearer", Method: "GET", Path: "/v1/video/query?id=x", As: Auth.None),

        // Routing
        new("create_with_get", 405, "method_not_allowed", null, "GET is not allowed on /v1/video/create", Method: "GET"),
        new("query_with_delete", 405, "method_not_allowed", null, "DELETE is not allowed on /v1/video/query", Method: "DELETE", Path: "/v1/video/query"),
        new("unknown_route", 404, "route_not_found", null, "No route matches POST /v1/video/generate", Body: "{}", Path: "/v1/video/generate"),
    ];

    private static readonly Dictionary<string, BadRequest> ByName = Cases.ToDictionary(c => c.Name);

    public static TheoryData<string> CaseNames => [.. Cases.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Create_BadRequest_AnswersEnvelopeThatSaysWhatToFix(string name)
    {
        var expected = ByName[name];

        var (status, body) = await SendAsync(expected);

        Assert.Equal(expected.Status, status);
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        Assert.Equal(["error", "message"], root.EnumerateObject().Select(p => p.Name));
        var error = root.GetProperty("error");
        Assert.Equal(error.GetProperty("message").GetString(), root.GetProperty("message").GetString());
        Assert.Equal(["code", "message", "param", "type"], error.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(ApiError.TypeFor(expected.Status), error.GetProperty("type").GetString());
        Assert.Equal(expected.Code, error.GetProperty("code").GetString());
        Assert.Equal(expected.Param, error.GetProperty("param").GetString());
        Assert.Contains(expected.Fragment, error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_EveryBadRequest_StoresNothingAndNeverFails500()
    {
        var ct = TestContext.Current.CancellationToken;
        foreach (var bad in Cases)
        {
            var (status, body) = await SendAsync(bad);
            Assert.True(status is >= 400 and < 500 || status == 503, $"{bad.Name} answered {status}: {body}");
        }

        var store = fixture.App.Services.GetRequiredService<ITaskStore>();
        foreach (var keyId in (string[])[fixture.TestKeyId, fixture.LiveKeyId])
        {
            var tasks = await store.ListAsync(keyId, new TaskPageRequest(100, null, false), ct);
            Assert.Empty(tasks);
        }
    }

    [Theory]
    [InlineData("", "https://hooks.example.com/reelay")]
    [InlineData("loopback", "http://127.0.0.1:8080/hook")]
    [InlineData("loopback", "http://localhost:8080/hook")]
    [InlineData("10.0.0.0/8", "http://10.1.2.3/hook")]
    public async Task Create_CallbackUrlThePolicyAllows_IsAcceptedAndStored(string allowPrivateNetworks, string callbackUrl)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(new Dictionary<string, string?> { ["ALLOW_PRIVATE_NETWORKS"] = allowPrivateNetworks });
        var (keyId, key) = await app.CreateKeyWithIdAsync("test", "callback", ct);
        using var client = app.ClientFor(key);

        var id = await client.CreateAsync(new { model = "reelay-preview", prompt = "a cat", callback_url = callbackUrl }, ct);

        var stored = await app.Services.GetRequiredService<ITaskStore>().GetAsync(id, keyId, ct);
        Assert.Equal(callbackUrl, stored?.CallbackUrl);
    }

    private async Task<(int Status, string Body)> SendAsync(BadRequest bad)
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = fixture.App.CreateClient();
        using var request = new HttpRequestMessage(new HttpMethod(bad.Method), bad.Path);
        switch (bad.As)
        {
            case Auth.TestKey:
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fixture.TestKey);
                break;
            case Auth.LiveKey:
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fixture.LiveKey);
                break;
            case Auth.AdminKey:
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fixture.App.AdminKey);
                break;
            case Auth.UnknownKey:
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk-test-doesnotexist0000000000000000000000");
                break;
            case Auth.EmptyBearer:
                request.Headers.TryAddWithoutValidation("Authorization", "Bearer ");
                break;
            case Auth.BasicScheme:
                request.Headers.TryAddWithoutValidation("Authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("user:" + fixture.TestKey)));
                break;
            case Auth.None:
                break;
        }

        if (bad.IdempotencyKey is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", bad.IdempotencyKey);
        }

        if (bad.Body is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(bad.Body));
            if (bad.ContentType is not null)
            {
                request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(bad.ContentType);
            }
        }

        using var response = await client.SendAsync(request, ct);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(ct));
    }
}
