using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Reelay.Api.Errors;
using Reelay.Api.Files;
using Reelay.Api.Unified;
using Reelay.Blobs;
using Reelay.Catalog;
using Reelay.Images;
using Reelay.Providers;
using Reelay.Tasks;

namespace Reelay.Api.OpenAi;

/// <summary>
/// OpenAI's Videos API (<c>providers/openai-videos.md</c>) over the same tasks as the unified
/// surface, so code written for OpenAI's SDKs works with Reelay as its base URL.
/// </summary>
public static class OpenAiVideosApi
{
    /// <summary>OpenAI's default model and size when a create request leaves them out.</summary>
    private const string DefaultModel = "sora-2";
    private const string DefaultSize = "720x1280";

    /// <summary>How each create field is named on this surface, so validation messages use OpenAI's words.</summary>
    private static readonly FieldNames Names = new("model", "prompt", "size", "size", "input_reference", "seconds");

    private static readonly string[] ReferenceTypes = ["image/png", "image/jpeg", "image/webp"];

    /// <summary>The Sora app's switches, which relays in front of it accept on this route too; stored with the task.</summary>
    private static readonly string[] SoraAppFlags = ["watermark", "private"];

    public static IEndpointRouteBuilder MapOpenAiVideosApi(this IEndpointRouteBuilder routes)
    {
        // The request-id filter goes first so that answers from the key filter (401/403) carry it too.
        var group = routes.MapGroup("/v1/videos")
            .AddEndpointFilter(StampRequestIdAsync)
            .RequireClientKey()
            .ProducesApiErrors(401, 403)
            .WithTags("OpenAI videos");
        group.MapPost("", CreateAsync)
            .RequireCreateRate()
            .WithName("OpenAiCreateVideo")
            .WithSummary("Create a video (JSON or multipart with an input_reference image); X-Dry-Run: true only prices it")
            .AcceptsBody<OpenAiCreateVideoRequest>()
            .AcceptsBody<OpenAiCreateVideoForm>("multipart/form-data")
            .ProducesApiErrors(400, 402, 409, 413, 415, 429, 503);
        group.MapGet("", ListAsync)
            .WithName("OpenAiListVideos")
            .WithSummary("List this key's videos, newest first")
            .ProducesApiErrors(400);
        group.MapGet("/{id}", GetAsync)
            .WithName("OpenAiGetVideo")
            .WithSummary("Read a video")
            .ProducesApiErrors(404);
        group.MapDelete("/{id}", DeleteAsync)
            .WithName("OpenAiDeleteVideo")
            .WithSummary("Delete a finished video and its stored files")
            .ProducesApiErrors(400, 404);
        // HEAD answers the same headers without a body; it is left out of the document, where it would repeat GET.
        group.MapMethods("/{id}/content", ["HEAD"], DownloadContentAsync).ExcludeFromDescription();
        group.MapGet("/{id}/content", DownloadContentAsync)
            .WithName("OpenAiDownloadVideoContent")
            .WithSummary("The finished video's bytes, or its thumbnail (HTTP Range supported)")
            .Produces<Stream>(200, "video/mp4", "image/jpeg")
            .Produces<Stream>(206, "video/mp4", "image/jpeg")
            .ProducesApiErrors(400, 404, 416);
        group.MapPost("/{id}/remix", RemixAsync)
            .RequireCreateRate()
            .WithName("OpenAiRemixVideo")
            .WithSummary("Remix a completed video with a new prompt, where its provider can")
            .AcceptsBody<OpenAiRemixVideoRequest>()
            .AcceptsBody<OpenAiRemixVideoRequest>("multipart/form-data")
            .ProducesApiErrors(400, 402, 404, 409, 413, 415, 429, 503);
        group.MapVideoControl();
        return routes;
    }

    private static async Task<Results<JsonAnswer<OpenAiVideo>, Ok<Billing.PriceQuoteView>, ApiError>> CreateAsync(
        HttpContext http, TaskIntake intake, ModelCatalog catalog, IBlobStore blobs,
        IOptions<LimitsOptions> limits, IOptions<ImageLimitsOptions> imageLimits, IOptions<FileLinkOptions> files,
        ITaskStore store, ITaskChanges changes, TimeProvider time)
    {
        var idempotencyKey = http.Request.Headers["Idempotency-Key"].FirstOrDefault();
        var (draft, error) = http.Request.HasFormContentType
            ? await ReadFormAsync(http.Request, limits.Value, imageLimits.Value, idempotencyKey)
            : await ReadJsonAsync(http.Request, limits.Value, idempotencyKey);
        var preferError = TaskWaits.ParsePrefer(http.Request, out var wait);
        error ??= preferError;
        if (error is not null)
        {
            return error;
        }

        draft!.Model ??= DefaultModel;

        // OpenAI's default size is portrait; a request that names its orientation picks the shape itself.
        error = draft.Size is null && draft.Orientation is not null ? null : ApplySize(draft, draft.Size ?? DefaultSize, catalog);
        if (error is not null)
        {
            return error;
        }

        if (draft.DryRun || CreateFilters.AsksDryRun(http.Request))
        {
            var (quote, quoteError) = await CreateFilters.QuoteAsync(draft, http, intake);
            return quoteError is not null ? quoteError : TypedResults.Ok(quote!);
        }

        var created = await StoreAsync(draft, http, intake, blobs, files.Value);
        if (created.Result is not JsonAnswer<OpenAiVideo> video)
        {
            return (ApiError)created.Result;
        }

        if (wait is not { } held)
        {
            SetPollAfter(http.Response, video.Value.Status, time, null);
            return video;
        }

        // Prefer: wait — held until the video is finished or the wait is over, then answered as it is then.
        var latest = await TaskWaits.ReadWhenAsync(store, changes, time, video.Value.Id, http.GetCaller().KeyId, held, static (_, _) => false, http.RequestAborted);
        TaskWaits.MarkPreferenceApplied(http.Response, held);
        if (latest is null)
        {
            return video;
        }

        SetPollAfter(http.Response, null, time, latest);
        return JsonAnswer.Ok(latest.AsOpenAiVideo(blobs, files.Value.FileUrlTtl, http.Request));
    }

    /// <summary>
    /// <c>openai-poll-after-ms</c> while the video is unfinished: when the SDKs' poll helpers, which honour it,
    /// should read again (<see cref="TaskWaits.PollHint"/>). A fresh create has no estimate yet: the default hint.
    /// </summary>
    private static void SetPollAfter(HttpResponse response, string? status, TimeProvider time, VideoTask? task)
    {
        var hint = task is not null
            ? TaskWaits.PollHint(task, time.GetUtcNow().ToUnixTimeMilliseconds())
            : status is "queued" or "in_progress" ? TaskWaits.DefaultPollHint : null;
        if (hint is { } after)
        {
            response.Headers["openai-poll-after-ms"] = ((long)after.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        }
    }

    private static async Task<Results<JsonAnswer<OpenAiVideo>, ApiError>> GetAsync(string id, HttpContext http, ITaskStore store, IBlobStore blobs, IOptions<FileLinkOptions> options, TimeProvider time)
    {
        var task = await FindAsync(id, http, store);
        if (task is null)
        {
            return NotFound(id);
        }

        SetPollAfter(http.Response, null, time, task);

        return JsonAnswer.Ok(task.AsOpenAiVideo(blobs, options.Value.FileUrlTtl, http.Request));
    }

    private static async Task<Results<Ok<OpenAiVideoList>, ApiError>> ListAsync(
        HttpContext http, ITaskStore store, ITaskMonitor monitor, IBlobStore blobs, IOptions<FileLinkOptions> options,
        string? after, string? limit, string? order, string? status, string? model, string? from, string? to)
    {
        var pageSize = 20;
        if (limit is not null
            && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out pageSize) || pageSize is < 1 or > 100))
        {
            return ApiError.BadRequest($"'limit' must be a whole number from 1 to 100, got '{Shorten(limit)}'.", "limit", "invalid_limit");
        }

        if (order is not (null or "asc" or "desc"))
        {
            return ApiError.BadRequest($"'order' must be 'asc' or 'desc', got '{Shorten(order)}'.", "order", "invalid_order");
        }

        var caller = http.GetCaller();
        if (!string.IsNullOrEmpty(after) && await FindAsync(after, http, store) is null)
        {
            // An unknown cursor would silently read as "no more videos"; say so instead.
            return ApiError.BadRequest($"'after' must be the id of one of this key's videos (the last_id of the previous page); '{Shorten(after)}' is not.", "after", "invalid_cursor");
        }

        var filtered = status is not null || model is not null || from is not null || to is not null;
        IReadOnlyList<VideoTask> rows;
        if (filtered)
        {
            if (ListFilter(caller.KeyId, pageSize + 1, string.IsNullOrEmpty(after) ? null : after, order, status, model, from, to) is not { } filter)
            {
                return ListFilterError(order, status, from, to)!;
            }

            // The operators' filtered read, narrowed to this key: the same query, the same tenancy rule.
            rows = await monitor.ListAsync(filter, http.RequestAborted);
        }
        else
        {
            rows = await store.ListAsync(caller.KeyId, new TaskPageRequest(pageSize + 1, string.IsNullOrEmpty(after) ? null : after, order == "asc"), http.RequestAborted);
        }

        var ttl = options.Value.FileUrlTtl;
        var data = rows.Take(pageSize).Select(task => task.AsOpenAiVideo(blobs, ttl, http.Request)).ToList();
        return TypedResults.Ok(new OpenAiVideoList("list", data, data.FirstOrDefault()?.Id, data.LastOrDefault()?.Id, rows.Count > pageSize));
    }

    /// <summary>
    /// The list's filters: <c>status</c> in this surface's words (<c>failed</c> includes cancelled tasks, which it
    /// shows as failed), <c>model</c> as requested, <c>from</c>/<c>to</c> as UTC days (<c>yyyy-MM-dd</c>, both
    /// included). Null when one is invalid (<see cref="ListFilterError"/> says which).
    /// </summary>
    private static TaskFilter? ListFilter(string keyId, int limit, string? after, string? order, string? status, string? model, string? from, string? to)
    {
        IReadOnlyList<TaskStage>? stages = status switch
        {
            null => null,
            "queued" => [TaskStage.Pending, TaskStage.Submitting],
            "in_progress" => [TaskStage.Running, TaskStage.Finishing],
            "completed" => [TaskStage.Completed],
            "failed" => [TaskStage.Failed, TaskStage.Cancelled],
            _ => [],
        };
        if (stages is { Count: 0 } || order == "asc" || !Day(from, out var start) || !Day(to, out var end))
        {
            return null;
        }

        return new TaskFilter(limit, after)
        {
            KeyId = keyId,
            Model = string.IsNullOrEmpty(model) ? null : model,
            Stages = stages,
            From = start,
            To = end is { } last ? last + (long)TimeSpan.FromDays(1).TotalMilliseconds : null,
        };
    }

    private static ApiError? ListFilterError(string? order, string? status, string? from, string? to)
    {
        if (status is not (null or "queued" or "in_progress" or "completed" or "failed"))
        {
            return ApiError.BadRequest($"'status' must be one of queued, in_progress, completed, failed, got '{Shorten(status)}'.", "status", "invalid_status");
        }

        if (order == "asc")
        {
            return ApiError.BadRequest("A filtered list (status, model, from, to) is newest first; leave out 'order' or send 'desc'.", "order", "invalid_order");
        }

        return Day(from, out _)
            ? ApiError.BadRequest($"'to' must be a UTC day as yyyy-MM-dd, got '{Shorten(to ?? "")}'.", "to", "invalid_date")
            : ApiError.BadRequest($"'from' must be a UTC day as yyyy-MM-dd, got '{Shorten(from ?? "")}'.", "from", "invalid_date");
    }

    /// <summary>Midnight UTC of a <c>yyyy-MM-dd</c> day in Unix ms; true with null when none was given.</summary>
    private static bool Day(string? text, out long? unixMs)
    {
        unixMs = null;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        if (!DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            return false;
        }

        unixMs = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeMilliseconds();
        return true;
    }

    private static async Task<Results<Ok<OpenAiDeletedVideo>, ApiError>> DeleteAsync(
        string id, HttpContext http, ITaskStore store, IBlobStore blobs, QueryAnswerCache answers)
    {
        var task = await FindAsync(id, http, store);
        if (task is null)
        {
            return NotFound(id);
        }

        // 400 rather than 409: the SDKs retry 409s on their own, which cannot help a running render.
        if (!task.Stage.IsTerminal())
        {
            return NotFinished(task, "deleted");
        }

        // The row goes first, so no task ever points at files that are gone.
        var deleted = await store.DeleteAsync(task.Id, task.OwnerKeyId, http.RequestAborted);
        if (deleted is null)
        {
            return (await FindAsync(id, http, store)) is { } still ? NotFinished(still, "deleted") : NotFound(id);
        }

        // Before the files go, so this instance hands out no more links to them.
        answers.Forget(deleted.Id);

        foreach (var key in (string?[])[deleted.VideoKey, deleted.ThumbnailKey])
        {
            if (key is not null)
            {
                await blobs.DeleteAsync(key, CancellationToken.None);
            }
        }

        return TypedResults.Ok(new OpenAiDeletedVideo(deleted.Id, "video.deleted", true));
    }

    private static async Task<Results<FileStreamHttpResult, ApiError>> DownloadContentAsync(
        string id, string? variant, HttpContext http, ITaskStore store, IBlobStore blobs)
    {
        // OpenAI serves the thumbnail as WebP; Reelay's thumbnails are JPEG and say so in Content-Type.
        if (variant is not (null or "video" or "thumbnail"))
        {
            return ApiError.BadRequest(
                variant == "spritesheet"
                    ? "Reelay does not make spritesheets; 'variant' may be 'video' or 'thumbnail'."
                    : $"'variant' must be 'video' or 'thumbnail', got '{Shorten(variant)}'.",
                "variant", "invalid_variant");
        }

        var task = await FindAsync(id, http, store);
        if (task is null)
        {
            return NotFound(id);
        }

        // 404 while unfinished: the content does not exist yet, and unlike 409 the SDKs do not retry it blindly.
        if (task.Stage != TaskStage.Completed)
        {
            return new ApiError(404,
                $"Video '{task.Id}' is {OpenAiVideoMapping.StatusOf(task.Stage)}; its content can be downloaded once its status is completed.",
                "video_not_ready", "video_id");
        }

        var key = variant == "thumbnail" ? task.ThumbnailKey : task.VideoKey;
        return key is not null && await blobs.OpenReadAsync(key, http.RequestAborted) is { } blob
            ? FilesApi.Serve(blob)
            : new ApiError(404, $"The {variant ?? "video"} of '{task.Id}' is no longer stored.", "content_not_found", "video_id");
    }

    private static async Task<Results<JsonAnswer<OpenAiVideo>, ApiError>> RemixAsync(
        string id, HttpContext http, TaskIntake intake, ITaskStore store, IBlobStore blobs,
        IEnumerable<IVideoProvider> providers, IOptions<LimitsOptions> limits, IOptions<ImageLimitsOptions> imageLimits, IOptions<FileLinkOptions> files)
    {
        var (body, error) = http.Request.HasFormContentType
            ? await ReadFormAsync(http.Request, limits.Value, imageLimits.Value, null)
            : await ReadJsonAsync(http.Request, limits.Value, null);
        if (error is not null)
        {
            return error;
        }

        var source = await FindAsync(id, http, store);
        if (source is null)
        {
            return NotFound(id);
        }

        if (source.Stage != TaskStage.Completed)
        {
            return NotFinished(source, "remixed");
        }

        var provider = providers.FirstOrDefault(p => p.Name == source.Provider);
        if (provider is not { Capabilities.SupportsRemix: true })
        {
            var who = source.Provider == ProviderNames.Local
                ? "the local preview renderer (used by test-mode keys and reelay-preview)"
                : $"the '{source.Provider}' provider";
            return ApiError.BadRequest(
                $"Video '{source.Id}' was made by {who}, which cannot remix videos. Create a new video with POST /v1/videos instead.",
                "video_id", "remix_not_supported");
        }

        // The new task keeps the source's settings; only the prompt changes.
        var draft = new TaskDraft
        {
            Names = Names,
            Model = source.RequestedModel,
            Prompt = body!.Prompt,
            AspectRatio = source.AspectRatio,
            Size = source.Size,
            Duration = source.Duration,
            RemixedFrom = source.Id,
            IdempotencyKey = http.Request.Headers["Idempotency-Key"].FirstOrDefault(),
            Surface = TaskSurface.OpenAi,
        };
        return await StoreAsync(draft, http, intake, blobs, files.Value);
    }

    private static async Task<Results<JsonAnswer<OpenAiVideo>, ApiError>> StoreAsync(
        TaskDraft draft, HttpContext http, TaskIntake intake, IBlobStore blobs, FileLinkOptions files)
    {
        var result = await intake.CreateAsync(draft, http.GetCaller(), http.RequestAborted);
        CreateFilters.MarkResult(http, result);
        return result.Task is { } task ? JsonAnswer.Ok(task.AsOpenAiVideo(blobs, files.FileUrlTtl, http.Request)) : ApiError.From(result.Problem!);
    }

    /// <summary>The JSON body (<c>CreateVideoJsonBody</c>, as openai-python sends it without a file) → a draft.</summary>
    private static async Task<(TaskDraft? Draft, ApiError? Error)> ReadJsonAsync(HttpRequest request, LimitsOptions limits, string? idempotencyKey)
    {
        var (document, error) = await JsonBody.ReadObjectAsync(request, limits.MaxCreateBodyBytes);
        if (error is not null)
        {
            return (null, error);
        }

        using (document)
        {
            var fields = JsonBody.Fields(document!.RootElement);
            var draft = new TaskDraft
            {
                Names = Names,
                Surface = TaskSurface.OpenAi,
                IdempotencyKey = idempotencyKey,
                Model = fields.String("model"),
                Prompt = fields.String("prompt"),
                Size = fields.String("size"),
                Orientation = fields.String("orientation"),
                Duration = (int?)fields.Integer("seconds", 1, 600),
                DryRun = fields.Boolean("dry_run") ?? false,
                // Reelay extension, as on the unified route: where the task's webhook events go.
                CallbackUrl = fields.String("callback_url"),
            };
            if (WebhookFilterField.Read(document.RootElement, fields, draft) is { } filterError)
            {
                return (null, filterError);
            }

            foreach (var flag in SoraAppFlags)
            {
                if (fields.Boolean(flag) is { } on)
                {
                    draft.Options[flag] = on ? "true" : "false";
                }
            }

            if (fields.String("style") is { } style && !string.IsNullOrWhiteSpace(style))
            {
                draft.Options["style"] = style;
            }
            if (fields.Object("input_reference") is { } reference)
            {
                var inner = JsonBody.Fields(reference);
                var url = inner.String("image_url");
                var fileId = inner.String("file_id");
                error = inner.Error
                    ?? (fileId is not null
                        ? ApiError.BadRequest("'input_reference.file_id' is not supported: Reelay has no Files API. Send 'input_reference.image_url' (an https URL or a data URL) or upload the image as multipart.", "input_reference", "unsupported_value")
                        : url is null
                            ? ApiError.BadRequest("'input_reference' needs 'image_url': an https URL or a data:image/...;base64, URL.", "input_reference", "missing_field")
                            : null);
                if (error is not null)
                {
                    return (null, error);
                }

                draft.Images.Add(url!);
            }

            if (fields.Error is { } fieldError)
            {
                return (null, fieldError);
            }

            // Reelay's extension, as on the unified route: the Cancel-After header or a timeout field.
            error = CancelAfter.Read(request, document.RootElement.TryGetProperty("timeout", out var timeout) ? timeout : null, out var cancelAfter);
            draft.CancelAfter = cancelAfter;
            return error is null ? (draft, null) : (null, error);
        }
    }

    /// <summary>
    /// The multipart body (<c>CreateVideoMultipartBody</c>; openai-node always sends this) → a draft.
    /// An uploaded <c>input_reference</c> becomes a data URI, so the engine treats it like any reference image.
    /// </summary>
    private static async Task<(TaskDraft? Draft, ApiError? Error)> ReadFormAsync(HttpRequest request, LimitsOptions limits, ImageLimitsOptions imageLimits, string? idempotencyKey)
    {
        if (request.ContentLength > limits.MaxCreateBodyBytes)
        {
            return (null, TooLarge(limits));
        }

        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = limits.MaxCreateBodyBytes;
        }

        IFormCollection form;
        try
        {
            // Parts stay in memory up to the body limit rather than spilling to temp files: the file
            // becomes an in-memory data URI next anyway, and with no disk involved every IOException
            // below is about the request's own bytes, never a server fault answered as a 400.
            var options = new FormOptions
            {
                MultipartBodyLengthLimit = limits.MaxCreateBodyBytes,
                MemoryBufferThreshold = (int)Math.Min(limits.MaxCreateBodyBytes, int.MaxValue),
            };
            form = await request.ReadFormAsync(options, request.HttpContext.RequestAborted);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, TooLarge(limits));
        }
        catch (InvalidDataException e)
        {
            return (null, ApiError.BadRequest($"The multipart body could not be read: {e.Message}", code: "invalid_multipart"));
        }
        catch (BadHttpRequestException e)
        {
            return (null, JsonBody.Unreadable(e));
        }
        catch (IOException)
        {
            // The multipart reader ran out of bytes before the closing boundary: the body was cut
            // short, or its parts use another boundary than the one Content-Type declares.
            var boundary = MediaTypeHeaderValue.TryParse(request.ContentType, out var type) ? HeaderUtilities.RemoveQuotes(type.Boundary).Value : null;
            return (null, ApiError.BadRequest(
                $"The multipart body ends before its closing boundary '--{boundary}--', or its parts do not use the boundary '{boundary}' that Content-Type declares. Send the complete multipart/form-data body.",
                code: "invalid_multipart"));
        }

        var draft = new TaskDraft
        {
            Names = Names,
            Surface = TaskSurface.OpenAi,
            IdempotencyKey = idempotencyKey,
            Model = Field(form, "model"),
            Prompt = Field(form, "prompt"),
            Size = Field(form, "size"),
            Orientation = Field(form, "orientation"),
            CallbackUrl = Field(form, "callback_url"),
        };

        if (form.TryGetValue(WebhookFilterField.Name, out var filter) || form.TryGetValue(WebhookFilterField.Name + "[]", out filter))
        {
            var types = filter.SelectMany(value => (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
            if (WebhookFilterField.Apply(types, draft) is { } filterError)
            {
                return (null, filterError);
            }
        }

        foreach (var flag in SoraAppFlags)
        {
            if (Field(form, flag) is { } text)
            {
                if (!bool.TryParse(text.Trim(), out var on))
                {
                    return (null, ApiError.BadRequest($"'{flag}' must be true or false, got '{Shorten(text)}'.", flag, "invalid_type"));
                }

                draft.Options[flag] = on ? "true" : "false";
            }
        }

        if (Field(form, "style") is { } style && !string.IsNullOrWhiteSpace(style))
        {
            draft.Options["style"] = style;
        }

        if (Field(form, "seconds") is { } seconds)
        {
            if (!int.TryParse(seconds.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var duration))
            {
                return (null, ApiError.BadRequest($"'seconds' must be a whole number of seconds such as \"4\", got '{Shorten(seconds)}'.", "seconds", "invalid_type"));
            }

            draft.Duration = duration;
        }

        if (form.Files.GetFile("input_reference") is { } file)
        {
            var (uri, error) = await ToDataUriAsync(file, imageLimits, request.HttpContext.RequestAborted);
            if (error is not null)
            {
                return (null, error);
            }

            draft.Images.Add(uri!);
        }
        else if ((Field(form, "input_reference[image_url]") ?? Field(form, "input_reference")) is { } url)
        {
            draft.Images.Add(url);
        }

        if (CancelAfter.Read(request, Field(form, "timeout"), out var cancelAfter) is { } cancelAfterError)
        {
            return (null, cancelAfterError);
        }

        draft.CancelAfter = cancelAfter;
        return (draft, null);
    }

    private static async Task<(string? Uri, ApiError? Error)> ToDataUriAsync(IFormFile file, ImageLimitsOptions limits, CancellationToken cancellationToken)
    {
        if (file.Length > limits.MaxImageBytes)
        {
            return (null, ApiError.BadRequest($"'input_reference' is {file.Length} bytes; the limit is {limits.MaxImageBytes}.", "input_reference", "image_too_large"));
        }

        using var buffer = new MemoryStream((int)file.Length);
        await using (var stream = file.OpenReadStream())
        {
            await stream.CopyToAsync(buffer, cancellationToken);
        }

        // The declared content type is the client's guess; the bytes decide.
        var bytes = buffer.ToArray();
        if (ImageSniffer.Sniff(bytes) is not { } header || !ReferenceTypes.Contains(header.MediaType))
        {
            return (null, ApiError.BadRequest(
                $"'input_reference' must be a JPEG, PNG or WebP image; the uploaded file '{Shorten(file.FileName)}' is not one.",
                "input_reference", "invalid_image_reference"));
        }

        return (string.Concat("data:", header.MediaType, ";base64,", Convert.ToBase64String(bytes)), null);
    }

    /// <summary>
    /// Checks <c>size</c>: pixels the model renders exactly, so the <c>size</c> a client reads back is
    /// the one it asked for (the intake turns <c>1280x720</c> into a size class and a ratio, and keeps
    /// a model's own exact sizes such as <c>1792x1024</c> as they are); or the relays' words
    /// <c>small</c>/<c>large</c>, whose shape the orientation or the model's default picks.
    /// </summary>
    private static ApiError? ApplySize(TaskDraft draft, string size, ModelCatalog catalog)
    {
        var model = catalog.Find(draft.Model!.Trim());
        var supported = model is null
            ? []
            : model.Sizes.SelectMany(s => model.AspectRatios.Select(r => Pixels(Shapes.For(s, r)))).Concat(model.PixelSizes).Distinct().ToList();
        var trimmed = size.Trim();
        if (trimmed.Equals("small", StringComparison.OrdinalIgnoreCase) || trimmed.Equals("large", StringComparison.OrdinalIgnoreCase))
        {
            draft.Size = trimmed;
            return null;
        }

        if (!Shapes.TryParsePixels(trimmed, out _, out _))
        {
            return ApiError.BadRequest(
                $"'size' must be WIDTHxHEIGHT in pixels{(supported.Count > 0 ? $"; {model!.Name} renders {string.Join(", ", supported)}" : ", such as 1280x720")}. Got '{Shorten(size)}'.",
                "size", "invalid_size");
        }

        if (model is not null && !supported.Contains(Shapes.CanonicalPixels(trimmed)))
        {
            return ApiError.BadRequest(
                $"'size' '{Shorten(size)}' is not supported by {model.Name}; use one of {string.Join(", ", supported)}.",
                "size", "unsupported_value");
        }

        draft.Size = Shapes.CanonicalPixels(trimmed);
        return null;
    }

    internal static Task<VideoTask?> FindAsync(string id, HttpContext http, ITaskStore store) =>
        TaskIds.LooksValid(id) ? store.GetAsync(id, http.GetCaller().KeyId, http.RequestAborted) : Task.FromResult<VideoTask?>(null);

    private static async ValueTask<object?> StampRequestIdAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        context.HttpContext.Response.Headers["x-request-id"] = "req_" + context.HttpContext.TraceIdentifier.Replace(':', '_');
        return await next(context);
    }

    internal static ApiError NotFound(string id) =>
        new(404, $"No video with id '{Shorten(id)}' exists for this key.", "video_not_found", "video_id");

    private static ApiError NotFinished(VideoTask task, string verb) =>
        ApiError.BadRequest(
            $"Video '{task.Id}' is {OpenAiVideoMapping.StatusOf(task.Stage)}; only {(verb == "deleted" ? "completed or failed" : "completed")} videos can be {verb}.",
            "video_id", "video_not_finished");

    private static ApiError TooLarge(LimitsOptions limits) =>
        new(413, $"The body is larger than {limits.MaxCreateBodyBytes / (1024 * 1024)} MiB.", "body_too_large");

    private static string? Field(IFormCollection form, string name) =>
        form.TryGetValue(name, out var values) && values.Count > 0 && values[0] is { Length: > 0 } value ? value : null;

    private static string Pixels((int Width, int Height) size) =>
        string.Create(CultureInfo.InvariantCulture, $"{size.Width}x{size.Height}");

    private static string Shorten(string value) => value.Length <= 80 ? value : value[..80] + "…";
}
