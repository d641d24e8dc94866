namespace Reelay.Providers;

/// <summary>
/// Where a call to an upstream failed. Failover reads the stage: only failures that prove the
/// upstream did not take the job may be retried on another channel.
/// </summary>
public enum UpstreamFailureStage
{
    /// <summary>No connection could be made (refused, DNS failure, TLS failure before sending).</summary>
    ConnectFailed,
    /// <summary>Connecting timed out; nothing was sent.</summary>
    ConnectTimeout,
    /// <summary>The upstream answered 429 or said it was overloaded: not accepted.</summary>
    RateLimited,
    /// <summary>The upstream rejected the credentials (401/403): not accepted.</summary>
    Unauthorized,
    /// <summary>The upstream refused the request itself (4xx other than 401/403/429): final.</summary>
    Rejected,
    /// <summary>The upstream answered with a 5xx: not accepted.</summary>
    ServerError,
    /// <summary>
    /// The upstream no longer serves the model (a 404 saying it "is no longer available"): not accepted,
    /// and not the channel's fault; another channel serving the same public model may run it.
    /// </summary>
    ModelRetired,
    /// <summary>The request was sent but no usable answer came back (timeout, reset, malformed body): the job may exist.</summary>
    UnknownAfterSend,
}

/// <summary>A failed upstream call, classified by stage, with a stable error code and a message fit for clients.</summary>
public sealed class UpstreamException : Exception
{
    public UpstreamException(UpstreamFailureStage stage, string code, string message, TimeSpan? retryAfter = null, Exception? inner = null)
        : base(message, inner)
    {
        Stage = stage;
        Code = code;
        RetryAfter = retryAfter;
    }

    public UpstreamException()
        : this(UpstreamFailureStage.UnknownAfterSend, TaskErrors.UpstreamError, "The upstream failed.")
    {
    }

    public UpstreamException(string message)
        : this(UpstreamFailureStage.UnknownAfterSend, TaskErrors.UpstreamError, message)
    {
    }

    public UpstreamException(string message, Exception innerException)
        : this(UpstreamFailureStage.UnknownAfterSend, TaskErrors.UpstreamError, message, null, innerException)
    {
    }

    public UpstreamFailureStage Stage { get; }

    /// <summary>Stable snake_case code recorded on the task (<c>content_policy</c>, <c>rate_limited</c>, <c>upstream_auth</c>…).</summary>
    public string Code { get; }

    /// <summary>The upstream's <c>Retry-After</c>, when it sent one.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>True when the upstream provably did not accept the job, so another channel may take it.</summary>
    public bool ProvablyNotAccepted => Stage is UpstreamFailureStage.ConnectFailed or UpstreamFailureStage.ConnectTimeout
        or UpstreamFailureStage.RateLimited or UpstreamFailureStage.Unauthorized or UpstreamFailureStage.ServerError
        or UpstreamFailureStage.ModelRetired;
}
