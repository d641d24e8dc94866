namespace Reelay.Providers;

/// <summary>
/// The one catalogue of the error codes a task can end with (<c>error.code</c> on both surfaces).
/// One word per condition, whichever adapter or worker met it; the README lists them.
/// </summary>
public static class TaskErrors
{
    // Request and reference images.

    /// <summary>A reference image could not be downloaded (DNS, refused address, HTTP error, too slow, redirect to a non-http URL).</summary>
    public const string ImageDownloadFailed = "image_download_failed";

    /// <summary>A reference image was fetched but is not a usable image (type, size, dimensions).</summary>
    public const string ImageInvalid = "image_invalid";

    /// <summary>The upstream refused the prompt or an image on content grounds. Final: not failed over.</summary>
    public const string ContentPolicy = "content_policy";

    /// <summary>The upstream refused a parameter of the request.</summary>
    public const string InvalidArgument = "invalid_argument";

    /// <summary>The upstream does not know what was asked for (its model, or the job).</summary>
    public const string NotFound = "not_found";

    /// <summary>
    /// The model is retired: past its catalog retirement date (the message names the replacement), or an
    /// upstream answered that it "is no longer available". Another channel serving the same public model may still run it.
    /// </summary>
    public const string ModelRetired = "model_retired";

    // Routing.

    /// <summary>The task's model left the catalog before it was dispatched.</summary>
    public const string ModelNotFound = "model_not_found";

    /// <summary>No channel serves the task's model.</summary>
    public const string ModelNotConfigured = "model_not_configured";

    /// <summary>The channel that ran the task was removed from configuration.</summary>
    public const string ChannelRemoved = "channel_removed";

    /// <summary>The channel's settings cannot work (no key, bad base URL).</summary>
    public const string ChannelMisconfigured = "channel_misconfigured";

    /// <summary>The source of a remix cannot be remixed any more.</summary>
    public const string RemixNotSupported = "remix_not_supported";

    // Upstream accounts and transport.

    /// <summary>The upstream refused the channel's credentials.</summary>
    public const string UpstreamAuth = "upstream_auth";

    /// <summary>The upstream asked to slow down (429).</summary>
    public const string RateLimited = "rate_limited";

    /// <summary>The upstream account is out of quota or credit.</summary>
    public const string QuotaExceeded = "quota_exceeded";

    /// <summary>The upstream stopped the job when it reached a spending or token budget (Gemini Interactions <c>budget_exceeded</c>).</summary>
    public const string BudgetExceeded = "budget_exceeded";

    /// <summary>The upstream paused the job for an action Reelay cannot take, such as a tool call (Gemini Interactions <c>requires_action</c>).</summary>
    public const string RequiresAction = "requires_action";

    /// <summary>The upstream ended the job before its output was complete (Gemini Interactions <c>incomplete</c>).</summary>
    public const string Incomplete = "incomplete";

    /// <summary>The upstream failed: a 5xx answer, or a job it reports failed without a clearer reason.</summary>
    public const string UpstreamError = "upstream_error";

    /// <summary>The upstream could not be reached (refused connection, DNS).</summary>
    public const string UpstreamUnreachable = "upstream_unreachable";

    /// <summary>Connecting to the upstream timed out.</summary>
    public const string UpstreamConnectTimeout = "upstream_connect_timeout";

    /// <summary>The upstream did not answer in time after the request was sent.</summary>
    public const string UpstreamTimeout = "upstream_timeout";

    /// <summary>The connection dropped after the request was sent.</summary>
    public const string UpstreamConnectionLost = "upstream_connection_lost";

    /// <summary>The upstream no longer knows the job (or its answer made no sense).</summary>
    public const string UpstreamLost = "upstream_lost";

    /// <summary>The upstream said it succeeded but its video is missing, unreadable, too large or not a video.</summary>
    public const string UpstreamResultInvalid = "upstream_result_invalid";

    /// <summary>The upstream's result expired before it was fetched.</summary>
    public const string Expired = "expired";

    /// <summary>The local renderer failed to render.</summary>
    public const string RenderFailed = "render_failed";

    // The engine's own.

    /// <summary>
    /// Reelay stopped between recording a submission and hearing the upstream's answer: not resubmitted,
    /// so the video is never paid for twice.
    /// </summary>
    public const string SubmitInterrupted = "submit_interrupted";

    /// <summary>The task did not finish within its model's maximum lifetime.</summary>
    public const string Timeout = "timeout";

    /// <summary>Cancelled by the client or by the upstream.</summary>
    public const string Cancelled = "cancelled";

    /// <summary>Reelay itself failed while handling the task; the failure is logged.</summary>
    public const string InternalError = "internal_error";
}
