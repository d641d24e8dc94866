using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using Reelay.Providers;
using Reelay.Providers.Http;

namespace Reelay.Tests.Providers.Http;

public sealed class UpstreamFailuresTests
{
    private const string Secret = "xai-SECRET-abcdef123456";
    private static readonly ChannelSettings Channel = new("primary", "xai", new Uri("https://api.x.ai"), Secret);
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(429, UpstreamFailureStage.RateLimited, "rate_limited")]
    [InlineData(529, UpstreamFailureStage.RateLimited, "rate_limited")]
    [InlineData(401, UpstreamFailureStage.Unauthorized, "upstream_auth")]
    [InlineData(403, UpstreamFailureStage.Unauthorized, "upstream_auth")]
    [InlineData(400, UpstreamFailureStage.Rejected, "invalid_argument")]
    [InlineData(422, UpstreamFailureStage.Rejected, "invalid_argument")]
    [InlineData(404, UpstreamFailureStage.Rejected, "not_found")]
    [InlineData(500, UpstreamFailureStage.ServerError, "upstream_error")]
    [InlineData(503, UpstreamFailureStage.ServerError, "upstream_error")]
    public void FromResponse_Status_MapsToStageAndCode(int status, UpstreamFailureStage stage, string code)
    {
        var error = UpstreamFailures.FromResponse((HttpStatusCode)status, null, "", Channel, Now);

        Assert.Equal(stage, error.Stage);
        Assert.Equal(code, error.Code);
    }

    [Theory]
    [InlineData("""{"error":{"message":"Invalid size '999x1'.","type":"invalid_request_error","param":"size","code":null}}""", "Invalid size '999x1'.")]
    [InlineData("""{"code":"Client specified an invalid argument","error":"duration must be between 1 and 15"}""", "duration must be between 1 and 15")]
    [InlineData("""{"error":{"code":400,"message":"aspectRatio 4:3 is not supported.","status":"INVALID_ARGUMENT"}}""", "aspectRatio 4:3 is not supported.")]
    [InlineData("""{"code":"bad_request","message":"images must be URLs"}""", "images must be URLs")]
    [InlineData("""{"detail":"model not found"}""", "model not found")]
    [InlineData("plain text failure", "plain text failure")]
    public void FromResponse_ErrorBodyShapes_CarryTheUpstreamMessage(string body, string message)
    {
        var error = UpstreamFailures.FromResponse(HttpStatusCode.BadRequest, null, body, Channel, Now);

        Assert.Equal("invalid_argument", error.Code);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"error":{"message":"Your request was blocked by our moderation system.","type":"invalid_request_error","param":null,"code":"moderation_blocked"}}""")]
    [InlineData("""{"error":{"message":"Request rejected.","type":"invalid_request_error","param":null,"code":"content_policy_violation"}}""")]
    [InlineData("""{"error":{"code":400,"message":"The prompt violates Gemini API's usage guidelines.","status":"INVALID_ARGUMENT"}}""")]
    [InlineData("""{"code":"Client specified an invalid argument","error":"Generated video rejected by content moderation."}""")]
    public void FromResponse_ContentPolicyWording_IsFinalContentPolicy(string body)
    {
        var error = UpstreamFailures.FromResponse(HttpStatusCode.BadRequest, null, body, Channel, Now);

        Assert.Equal(UpstreamFailureStage.Rejected, error.Stage);
        Assert.Equal("content_policy", error.Code);
    }

    [Theory]
    [InlineData(429, """{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}""")]
    [InlineData(429, """{"error":{"code":429,"message":"Quota exceeded for quota metric 'Generate requests' and limit 'per day'.","status":"RESOURCE_EXHAUSTED"}}""")]
    [InlineData(402, """{"code":"payment_required","error":"Your team has run out of credits."}""")]
    [InlineData(403, """{"error":{"message":"Billing is not enabled for this account.","type":"billing_error","param":null,"code":null}}""")]
    public void FromResponse_AccountOutOfQuota_IsQuotaExceededAndNotAccepted(int status, string body)
    {
        var error = UpstreamFailures.FromResponse((HttpStatusCode)status, null, body, Channel, Now);

        Assert.Equal("quota_exceeded", error.Code);
        Assert.True(error.ProvablyNotAccepted);
    }

    [Fact]
    public void FromResponse_OverloadedType_IsRateLimited()
    {
        var error = UpstreamFailures.FromResponse(HttpStatusCode.ServiceUnavailable, null,
            """{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}""", Channel, Now);

        Assert.Equal(UpstreamFailureStage.RateLimited, error.Stage);
    }

    [Fact]
    public void FromResponse_RetryAfterSeconds_IsParsed()
    {
        var error = UpstreamFailures.FromResponse(HttpStatusCode.TooManyRequests, HeadersWith("Retry-After", "12"), "", Channel, Now);

        Assert.Equal(TimeSpan.FromSeconds(12), error.RetryAfter);
    }

    [Fact]
    public void FromResponse_RetryAfterHttpDate_IsMeasuredFromNow()
    {
        var headers = HeadersWith("Retry-After", Now.AddSeconds(90).ToString("R"));

        var error = UpstreamFailures.FromResponse(HttpStatusCode.TooManyRequests, headers, "", Channel, Now);

        Assert.Equal(TimeSpan.FromSeconds(90), error.RetryAfter);
    }

    [Fact]
    public void FromResponse_RetryAfterMs_TakesPrecedence()
    {
        var headers = HeadersWith("retry-after-ms", "1500");
        headers.TryAddWithoutValidation("Retry-After", "2");

        var error = UpstreamFailures.FromResponse(HttpStatusCode.TooManyRequests, headers, "", Channel, Now);

        Assert.Equal(TimeSpan.FromMilliseconds(1500), error.RetryAfter);
    }

    [Fact]
    public void FromResponse_BodyEchoingTheKey_RedactsIt()
    {
        var body = $$"""{"error":{"message":"Incorrect API key provided: {{Secret}}.","type":"invalid_request_error","param":null,"code":"invalid_api_key"} }""";

        var error = UpstreamFailures.FromResponse(HttpStatusCode.Unauthorized, null, body, Channel, Now);

        Assert.DoesNotContain(Secret, error.Message, StringComparison.Ordinal);
        Assert.Contains("[redacted]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromResponse_HugeBody_IsTruncated()
    {
        var error = UpstreamFailures.FromResponse(HttpStatusCode.BadGateway, null, new string('x', 10_000), Channel, Now);

        Assert.True(error.Message.Length < 700);
    }

    [Theory]
    [InlineData(HttpRequestError.ConnectionError)]
    [InlineData(HttpRequestError.NameResolutionError)]
    [InlineData(HttpRequestError.SecureConnectionError)]
    public void FromException_ConnectErrors_AreConnectFailed(HttpRequestError kind)
    {
        var error = UpstreamFailures.FromException(new HttpRequestException(kind, "no route"), requestTimedOut: false, Channel);

        Assert.Equal(UpstreamFailureStage.ConnectFailed, error.Stage);
        Assert.True(error.ProvablyNotAccepted);
    }

    [Fact]
    public void FromException_RefusedSocket_IsConnectFailed()
    {
        var exception = new HttpRequestException("refused", new SocketException((int)SocketError.ConnectionRefused));

        var error = UpstreamFailures.FromException(exception, requestTimedOut: false, Channel);

        Assert.Equal(UpstreamFailureStage.ConnectFailed, error.Stage);
    }

    [Fact]
    public void FromException_HandlerConnectTimeout_IsConnectTimeout()
    {
        // SocketsHttpHandler's ConnectTimeout surfaces as a cancellation wrapping a TimeoutException.
        var exception = new TaskCanceledException("canceled", new TimeoutException("A connection could not be established within the configured ConnectTimeout."));

        var error = UpstreamFailures.FromException(exception, requestTimedOut: false, Channel);

        Assert.Equal(UpstreamFailureStage.ConnectTimeout, error.Stage);
    }

    [Fact]
    public void FromException_OurRequestTimeout_IsUnknownAfterSend()
    {
        var error = UpstreamFailures.FromException(new TaskCanceledException(), requestTimedOut: true, Channel);

        Assert.Equal(UpstreamFailureStage.UnknownAfterSend, error.Stage);
        Assert.Equal("upstream_timeout", error.Code);
    }

    [Fact]
    public void FromException_ResetAfterSend_IsUnknownAfterSend()
    {
        var exception = new HttpRequestException(HttpRequestError.ResponseEnded, "The response ended prematurely.");

        var error = UpstreamFailures.FromException(exception, requestTimedOut: false, Channel);

        Assert.Equal(UpstreamFailureStage.UnknownAfterSend, error.Stage);
        Assert.False(error.ProvablyNotAccepted);
    }

    [Fact]
    public void FromException_MalformedJson_IsUnknownAfterSend()
    {
        var error = UpstreamFailures.FromException(new JsonException("bad"), requestTimedOut: false, Channel);

        Assert.Equal(UpstreamFailureStage.UnknownAfterSend, error.Stage);
        Assert.Equal("upstream_malformed_response", error.Code);
    }

    [Theory]
    [InlineData("https://api.openai.com", "/v1/videos", "https://api.openai.com/v1/videos")]
    [InlineData("https://api.openai.com/v1", "/v1/videos", "https://api.openai.com/v1/videos")]
    [InlineData("https://api.openai.com/v1/", "/v1/videos", "https://api.openai.com/v1/videos")]
    [InlineData("https://relay.example/openai/", "/v1/videos", "https://relay.example/openai/v1/videos")]
    [InlineData("https://generativelanguage.googleapis.com/v1beta", "/v1beta/models/m:predictLongRunning", "https://generativelanguage.googleapis.com/v1beta/models/m:predictLongRunning")]
    public void Combine_BaseWithOrWithoutVersion_BuildsOnePath(string baseUrl, string path, string expected)
    {
        Assert.Equal(expected, UpstreamClient.Combine(new Uri(baseUrl), path).ToString());
    }

    private static HttpResponseHeaders HeadersWith(string name, string value)
    {
        using var response = new HttpResponseMessage();
        response.Headers.TryAddWithoutValidation(name, value);
        return response.Headers;
    }
}
