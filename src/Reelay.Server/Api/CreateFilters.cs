using System.Globalization;
using Reelay.Api.Billing;
using Reelay.Api.Errors;
using Reelay.Limits;
using Reelay.Tasks;

namespace Reelay.Api;

/// <summary>What both create surfaces share beyond the intake: the per-minute rate, dry runs, the replay and redirect markers.</summary>
public static class CreateFilters
{
    /// <summary>The header that asks for a dry run, besides <c>"dry_run": true</c> in the body.</summary>
    public const string DryRunHeader = "X-Dry-Run";

    /// <summary>Set on an answer that replays the task an idempotency key already made (as Stripe marks them).</summary>
    public const string ReplayedHeader = "Idempotent-Replayed";

    /// <summary>The headers a create's answer may carry, as the API description lists them.</summary>
    private static readonly ResponseHeader[] CreateHeaders =
    [
        new("x-ratelimit-limit-requests", "Create requests per minute of the tightest limit on the key or its account (only when one is set)."),
        new("x-ratelimit-remaining-requests", "Create requests left in that minute's allowance."),
        new("x-ratelimit-reset-requests", "Until the allowance is full again, as OpenAI writes it (20ms, 1.5s, 6m0s)."),
        new(ReplayedHeader, "true when the answer replays the task an earlier request with the same Idempotency-Key made."),
        new(TaskIntakeResult.RedirectHeader, "Set when the requested model is retired and the task runs on its replacement: veo3; replaced-by=veo3.1; retired=2026-06-30."),
    ];

    /// <summary>
    /// Counts the request against the key's and the account's requests per minute and writes OpenAI's
    /// <c>x-ratelimit-*-requests</c> headers for the tightest of them; over the limit it answers 429 with
    /// <c>Retry-After</c>, naming the limit. Goes after the key filter, which says who is calling. Also
    /// declares, for the API description, the headers every create answer may carry.
    /// </summary>
    public static RouteHandlerBuilder RequireCreateRate(this RouteHandlerBuilder builder) =>
        builder.WithResponseHeaders(CreateHeaders).AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            if (await http.RequestServices.GetRequiredService<IRequestRates>().AcquireAsync(http.GetCaller(), http.RequestAborted) is not { } decision)
            {
                return await next(context);
            }

            var headers = http.Response.Headers;
            headers["x-ratelimit-limit-requests"] = decision.Limit.ToString(CultureInfo.InvariantCulture);
            headers["x-ratelimit-remaining-requests"] = decision.Remaining.ToString(CultureInfo.InvariantCulture);
            headers["x-ratelimit-reset-requests"] = RateDecision.FormatDuration(decision.Reset);
            if (decision.Allowed)
            {
                return await next(context);
            }

            var seconds = (int)Math.Max(1, Math.Ceiling(decision.RetryAfter.TotalSeconds));
            var whose = decision.Scope == "key" ? "This key" : "This key's account";
            return new ApiError(429,
                $"{whose} allows {decision.Limit} create requests per minute (requests_per_minute {decision.Limit}); this one is over it. Retry after {seconds} seconds.",
                "rate_limit_exceeded") { RetryAfterSeconds = seconds };
        });

    /// <summary>Whether the request carries <c>X-Dry-Run: true</c> (or 1).</summary>
    public static bool AsksDryRun(HttpRequest request) =>
        request.Headers[DryRunHeader].FirstOrDefault()?.Trim() is { } value
        && (value.Equals("true", StringComparison.OrdinalIgnoreCase) || value == "1");

    /// <summary>A dry run's answer: the price, or the error the create would get.</summary>
    public static async Task<(PriceQuoteView? Quote, ApiError? Error)> QuoteAsync(TaskDraft draft, HttpContext http, TaskIntake intake)
    {
        var result = await intake.QuoteAsync(draft, http.GetCaller(), http.RequestAborted);
        return result.Problem is { } problem ? (null, ApiError.From(problem)) : (PriceQuoteView.From(result, http.GetCaller()), null);
    }

    /// <summary>Marks on the answer an idempotent replay, and a retired model run as its replacement.</summary>
    public static void MarkResult(HttpContext http, TaskIntakeResult result)
    {
        if (result.Replayed)
        {
            http.Response.Headers[ReplayedHeader] = "true";
        }

        if (result.RedirectHeaderValue is { } redirect)
        {
            http.Response.Headers[TaskIntakeResult.RedirectHeader] = redirect;
        }
    }
}
