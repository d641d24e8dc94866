using System.Text.Json.Serialization;
using Reelay.Tasks;

namespace Reelay.Api.Errors;

/// <summary>
/// The one error answer on every surface: OpenAI's envelope <c>{"error":{message,type,param,code}}</c>
/// with the matching HTTP status, so official SDKs raise their typed exceptions, and the same text again
/// as a top-level <c>message</c> (see <see cref="ErrorEnvelope"/>).
/// </summary>
public sealed class ApiError(int status, string message, string? code = null, string? param = null) : IResult
{
    public int Status { get; } = status;

    public string Message { get; } = message;

    public string? Code { get; } = code;

    public string? Param { get; } = param;

    /// <summary>Seconds the client should wait (429/503).</summary>
    public int? RetryAfterSeconds { get; init; }

    public string Type => TypeFor(Status);

    public Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = Status;
        if (RetryAfterSeconds is { } seconds)
        {
            response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return response.WriteAsJsonAsync(new ErrorEnvelope(new ErrorBody(Message, Type, Param, Code), Message), ApiJson.Context.ErrorEnvelope);
    }

    public static string TypeFor(int status) => status switch
    {
        401 => "authentication_error",
        402 => "insufficient_quota",
        403 => "permission_error",
        404 => "not_found_error",
        409 => "conflict_error",
        413 or 415 or 422 or 400 => "invalid_request_error",
        429 => "rate_limit_error",
        503 => "service_unavailable_error",
        _ when status >= 500 => "server_error",
        _ => "invalid_request_error",
    };

    public static ApiError BadRequest(string message, string? param = null, string code = "invalid_request") => new(400, message, code, param);

    public static ApiError NotFound(string message, string? param = null) => new(404, message, "not_found", param);

    /// <summary>A domain problem with a create request, as the envelope says it.</summary>
    public static ApiError From(TaskProblem problem) => problem.Kind switch
    {
        TaskProblemKind.Unavailable => new(503, problem.Message, problem.Code, problem.Field),
        TaskProblemKind.Forbidden => new(403, problem.Message, problem.Code, problem.Field),
        TaskProblemKind.PaymentRequired => new(402, problem.Message, problem.Code, problem.Field),
        TaskProblemKind.Conflict => new(409, problem.Message, problem.Code, problem.Field),
        TaskProblemKind.Busy => new(429, problem.Message, problem.Code, problem.Field)
        {
            RetryAfterSeconds = problem.RetryAfter is { } wait ? (int)Math.Ceiling(Math.Max(1, wait.TotalSeconds)) : null,
        },
        _ => new(400, problem.Message, problem.Code, problem.Field),
    };

    public override string ToString() => $"{Status} {Code}: {Message}";
}

/// <summary>
/// The envelope on the wire. <paramref name="Message"/> repeats <c>error.message</c> at the top level:
/// clients of some relays read <c>message</c> (or a string <c>error</c>) first and show nothing useful
/// without it, while the official SDKs read <c>error</c> and ignore the extra field.
/// </summary>
public sealed record ErrorEnvelope(ErrorBody Error, string Message);

/// <summary>The envelope's body; <c>param</c> and <c>code</c> are always present, null when they do not apply.</summary>
public sealed record ErrorBody(
    string Message,
    string Type,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Param,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Code);
