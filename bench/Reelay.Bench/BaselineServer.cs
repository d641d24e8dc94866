using System.Text.Json.Serialization;

namespace Reelay.Bench;

/// <summary>
/// The baseline: a bare minimal API on Kestrel with no middleware, answering fixed JSON shaped like
/// Reelay's answers. It runs in its own process, like Reelay, so both pay the same process and GC costs.
/// </summary>
internal static class BaselineServer
{
    public const string Path = "/baseline";

    /// <summary>Shaped like Reelay's query answer, so both GETs serialize a similar object.</summary>
    private static readonly BaselineTask Task = new(
        "reelay-preview:3f0b6a3e-8d0c-4c55-9a4e-1b2f9f3d7c11", "pending", 1764522528123, 0, null, null, "",
        "reelay-preview", "小猫在吃鱼", "3:2", "720P", 6, null, null, 1764522528123, null, null);

    /// <summary>Where the static files are served (<c>UseStaticFiles</c>), when the run gives a directory.</summary>
    public const string StaticPath = "/static";

    public static void Run(string url, string? staticDirectory)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls(url);
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, BaselineJsonContext.Default));

        var app = builder.Build();
        if (staticDirectory is not null)
        {
            // ASP.NET Core's own static file serving (Range, ETag, sendfile where the server has it): the floor for file links.
            app.UseStaticFiles(new StaticFileOptions
            {
                FileProvider = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(staticDirectory),
                RequestPath = StaticPath,
            });
        }

        app.MapGet("/healthz", () => TypedResults.Text("ok"));
        app.MapGet(Path, () => TypedResults.Ok(Task));
        // Binding the body deserializes the whole request, as Reelay's create reads and parses it.
        app.MapPost(Path, (BaselineCreate body) =>
            TypedResults.Ok(new BaselineCreated(Task.Id, "pending", body.Prompt.Length + Task.StatusUpdateTime)));
        app.Run();
    }
}

internal sealed record BaselineTask(
    string Id,
    string Status,
    long StatusUpdateTime,
    int Progress,
    string? VideoUrl,
    string? ThumbnailUrl,
    string EnhancedPrompt,
    string Model,
    string Prompt,
    string AspectRatio,
    string Size,
    int Duration,
    int? Width,
    int? Height,
    long CreatedAt,
    long? CompletedAt,
    string? Error);

internal sealed record BaselineCreate(string Model, string Prompt, string AspectRatio, string Size, IReadOnlyList<string> Images);

internal sealed record BaselineCreated(string Id, string Status, long StatusUpdateTime);

[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(BaselineTask))]
[JsonSerializable(typeof(BaselineCreate))]
[JsonSerializable(typeof(BaselineCreated))]
internal sealed partial class BaselineJsonContext : JsonSerializerContext;
