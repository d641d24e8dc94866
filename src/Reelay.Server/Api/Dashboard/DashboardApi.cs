using System.Collections.Frozen;
using System.Security.Cryptography;
using Microsoft.Net.Http.Headers;
using Reelay.Api.Errors;

namespace Reelay.Api.Dashboard;

/// <summary>
/// The browser dashboard: plain ES modules and CSS embedded in the server assembly, served at <c>/</c>
/// (the HTML shell) and <c>/dashboard/…</c> (its modules). Every call the page makes goes through the
/// public and admin APIs with the signed-in key; nothing here reads the stores.
/// </summary>
public static class DashboardApi
{
    /// <summary>
    /// No inline script or style anywhere, so the policy can stay this strict: everything comes from this
    /// origin, images also from data: and blob: URLs (pasted reference images), nothing may frame the page.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; " +
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private const string ResourcePrefix = "dashboard/";

    private static readonly Lazy<FrozenDictionary<string, Asset>> Assets = new(Load);

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder routes)
    {
        routes.MapMethods("/", ["GET", "HEAD"], (HttpContext http) => Serve(http, "index.html")).ExcludeFromDescription();
        routes.MapMethods("/dashboard/{**path}", ["GET", "HEAD"], (string path, HttpContext http) => Serve(http, path)).ExcludeFromDescription();
        return routes;
    }

    private static IResult Serve(HttpContext http, string path)
    {
        if (!Assets.Value.TryGetValue(path, out var asset))
        {
            return ApiError.NotFound($"The dashboard has no file '{path}'.");
        }

        var headers = http.Response.Headers;
        // The modules import each other by plain names, so a changed file keeps its URL: the browser keeps
        // each copy but asks again every time, and the ETag turns an unchanged file into an empty 304.
        headers.CacheControl = "no-cache";
        headers.ETag = asset.ETag;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        var sent = http.Request.Headers.IfNoneMatch.ToString().Split(',', StringSplitOptions.TrimEntries);
        if (sent.Any(tag => tag == asset.ETag || tag == "*"))
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }

        return TypedResults.Bytes(asset.Bytes, asset.ContentType);
    }

    private static FrozenDictionary<string, Asset> Load()
    {
        var assembly = typeof(DashboardApi).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(name => name.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            var path = name[ResourcePrefix.Length..].Replace('\\', '/');
            var hash = Convert.ToBase64String(SHA256.HashData(bytes).AsSpan(0, 12)).Replace('+', '-').Replace('/', '_');
            assets[path] = new Asset(bytes, ContentTypeOf(path), new EntityTagHeaderValue($"\"{hash}\"").ToString());
        }

        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static string ContentTypeOf(string path) => Path.GetExtension(path) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        ".json" => "application/json; charset=utf-8",
        _ => "application/octet-stream",
    };

    private sealed record Asset(byte[] Bytes, string ContentType, string ETag);
}
