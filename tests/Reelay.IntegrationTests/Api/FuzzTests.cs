using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Channels;
using Reelay.IntegrationTests.Api.OpenAi;
using Reelay.Keys;
using Reelay.Tasks;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Api;

/// <summary>
/// Every route that reads a body or a query, fed thousands of deterministic mutations of valid
/// requests (cut, flipped and inserted bytes, swapped types, lone surrogates and invalid UTF-8 in
/// values and names, oversized values, duplicated fields, broken multipart framing). Each answer
/// must be a 2xx, or a 4xx in the error envelope; never a 5xx; and only accepted requests store
/// anything. A failure prints the route, the recipe and the exact bytes, escaped.
/// </summary>
public sealed class FuzzTests
{
    /// <summary>Fixed, so every run sends the same requests; each route mixes in its own name.</summary>
    private const int Seed = 20261124;

    private const int MutationsPerRoute = 2500;

    /// <summary>Small limits make oversized bodies cheap to send; no engine, so nothing leaves the process.</summary>
    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["Engine:Enabled"] = "false",
        ["Limits:MaxCreateBodyBytes"] = (256 * 1024).ToString(),
        ["Limits:MaxImageBytes"] = (64 * 1024).ToString(),
        // Accepted creates pile up unrendered: admission would turn them into 429s, which is not what this checks.
        ["Limits:MaxInFlightPerTestKey"] = "0",
        ["Limits:LocalAdmission"] = "false",
    };

    private static readonly string PngDataUri = "data:image/png;base64," + Convert.ToBase64String(OpenAiVideos.Png);

    [Fact]
    public async Task Fuzz_UnifiedApi_AnswersEnvelopeNever5xxAndStoresOnlyAccepted()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(Settings);
        var (keyId, key) = await app.CreateKeyWithIdAsync("test", "fuzz-unified", ct);
        using var client = app.CreateClient();
        using var owner = app.ClientFor(key);
        var known = await owner.CreateAsync(new { model = "reelay-preview", prompt = "known" }, ct);
        var accepted = new HashSet<string> { known };
        var failures = new List<string>();
        string[] templates =
        [
            """{"model":"reelay-preview","prompt":"a cat on a boat","aspect_ratio":"16:9","size":"720P","duration":3}""",
            """{"model":"grok-video-3","prompt":"waves --mode=custom","images":["https://example.com/a.png"],"seed":42,"negative_prompt":"blur","callback_url":"https://example.com/hook","duration":"6"}""",
            """{"model":"veo3.1-fast","prompt":"a fox","aspect_ratio":"9:16","seconds":8,"enhance_prompt":true,"enable_upsample":false}""",
            """{"model":"sora-2-pro","prompt":"a kite","size":"1792x1024","orientation":"landscape","duration":15,"watermark":false,"private":true,"style":"anime"}""",
            $$"""{"model":"reelay-preview","prompt":"pan over it","images":["{{PngDataUri}}"]}""",
        ];

        await RunAsync(client, key, "POST /v1/video/create", (m, i, route) =>
        {
            var (body, what) = m.Json(m.Pick(templates));
            return new FuzzRequest(route, i, what, HttpMethod.Post, "/v1/video/create", body, m.JsonContentType());
        }, failures, (_, status, text) => Accept(accepted, status, text));

        await RunAsync(client, key, "GET /v1/video/query", (m, i, route) =>
        {
            var (query, what) = m.Query([("id", known)]);
            return new FuzzRequest(route, i, what, HttpMethod.Get, "/v1/video/query" + query, null, null);
        }, failures);

        AssertNoFailures(failures);
        Assert.Equal(accepted.Order(StringComparer.Ordinal), await StoredTaskIdsAsync(app, keyId, ct));
    }

    [Fact]
    public async Task Fuzz_OpenAiApi_AnswersEnvelopeNever5xxAndStoresOnlyAccepted()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(Settings);
        using var client = app.CreateClient();
        var failures = new List<string>();

        var (jsonKeyId, jsonKey) = await app.CreateKeyWithIdAsync("test", "fuzz-json", ct);
        var acceptedJson = new HashSet<string>();
        string[] templates =
        [
            """{"prompt":"a lighthouse at dusk"}""",
            """{"model":"sora-2","prompt":"waves","size":"1280x720","seconds":"8"}""",
            """{"model":"sora-2-pro","prompt":"a city","size":"1920x1080","seconds":12}""",
            """{"model":"sora-2-pro","prompt":"a city","size":"1792x1024","seconds":15,"orientation":"landscape","watermark":false,"style":"news"}""",
            """{"model":"reelay-preview","prompt":"a cat","size":"720x720","seconds":3,"input_reference":{"image_url":"https://example.com/cat.png"}}""",
            $$$"""{"model":"reelay-preview","prompt":"a cat","input_reference":{"image_url":"{{{PngDataUri}}}"}}""",
        ];
        await RunAsync(client, jsonKey, "POST /v1/videos (JSON)", (m, i, route) =>
        {
            var (body, what) = m.Json(m.Pick(templates));
            return new FuzzRequest(route, i, what, HttpMethod.Post, "/v1/videos", body, m.JsonContentType());
        }, failures, (_, status, text) => Accept(acceptedJson, status, text));

        var (formKeyId, formKey) = await app.CreateKeyWithIdAsync("test", "fuzz-form", ct);
        var acceptedForm = new HashSet<string>();
        FormPart[][] forms =
        [
            [Part("model", "reelay-preview"), Part("prompt", "a cat"), Part("size", "1280x720"), Part("seconds", "4"),
                new FormPart("input_reference"u8.ToArray(), OpenAiVideos.Png, "cat.png"u8.ToArray(), "image/png")],
            [Part("model", "sora-2"), Part("prompt", "waves"), Part("seconds", "8"), Part("input_reference[image_url]", "https://example.com/a.png")],
            [Part("model", "sora-2"), Part("prompt", "waves"), Part("seconds", "10"), Part("orientation", "portrait"), Part("private", "true"), Part("style", "selfie")],
        ];
        await RunAsync(client, formKey, "POST /v1/videos (form)", (m, i, route) =>
        {
            if (m.Chance(0.1))
            {
                var (encoded, how) = m.UrlEncoded("model=sora-2&prompt=a+cat&seconds=4&size=720x1280");
                return new FuzzRequest(route, i, "urlencoded: " + how, HttpMethod.Post, "/v1/videos", encoded, "application/x-www-form-urlencoded");
            }

            var (body, contentType, what) = m.Multipart(m.Pick(forms));
            return new FuzzRequest(route, i, what, HttpMethod.Post, "/v1/videos", body, contentType);
        }, failures, (_, status, text) => Accept(acceptedForm, status, text));

        // Remix reads its body before it looks the source up; a pending source gets as far as the status check.
        var (remixKeyId, remixKey) = await app.CreateKeyWithIdAsync("test", "fuzz-remix", ct);
        using var remixOwner = app.ClientFor(remixKey);
        var source = (await remixOwner.CreateVideoAsync(new { model = "reelay-preview", prompt = "source" }, ct)).GetProperty("id").GetString()!;
        var acceptedRemix = new HashSet<string> { source };
        await RunAsync(client, remixKey, "POST /v1/videos/{id}/remix", (m, i, route) =>
        {
            var (segment, where) = m.Segment(source, 0.1);
            if (m.Chance(0.2))
            {
                var (form, contentType, how) = m.Multipart([Part("prompt", "make it rain")]);
                return new FuzzRequest(route, i, Join(where, how), HttpMethod.Post, $"/v1/videos/{segment}/remix", form, contentType);
            }

            var (body, what) = m.Json("""{"prompt":"make it rain"}""");
            return new FuzzRequest(route, i, Join(where, what), HttpMethod.Post, $"/v1/videos/{segment}/remix", body, m.JsonContentType());
        }, failures, (_, status, text) => Accept(acceptedRemix, status, text));

        // Reads: a key with three videos, so cursors and ids can be real.
        var (listKeyId, listKey) = await app.CreateKeyWithIdAsync("test", "fuzz-list", ct);
        using var listOwner = app.ClientFor(listKey);
        var videos = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            videos.Add((await listOwner.CreateVideoAsync(new { prompt = $"video {i}" }, ct)).GetProperty("id").GetString()!);
        }

        await RunAsync(client, listKey, "GET /v1/videos", (m, i, route) =>
        {
            var (query, what) = m.Query([("limit", m.Pick((string[])["1", "2", "20", "100"])), ("after", m.Pick(videos)), ("order", m.Pick((string[])["asc", "desc"]))]);
            return new FuzzRequest(route, i, what, HttpMethod.Get, "/v1/videos" + query, null, null);
        }, failures);

        await RunAsync(client, listKey, "GET /v1/videos/{id}/content", (m, i, route) =>
        {
            var (segment, where) = m.Segment(m.Pick(videos), 0.4);
            var (query, what) = m.Query([("variant", m.Pick((string[])["video", "thumbnail"]))]);
            return new FuzzRequest(route, i, Join(where, what), HttpMethod.Get, $"/v1/videos/{segment}/content{query}", null, null);
        }, failures);

        await RunAsync(client, null, "GET /files/{folder}/{name}", (m, i, route) =>
        {
            var (folder, inFolder) = m.Segment("videos", 0.3);
            var (name, inName) = m.Segment(m.Pick(videos).Replace(':', '_') + ".mp4", 0.3);
            var expires = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds().ToString();
            var (query, what) = m.Query([("exp", expires), ("sig", "AAAAAAAAAAAAAAAAAAAAAAAA")]);
            return new FuzzRequest(route, i, Join(inFolder, inName, what), HttpMethod.Get, $"/files/{folder}/{name}{query}", null, null);
        }, failures);

        AssertNoFailures(failures);
        Assert.Equal(acceptedJson.Order(StringComparer.Ordinal), await StoredTaskIdsAsync(app, jsonKeyId, ct));
        Assert.Equal(acceptedForm.Order(StringComparer.Ordinal), await StoredTaskIdsAsync(app, formKeyId, ct));
        Assert.Equal(acceptedRemix.Order(StringComparer.Ordinal), await StoredTaskIdsAsync(app, remixKeyId, ct));
        Assert.Equal(videos.Order(StringComparer.Ordinal), await StoredTaskIdsAsync(app, listKeyId, ct));
    }

    [Fact]
    public async Task Fuzz_AdminApi_AnswersEnvelopeNever5xxAndStoresOnlyAccepted()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(Settings);
        using var client = app.CreateClient();
        var failures = new List<string>();

        var keys = app.Services.GetRequiredService<IKeyStore>();
        var acceptedKeys = (await keys.ListAsync(ct)).Select(k => k.Id).ToHashSet();
        string[] keyTemplates = ["""{"name":"fuzz","mode":"test"}""", """{"name":"ops team","mode":"live"}""", """{"name":"x"}"""];
        await RunAsync(client, app.AdminKey, "POST /admin/keys", (m, i, route) =>
        {
            var (body, what) = m.Json(m.Pick(keyTemplates));
            return new FuzzRequest(route, i, what, HttpMethod.Post, "/admin/keys", body, m.JsonContentType());
        }, failures, (_, status, text) => Accept(acceptedKeys, status, text));

        const string patched = "fz-patch";
        using (var admin = app.AdminClient())
        {
            using var created = await admin.PostAsync("/admin/channels",
                new StringContent($$"""{"name":"{{patched}}","provider":"xai","api_key":"k","models":["grok-video-3"]}""", Encoding.UTF8, "application/json"), ct);
            created.EnsureSuccessStatusCode();
        }

        // PATCH changes a stored row: after each refusal the channel must read exactly as before.
        // It runs before the creates below, which would make its every lookup read a thousand rows.
        var current = await ChannelAsync(app, patched, ct);
        string[] patchTemplates =
        [
            """{"enabled":false}""",
            """{"priority":3,"weight":2}""",
            """{"models":["grok-video-3=grok-imagine-video"],"base_url":"https://api.x.ai/v1"}""",
            """{"api_key":"k2","submits_per_minute":5,"polls_per_minute":30,"poll_interval_ms":500,"enabled":true}""",
            """{"name":"fz-patch","provider":"xai","base_url":null}""",
        ];
        await RunAsync(client, app.AdminKey, "PATCH /admin/channels/{name}", (m, i, route) =>
        {
            var (segment, where) = m.Segment(patched, 0.05);
            var (body, what) = m.Json(m.Pick(patchTemplates));
            return new FuzzRequest(route, i, Join(where, what), HttpMethod.Patch, "/admin/channels/" + segment, body, m.JsonContentType());
        }, failures, check: async (_, status, _) =>
        {
            var now = await ChannelAsync(app, patched, ct);
            var problem = status is >= 200 and < 300 || now == current ? null : $"refused with {status}, yet the channel changed from {current} to {now}";
            current = now;
            return problem;
        });


        var acceptedChannels = new HashSet<string> { patched };
        string[] channelTemplates =
        [
            """{"name":"fz-N","provider":"xai","base_url":"https://api.x.ai","api_key":"k","models":["grok-video-3","grok-video-3=grok-imagine-video"],"priority":1,"weight":2,"enabled":true,"submits_per_minute":10,"polls_per_minute":60,"poll_interval_ms":1000}""",
            """{"name":"fz-N","provider":"unified","base_url":"https://relay.example.com/v1","models":["sora-2"]}""",
            """{"name":"fz-N","provider":"sora","enabled":false}""",
        ];
        await RunAsync(client, app.AdminKey, "POST /admin/channels", (m, i, route) =>
        {
            // Now and then a fresh name, so valid bodies are accepted; otherwise one that is taken. Each
            // accepted channel reloads the registry, so a thousand of them would cost most of the run.
            var name = m.Chance(0.25) ? $"fz-{i}" : patched;
            var (body, what) = m.Json(m.Pick(channelTemplates).Replace("fz-N", name, StringComparison.Ordinal));
            return new FuzzRequest(route, i, what, HttpMethod.Post, "/admin/channels", body, m.JsonContentType());
        }, failures, (_, status, text) => AcceptChannel(acceptedChannels, status, text));

        AssertNoFailures(failures);
        Assert.Equal(acceptedKeys.Order(StringComparer.Ordinal), (await keys.ListAsync(ct)).Select(k => k.Id).Order(StringComparer.Ordinal));
        var channels = await app.Services.GetRequiredService<IChannelStore>().ListAsync(ct);
        Assert.Equal(acceptedChannels.Order(StringComparer.OrdinalIgnoreCase), channels.Select(c => c.Name).Order(StringComparer.OrdinalIgnoreCase));
    }

    /// <summary>Sends <see cref="MutationsPerRoute"/> requests made by <paramref name="make"/>; a bad answer is recorded with its replay recipe.</summary>
    private static async Task RunAsync(
        HttpClient client,
        string? key,
        string route,
        Func<Mutator, int, string, FuzzRequest> make,
        List<string> failures,
        Action<FuzzRequest, int, string>? onAnswer = null,
        Func<FuzzRequest, int, string, Task<string?>>? check = null)
    {
        var ct = TestContext.Current.CancellationToken;
        var mutator = new Mutator(Seed ^ StableHash(route));
        var clock = Stopwatch.StartNew();
        var statuses = new SortedDictionary<int, int>();
        // A handful of failures per route is enough to act on; the other routes still run.
        var failuresBefore = failures.Count;
        for (var i = 0; i < MutationsPerRoute && failures.Count - failuresBefore < 5; i++)
        {
            var request = make(mutator, i, route);
            using var message = new HttpRequestMessage(request.Method, request.PathAndQuery);
            if (key is not null)
            {
                message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            }

            if (request.Body is not null)
            {
                message.Content = new ByteArrayContent(request.Body);
                if (request.ContentType is not null)
                {
                    message.Content.Headers.TryAddWithoutValidation("Content-Type", request.ContentType);
                }
            }

            int status;
            string text;
            try
            {
                using var response = await client.SendAsync(message, ct);
                status = (int)response.StatusCode;
                text = await response.Content.ReadAsStringAsync(ct);
            }
            catch (HttpRequestException e)
            {
                failures.Add($"The request failed before an answer: {e.Message} {e.InnerException?.Message}\n{request.Describe()}\nReplay: seed {Seed}, route '{route}', index {i}.");
                continue;
            }

            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            var problem = Problem(status, text) ?? (check is null ? null : await check(request, status, text));
            if (problem is not null)
            {
                failures.Add($"{problem}\n{request.Describe()}\nAnswer {status}: {(text.Length > 2000 ? text[..2000] + "…" : text)}\nReplay: seed {Seed}, route '{route}', index {i}.");
            }

            onAnswer?.Invoke(request, status, text);
        }

        TestContext.Current.SendDiagnosticMessage(
            $"{route}: {statuses.Values.Sum()} requests in {clock.Elapsed.TotalSeconds:F1} s ({string.Join(", ", statuses.Select(s => $"{s.Key}×{s.Value}"))})");
    }

    /// <summary>Why an answer is wrong, or null: a 2xx, or a 4xx whose body is the error envelope with a message, repeated at the top level.</summary>
    private static string? Problem(int status, string text)
    {
        if (status is >= 200 and < 300)
        {
            return null;
        }

        if (status is < 400 or >= 500)
        {
            return $"Answered {status}: only a 2xx or a 4xx is acceptable.";
        }

        try
        {
            using var json = JsonDocument.Parse(text);
            var error = json.RootElement.GetProperty("error");
            return error.GetProperty("message") is { ValueKind: JsonValueKind.String } message && !string.IsNullOrWhiteSpace(message.GetString())
                && error.GetProperty("type").ValueKind == JsonValueKind.String
                && json.RootElement.GetProperty("message").ValueEquals(message.GetString())
                ? null
                : $"Answered {status} with an envelope that lacks a message, a type or the same message at the top level.";
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return $"Answered {status} without the error envelope ({e.GetType().Name}).";
        }
    }

    private static void Accept(HashSet<string> accepted, int status, string text)
    {
        if (status is >= 200 and < 300)
        {
            using var json = JsonDocument.Parse(text);
            accepted.Add(json.RootElement.GetProperty("id").GetString()!);
        }
    }

    private static void AcceptChannel(HashSet<string> accepted, int status, string text)
    {
        if (status is >= 200 and < 300)
        {
            using var json = JsonDocument.Parse(text);
            accepted.Add(json.RootElement.GetProperty("name").GetString()!);
        }
    }

    private static void AssertNoFailures(List<string> failures) =>
        Assert.True(failures.Count == 0, $"{failures.Count} bad answer(s), up to five per route:\n\n{string.Join("\n\n", failures)}");

    private static async Task<string> ChannelAsync(ReelayApp app, string name, CancellationToken ct)
    {
        using var admin = app.AdminClient();
        return await admin.GetStringAsync("/admin/channels/" + name, ct);
    }

    private static async Task<List<string>> StoredTaskIdsAsync(ReelayApp app, string keyId, CancellationToken ct)
    {
        var store = app.Services.GetRequiredService<ITaskStore>();
        var ids = new List<string>();
        string? after = null;
        while (true)
        {
            var page = await store.ListAsync(keyId, new TaskPageRequest(100, after, false), ct);
            ids.AddRange(page.Select(t => t.Id));
            if (page.Count < 100)
            {
                return [.. ids.Order(StringComparer.Ordinal)];
            }

            after = page[^1].Id;
        }
    }

    private static FormPart Part(string name, string value) => new(Encoding.UTF8.GetBytes(name), Encoding.UTF8.GetBytes(value));

    private static string Join(params string[] steps) => string.Join("; ", steps.Where(s => s.Length > 0));

    /// <summary>FNV-1a: string.GetHashCode differs between processes, and the seed must not.</summary>
    private static int StableHash(string text)
    {
        var hash = 2166136261;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619;
        }

        return (int)hash;
    }
}
