using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Hosting;

/// <summary>
/// <c>/openapi/v1.json</c> must be enough to generate a client: every operation has its request body,
/// its success schema, the bearer key where one is needed, and every error status in the envelope shape.
/// </summary>
public sealed class ApiDocsTests
{
    private static readonly string[] Methods = ["get", "put", "post", "delete", "patch", "head", "options"];

    /// <summary>Every operation the two public surfaces and the admin API offer.</summary>
    private static readonly string[] ExpectedOperations =
    [
        "POST /v1/video/create", "GET /v1/video/query",
        "POST /v1/videos", "GET /v1/videos", "GET /v1/videos/{id}", "DELETE /v1/videos/{id}",
        "GET /v1/videos/{id}/content", "POST /v1/videos/{id}/remix",
        "POST /v1/video/cancel", "GET /v1/video/events", "POST /v1/videos/{id}/cancel", "GET /v1/videos/{id}/events",
        "GET /v1/videos/{id}/timeline", "GET /v1/videos/{id}/webhooks",
        "GET /v1/models", "GET /v1/pricing", "GET /v1/usage",
        "POST /admin/keys", "GET /admin/keys", "GET /admin/keys/{id}", "PATCH /admin/keys/{id}", "DELETE /admin/keys/{id}",
        "POST /admin/accounts", "GET /admin/accounts", "GET /admin/accounts/{id}", "PATCH /admin/accounts/{id}", "DELETE /admin/accounts/{id}",
        "POST /admin/accounts/{id}/top-ups", "POST /admin/accounts/{id}/adjustments", "GET /admin/accounts/{id}/ledger", "POST /admin/accounts/{id}/keys",
        "POST /admin/admin-keys", "GET /admin/admin-keys", "DELETE /admin/admin-keys/{id}",
        "GET /admin/prices", "GET /admin/prices/{model}", "PUT /admin/prices/{model}", "DELETE /admin/prices/{model}",
        "GET /admin/models", "GET /admin/models/{name}", "PUT /admin/models/{name}", "DELETE /admin/models/{name}",
        "GET /admin/tasks", "POST /admin/tasks/{id}/retry", "GET /admin/usage", "GET /admin/audit",
        "POST /admin/channels", "GET /admin/channels", "GET /admin/channels/{name}",
        "PATCH /admin/channels/{name}", "DELETE /admin/channels/{name}",
        "GET /admin/tasks/{id}",
        "GET /admin/secrets", "POST /admin/secrets/rotate", "DELETE /admin/secrets/keys/{id}",
        "POST /admin/webhooks/endpoints", "GET /admin/webhooks/endpoints", "GET /admin/webhooks/endpoints/{id}",
        "PATCH /admin/webhooks/endpoints/{id}", "DELETE /admin/webhooks/endpoints/{id}", "GET /admin/webhooks/endpoints/{id}/deliveries",
        "POST /admin/webhooks/deliveries/{id}/redeliver", "GET /admin/tasks/{id}/webhooks", "POST /admin/accounts/{id}/webhook-secret",
    ];

    [Fact]
    public async Task OpenApiDocument_EveryOperation_DeclaresBodySuccessAuthAndEnvelopeErrors()
    {
        using var document = await ReadDocumentAsync();
        var root = document.RootElement;
        var schemas = root.GetProperty("components").GetProperty("schemas");
        var bearer = BearerSchemeName(root);
        var problems = new List<string>();
        var seen = new List<string>();

        foreach (var path in root.GetProperty("paths").EnumerateObject())
        {
            foreach (var method in Methods)
            {
                if (!path.Value.TryGetProperty(method, out var operation))
                {
                    continue;
                }

                var name = $"{method.ToUpperInvariant()} {path.Name}";
                seen.Add(name);
                problems.AddRange(Check(name, operation, schemas, bearer).Select(problem => $"{name}: {problem}"));
            }
        }

        Assert.Empty(ExpectedOperations.Except(seen));
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public async Task OpenApiDocument_CreateBodies_NameTheFieldsTheSurfacesRead()
    {
        using var document = await ReadDocumentAsync();
        var root = document.RootElement;
        var schemas = root.GetProperty("components").GetProperty("schemas");

        var unified = BodySchema(root, "/v1/video/create", "post", "application/json", schemas);
        var unifiedFields = Properties(unified);
        foreach (var field in (string[])["model", "prompt", "aspect_ratio", "size", "images", "duration", "seed", "negative_prompt", "callback_url", "webhook_events_filter", "enhance_prompt", "enable_upsample", "orientation", "watermark", "private", "style"])
        {
            Assert.Contains(field, unifiedFields);
        }

        Assert.Equal(new[] { "model", "prompt" }, unified.GetProperty("required").EnumerateArray().Select(e => e.GetString()).Order().ToArray());
        var images = unified.GetProperty("properties").GetProperty("images");
        Assert.Contains("array", Types(images));
        Assert.Equal("string", images.GetProperty("items").GetProperty("type").GetString());

        // openai-python sends JSON with input_reference as an object; openai-node sends multipart with a file.
        var json = BodySchema(root, "/v1/videos", "post", "application/json", schemas);
        Assert.Equal(new[] { "callback_url", "input_reference", "model", "orientation", "private", "prompt", "seconds", "size", "style", "timeout", "watermark", "webhook_events_filter" }, Properties(json).Order().ToArray());
        var form = BodySchema(root, "/v1/videos", "post", "multipart/form-data", schemas);
        var file = form.GetProperty("properties").GetProperty("input_reference");
        Assert.Equal("binary", file.GetProperty("format").GetString());

        var remix = BodySchema(root, "/v1/videos/{id}/remix", "post", "application/json", schemas);
        Assert.Equal(new[] { "prompt" }, Properties(remix));

        var channel = BodySchema(root, "/admin/channels", "post", "application/json", schemas);
        Assert.Contains("base_url", Properties(channel));
        Assert.Contains("poll_interval_ms", Properties(channel));
        Assert.Contains("retired_models", Properties(channel));
        Assert.Contains("retired", Properties(BodySchema(root, "/admin/models/{name}", "put", "application/json", schemas)));
    }

    [Theory]
    [InlineData("/v1/video/create")]
    [InlineData("/v1/videos")]
    [InlineData("/v1/videos/{id}/remix")]
    public async Task OpenApiDocument_CreateAnswers_DeclareTheHeadersTheyMayCarry(string path)
    {
        using var document = await ReadDocumentAsync();
        var responses = document.RootElement.GetProperty("paths").GetProperty(path).GetProperty("post").GetProperty("responses");
        var success = responses.EnumerateObject().Single(r => r.Name.StartsWith('2')).Value;

        var headers = success.GetProperty("headers").EnumerateObject().Select(h => h.Name).ToList();

        foreach (var header in (string[])["Reelay-Model-Redirect", "Idempotent-Replayed", "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests"])
        {
            Assert.Contains(header, headers);
        }

        Assert.All(success.GetProperty("headers").EnumerateObject(), h => Assert.False(string.IsNullOrWhiteSpace(h.Value.GetProperty("description").GetString())));
        Assert.False(responses.GetProperty("400").TryGetProperty("headers", out _));
    }

    [Fact]
    public async Task Docs_Get_ServesTheReferencePageWithItsScriptsFromReelay()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = app.CreateClient();

        using var response = await client.GetAsync("/docs", ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var html = await response.Content.ReadAsStringAsync(ct);
        Assert.Contains("openapi/v1.json", html, StringComparison.Ordinal);

        // The page works without internet access: the scripts it loads are Reelay's own.
        var scripts = Regex.Matches(html, "<script[^>]*\\bsrc=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(scripts);
        foreach (var script in scripts)
        {
            var url = new Uri(response.RequestMessage!.RequestUri!, script);
            Assert.Equal(app.BaseAddress.Authority, url.Authority);
            using var asset = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, ct);
            Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
        }
    }

    private static IEnumerable<string> Check(string name, JsonElement operation, JsonElement schemas, string bearer)
    {
        if (!HasText(operation, "operationId"))
        {
            yield return "no operationId (.WithName)";
        }

        if (!HasText(operation, "summary"))
        {
            yield return "no summary (.WithSummary)";
        }

        if (!operation.TryGetProperty("responses", out var responses))
        {
            yield return "no responses";
            yield break;
        }

        var success = responses.EnumerateObject().Where(r => r.Name.StartsWith('2') || r.Name == "302").ToList();
        if (success.Count == 0)
        {
            yield return "no 2xx response";
        }

        foreach (var response in success.Where(r => r.Name is not ("204" or "302")))
        {
            if (!EveryContentHasSchema(response.Value, schemas))
            {
                yield return $"{response.Name} has no schema (.Produces<T> or a TypedResults return type)";
            }
        }

        // Everything documented is under /v1 or /admin, and all of it takes a key.
        if (!responses.TryGetProperty("401", out _))
        {
            yield return "no 401 response although the route takes a key";
        }

        if (!RequiresScheme(operation, bearer))
        {
            yield return "no bearer security requirement";
        }

        foreach (var response in responses.EnumerateObject().Where(r => r.Name[0] is '4' or '5'))
        {
            if (!IsEnvelope(response.Value, schemas))
            {
                yield return $"{response.Name} is not the error envelope {{\"error\":{{message,type,param,code}}}}";
            }
        }

        // An action on the resource its path names (POST /v1/videos/{id}/cancel, as OpenAI's own cancels) takes no body.
        var bodiless = name.EndsWith("}/cancel", StringComparison.Ordinal);
        if (!bodiless && (name.StartsWith("POST ", StringComparison.Ordinal) || name.StartsWith("PATCH ", StringComparison.Ordinal) || name.StartsWith("PUT ", StringComparison.Ordinal)))
        {
            if (!operation.TryGetProperty("requestBody", out var body) || !EveryContentHasSchema(body, schemas))
            {
                yield return "no request body schema (.Accepts<T>)";
            }

            // Every body is read within a size limit, as JSON (or a form), and validated.
            foreach (var status in (string[])["400", "413", "415"])
            {
                if (!responses.TryGetProperty(status, out _))
                {
                    yield return $"no {status} response although the route reads a body";
                }
            }
        }

        var parameters = operation.TryGetProperty("parameters", out var list) ? list.EnumerateArray().ToList() : [];
        // A PUT that makes what its path names (PUT /admin/models/{name}) has nothing to miss.
        var createsWhatItNames = name.StartsWith("PUT ", StringComparison.Ordinal) && !responses.TryGetProperty("404", out _) && responses.TryGetProperty("200", out _)
            && operation.TryGetProperty("summary", out var summary) && summary.GetString()!.StartsWith("Add ", StringComparison.Ordinal);
        if (parameters.Any(p => p.GetProperty("in").GetString() == "path") && !responses.TryGetProperty("404", out _) && !createsWhatItNames)
        {
            yield return "no 404 response although the route names a resource in its path";
        }

        if (parameters.Any(p => p.GetProperty("in").GetString() == "query") && !responses.TryGetProperty("400", out _))
        {
            yield return "no 400 response although the route reads query parameters";
        }
    }

    private static bool EveryContentHasSchema(JsonElement holder, JsonElement schemas) =>
        holder.TryGetProperty("content", out var content)
        && content.EnumerateObject().Any()
        && content.EnumerateObject().All(media => media.Value.TryGetProperty("schema", out var schema) && Resolve(schema, schemas) is { } resolved
            && (resolved.TryGetProperty("type", out _) || resolved.TryGetProperty("properties", out _)));

    private static bool IsEnvelope(JsonElement response, JsonElement schemas)
    {
        if (!response.TryGetProperty("content", out var content)
            || !content.TryGetProperty("application/json", out var json)
            || !json.TryGetProperty("schema", out var schema)
            || Resolve(schema, schemas) is not { } envelope
            || !envelope.TryGetProperty("properties", out var properties)
            || !properties.TryGetProperty("error", out var error)
            || Resolve(error, schemas) is not { } body
            || !body.TryGetProperty("properties", out var fields)
            || !body.TryGetProperty("required", out var required))
        {
            return false;
        }

        string[] names = ["message", "type", "param", "code"];
        var requiredNames = required.EnumerateArray().Select(e => e.GetString()).ToHashSet();
        return names.All(n => fields.TryGetProperty(n, out _) && requiredNames.Contains(n));
    }

    /// <summary>Follows a <c>#/components/schemas/…</c> reference; null when it points nowhere.</summary>
    private static JsonElement? Resolve(JsonElement schema, JsonElement schemas)
    {
        if (!schema.TryGetProperty("$ref", out var reference))
        {
            return schema;
        }

        const string prefix = "#/components/schemas/";
        var target = reference.GetString()!;
        return target.StartsWith(prefix, StringComparison.Ordinal) && schemas.TryGetProperty(target[prefix.Length..], out var resolved) ? resolved : null;
    }

    private static bool RequiresScheme(JsonElement operation, string scheme) =>
        operation.TryGetProperty("security", out var security)
        && security.EnumerateArray().Any(requirement => requirement.TryGetProperty(scheme, out _));

    /// <summary>The name of the document's HTTP bearer scheme; the test fails when there is none.</summary>
    private static string BearerSchemeName(JsonElement root)
    {
        var schemes = root.GetProperty("components").GetProperty("securitySchemes").EnumerateObject()
            .Where(s => s.Value.GetProperty("type").GetString() == "http" && s.Value.GetProperty("scheme").GetString() == "bearer")
            .ToList();
        Assert.Single(schemes);
        return schemes[0].Name;
    }

    private static JsonElement BodySchema(JsonElement root, string path, string method, string contentType, JsonElement schemas)
    {
        var schema = root.GetProperty("paths").GetProperty(path).GetProperty(method)
            .GetProperty("requestBody").GetProperty("content").GetProperty(contentType).GetProperty("schema");
        return Resolve(schema, schemas) ?? throw new InvalidOperationException($"{method} {path} {contentType}: dangling $ref");
    }

    private static List<string> Properties(JsonElement schema) =>
        [.. schema.GetProperty("properties").EnumerateObject().Select(p => p.Name)];

    /// <summary>OpenAPI 3.1 writes <c>"type": "string"</c> or <c>"type": ["null", "string"]</c>.</summary>
    private static List<string?> Types(JsonElement schema) =>
        schema.GetProperty("type") is { ValueKind: JsonValueKind.Array } array
            ? [.. array.EnumerateArray().Select(e => e.GetString())]
            : [schema.GetProperty("type").GetString()];

    private static bool HasText(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && !string.IsNullOrWhiteSpace(value.GetString());

    private static async Task<JsonDocument> ReadDocumentAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start();
        using var client = app.CreateClient();
        using var response = await client.GetAsync("/openapi/v1.json", ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
    }
}
