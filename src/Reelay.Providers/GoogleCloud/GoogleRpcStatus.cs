using Reelay.Providers.Http;

namespace Reelay.Providers.GoogleCloud;

/// <summary>
/// A <c>google.rpc.Status</c> as Google's long-running operations and Interactions report a failed job
/// (<c>{code, message, status?}</c>), mapped onto the one error catalogue.
/// </summary>
internal static class GoogleRpcStatus
{
    /// <summary>The task error for a job that ended with this status.</summary>
    /// <param name="code">The numeric <c>google.rpc.Code</c> (3 INVALID_ARGUMENT…), when given.</param>
    /// <param name="status">The code's name (<c>INVALID_ARGUMENT</c>), when given.</param>
    /// <param name="message">The upstream's message, shown to the client redacted and truncated.</param>
    /// <param name="fallback">The message when the upstream gave none.</param>
    public static UpstreamError ToError(int? code, string? status, string? message, string fallback, ChannelSettings channel)
    {
        var text = UpstreamFailures.Redact(UpstreamFailures.Truncate(string.IsNullOrWhiteSpace(message) ? fallback : message), channel);
        if (UpstreamFailures.IsContentPolicy(message))
        {
            return new UpstreamError(TaskErrors.ContentPolicy, text);
        }

        if (UpstreamFailures.IsRetiredModel(message))
        {
            return new UpstreamError(TaskErrors.ModelRetired, text);
        }

        var mapped = (status, code) switch
        {
            ("INVALID_ARGUMENT", _) or (_, 3) or ("FAILED_PRECONDITION", _) or (_, 9) or ("OUT_OF_RANGE", _) or (_, 11) => TaskErrors.InvalidArgument,
            ("PERMISSION_DENIED", _) or (_, 7) or ("UNAUTHENTICATED", _) or (_, 16) => TaskErrors.UpstreamAuth,
            ("RESOURCE_EXHAUSTED", _) or (_, 8) => TaskErrors.QuotaExceeded,
            ("NOT_FOUND", _) or (_, 5) => TaskErrors.NotFound,
            ("DEADLINE_EXCEEDED", _) or (_, 4) => TaskErrors.Timeout,
            ("CANCELLED", _) or (_, 1) => TaskErrors.Cancelled,
            _ => TaskErrors.UpstreamError,
        };
        return new UpstreamError(mapped, text);
    }
}
