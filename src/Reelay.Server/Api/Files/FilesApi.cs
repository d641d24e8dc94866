using Reelay.Api.Errors;
using Reelay.Blobs;

namespace Reelay.Api.Files;

/// <summary>Serves stored videos and thumbnails behind signed links, with HTTP Range for seeking.</summary>
public static class FilesApi
{
    public static IEndpointRouteBuilder MapFilesApi(this IEndpointRouteBuilder routes)
    {
        routes.MapMethods("/files/{folder}/{name}", ["GET", "HEAD"], GetFile)
            .WithName("GetFile")
            .WithSummary("A stored video or thumbnail, by signed link")
            .ExcludeFromDescription();
        return routes;
    }

    private static IResult GetFile(string folder, string name, string? exp, string? sig, FileUrls urls, IBlobStore blobs)
    {
        var key = folder + "/" + name;
        if (!BlobKeys.IsWellFormed(key) || !urls.Verify(key, exp, sig))
        {
            return new ApiError(403, "This file link is invalid or has expired. Query the task again for a fresh link.", "invalid_file_link");
        }

        return blobs.LocalPath(key) is { } path
            ? TypedResults.PhysicalFile(path, BlobKeys.ContentType(key), enableRangeProcessing: true)
            : ApiError.NotFound("This file no longer exists.");
    }
}
