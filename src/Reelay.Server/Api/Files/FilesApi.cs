using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;
using Reelay.Api.Errors;
using Reelay.Blobs;
using Reelay.Blobs.LocalDisk;

namespace Reelay.Api.Files;

/// <summary>Serves stored videos and thumbnails behind signed links, with HTTP Range for seeking.</summary>
public static class FilesApi
{
    public static IEndpointRouteBuilder MapFilesApi(this IEndpointRouteBuilder routes)
    {
        routes.MapMethods("/files/{folder}/{name}", ["GET", "HEAD"], GetFileAsync)
            .WithName("GetFile")
            .WithSummary("A stored video or thumbnail, by signed link")
            .ExcludeFromDescription();
        return routes;
    }

    private static async Task<Results<FileStreamHttpResult, ApiError>> GetFileAsync(
        string folder, string name, string? exp, string? sig, FileUrls urls, IBlobStore blobs, HttpContext http)
    {
        var key = folder + "/" + name;
        if (!BlobKeys.IsServed(key) || !urls.Verify(key, exp, sig))
        {
            return new ApiError(403, "This file link is invalid or has expired. Query the task again for a fresh link.", "invalid_file_link");
        }

        return await blobs.OpenReadAsync(key, http.RequestAborted) is { } blob
            ? Serve(blob)
            : ApiError.NotFound("This file no longer exists.");
    }

    /// <summary>
    /// A stored blob as an HTTP answer: Range (206), and the validators that make conditional requests
    /// work: <c>If-None-Match</c>/<c>If-Modified-Since</c> → 304, and an <c>If-Range</c> that does not match
    /// the current ETag or date → 200 with the whole file rather than a piece of another version.
    /// HEAD answers the same headers without a body. The result disposes the blob's stream.
    /// </summary>
    public static FileStreamHttpResult Serve(BlobContent blob) =>
        TypedResults.Stream(blob.Content, blob.ContentType, lastModified: blob.LastModified,
            entityTag: EntityTagHeaderValue.Parse(blob.EntityTag), enableRangeProcessing: true);
}
