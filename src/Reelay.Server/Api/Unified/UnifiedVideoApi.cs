using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Reelay.Api.Errors;
using Reelay.Blobs;
using Reelay.Tasks;

namespace Reelay.Api.Unified;

/// <summary>The relays' "unified video format": <c>POST /v1/video/create</c> and <c>GET /v1/video/query?id=</c>.</summary>
public static class UnifiedVideoApi
{
    public static IEndpointRouteBuilder MapUnifiedVideoApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/video").RequireClientKey().ProducesApiErrors(401, 403).WithTags("Unified video");
        group.MapPost("/create", CreateAsync)
            .RequireCreateRate()
            .WithName("UnifiedCreate")
            .WithSummary("Create a video task (or, with dry_run, only price it)")
            .AcceptsBody<UnifiedCreateRequest>()
            .ProducesApiErrors(400, 402, 409, 413, 415, 429, 503);
        group.MapGet("/query", QueryAsync)
            .WithName("UnifiedQuery")
            .WithSummary("Read a video task; with wait=N (up to 60) answer as soon as its status or progress changes, or after N seconds")
            .ProducesApiErrors(400, 404);
        group.MapTaskControl();
        return routes;
    }

    private static async Task<Results<JsonAnswer<UnifiedCreateResponse>, Ok<UnifiedQueryResponse>, Ok<Billing.PriceQuoteView>, ApiError>> CreateAsync(
        HttpContext http, TaskIntake intake, IOptions<LimitsOptions> limits, ITaskStore store, ITaskChanges changes, TimeProvider time, IBlobStore blobs, IOptions<FileLinkOptions> links)
    {
        var (document, error) = await JsonBody.ReadObjectAsync(http.Request, limits.Value.MaxCreateBodyBytes);
        if (error is not null)
        {
            return error;
        }

        using (document)
        {
            var body = document!.RootElement;
            error = ToDraft(body, http.Request.Headers["Idempotency-Key"].FirstOrDefault(), out var draft);
            var cancelAfterError = CancelAfter.Read(http.Request, body.TryGetProperty("timeout", out var timeout) ? timeout : null, out var cancelAfter);
            var preferError = TaskWaits.ParsePrefer(http.Request, out var wait);
            if ((error ?? cancelAfterError ?? preferError) is { } refused)
            {
                return refused;
            }

            draft.CancelAfter = cancelAfter;

            if (draft.DryRun || CreateFilters.AsksDryRun(http.Request))
            {
                var (quote, quoteError) = await CreateFilters.QuoteAsync(draft, http, intake);
                return quoteError is not null ? quoteError : TypedResults.Ok(quote!);
            }

            var result = await intake.CreateAsync(draft, http.GetCaller(), http.RequestAborted);
            CreateFilters.MarkResult(http, result);
            if (result.Task is not { } task)
            {
                return ApiError.From(result.Problem!);
            }

            if (wait is not { } held)
            {
                return JsonAnswer.Ok(task.AsCreateResponse());
            }

            // Prefer: wait — held until the task ends or the wait is over, then the whole task as the query shows it
            // (its first fields are the create answer's, so a client reading only those still finds them).
            var latest = await TaskWaits.ReadWhenAsync(store, changes, time, task.Id, task.OwnerKeyId, held, static (_, _) => false, http.RequestAborted) ?? task;
            TaskWaits.MarkPreferenceApplied(http.Response, held);
            SetRetryAfter(http.Response, latest, time);
            return TypedResults.Ok(latest.AsQueryResponse(blobs, links.Value.FileUrlTtl, http.Request));
        }
    }

    private static async Task<Results<QueryAnswer, JsonAnswer<UnifiedQueryResponse>, ApiError>> QueryAsync(
        HttpContext http, ITaskStore store, IBlobStore blobs, IOptions<FileLinkOptions> links, QueryAnswerCache answers, ITaskChanges changes, TimeProvider time, string? id, string? wait)
    {
        if (string.IsNullOrWhiteSpace(id))
        {
            return ApiError.BadRequest("Query parameter 'id' is required: pass the id that /v1/video/create returned.", "id", "missing_field");
        }

        if (TaskWaits.ParseWait(wait, out var waitFor) is { } waitError)
        {
            return waitError;
        }

        var caller = http.GetCaller();
        var looksValid = TaskIds.LooksValid(id);
        // A finished task's answer never changes (QueryAnswerCache says how deletion reaches it).
        if (looksValid && answers.Find(id, caller.KeyId, http.Request) is { } cached)
        {
            return cached;
        }

        var deletions = answers.Deletions;
        var task = !looksValid ? null
            : waitFor > TimeSpan.Zero
                ? await TaskWaits.ReadWhenAsync(store, changes, time, id, caller.KeyId, waitFor, TaskWaits.StatusOrProgressChanged, http.RequestAborted)
                : await store.GetAsync(id, caller.KeyId, http.RequestAborted);
        if (task is null)
        {
            return ApiError.NotFound($"No task with id '{(id.Length > 80 ? id[..80] + "…" : id)}' exists for this key.", "id");
        }

        if (task.Stage.IsTerminal())
        {
            return answers.Add(task, http.Request, deletions);
        }

        SetRetryAfter(http.Response, task, time);
        return JsonAnswer.Ok(task.AsQueryResponse(blobs, links.Value.FileUrlTtl, http.Request));
    }

    /// <summary>While the task runs: when asking again may find a change (whole seconds, as <c>Retry-After</c> takes them).</summary>
    private static void SetRetryAfter(HttpResponse response, VideoTask task, TimeProvider time)
    {
        if (TaskWaits.PollHint(task, time.GetUtcNow().ToUnixTimeMilliseconds()) is { } hint)
        {
            response.Headers.RetryAfter = ((int)Math.Ceiling(hint.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    /// <summary>The unified body → a draft. Unknown fields are ignored: relay clients send extras.</summary>
    private static ApiError? ToDraft(JsonElement body, string? idempotencyKey, out TaskDraft draft)
    {
        var fields = JsonBody.Fields(body);
        draft = new TaskDraft
        {
            IdempotencyKey = idempotencyKey,
            Model = fields.String("model"),
            Prompt = fields.String("prompt"),
            AspectRatio = fields.String("aspect_ratio"),
            Size = fields.String("size"),
            Orientation = fields.String("orientation"),
            Images = fields.StringArray("images", 16, "an http(s) URL or a data:image/...;base64, URI"),
            // Any whole number here: the catalog check then names the durations this model accepts.
            Duration = (int?)(fields.Integer("duration", int.MinValue, int.MaxValue) ?? fields.Integer("seconds", int.MinValue, int.MaxValue)),
            Seed = fields.Integer("seed", 0, uint.MaxValue),
            NegativePrompt = fields.String("negative_prompt"),
            CallbackUrl = fields.String("callback_url"),
            DryRun = fields.Boolean("dry_run") ?? false,
        };
        // Veo's switches and the Sora app's: stored with the task for the upstreams that read them.
        foreach (var flag in (string[])["enhance_prompt", "enable_upsample", "watermark", "private"])
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

        return fields.Error ?? WebhookFilterField.Read(body, fields, draft);
    }
}
