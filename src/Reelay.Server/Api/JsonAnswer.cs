using System.Buffers;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;

namespace Reelay.Api;

/// <summary>
/// A 200 JSON answer for the hot endpoints, the bytes <c>TypedResults.Ok</c> would write but sent with
/// a <c>Content-Length</c> in one write: serialized synchronously into a buffer reused by the thread,
/// instead of streamed through the asynchronous serializer in chunked encoding. The endpoint's OpenAPI
/// description is the one <c>Ok&lt;T&gt;</c> gives.
/// </summary>
public sealed class JsonAnswer<T>(T value) : IResult, IEndpointMetadataProvider, IStatusCodeHttpResult, IValueHttpResult, IValueHttpResult<T>
{
    /// <summary>Answers larger than this are not kept for the thread's next one.</summary>
    private const int KeptBufferBytes = 16 * 1024;

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;

    public T Value { get; } = value;

    object? IValueHttpResult.Value => Value;

    int? IStatusCodeHttpResult.StatusCode => StatusCodes.Status200OK;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        var options = httpContext.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        var typeInfo = (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T));
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        // The writer escapes as the options say: one made for other options (another host in the process) is replaced.
        var writer = t_writer is { } kept && kept.Options.Encoder == options.Encoder ? kept
            : t_writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = options.Encoder, SkipValidation = true });
        try
        {
            writer.Reset(buffer);
            JsonSerializer.Serialize(writer, Value, typeInfo);
            writer.Flush();
            // Copied into Kestrel's own buffer before this returns, so the thread's buffer is free again before any await.
            return JsonAnswer.WriteAsync(httpContext, buffer.WrittenSpan);
        }
        finally
        {
            if (buffer.Capacity > KeptBufferBytes)
            {
                (t_buffer, t_writer) = (null, null);
            }
            else
            {
                buffer.ResetWrittenCount();
            }
        }
    }

    static void IEndpointMetadataProvider.PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(T), ["application/json"]));
}

/// <summary>Builds <see cref="JsonAnswer{T}"/> with the type inferred, and writes serialized JSON as a whole answer.</summary>
public static class JsonAnswer
{
    public static JsonAnswer<T> Ok<T>(T value) => new(value);

    /// <summary>A 200 answer of these UTF-8 JSON bytes: the headers <c>TypedResults.Ok</c> gives JSON, the length up front, one write.</summary>
    public static Task WriteAsync(HttpContext httpContext, ReadOnlySpan<byte> utf8)
    {
        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json; charset=utf-8";
        response.ContentLength = utf8.Length;
        response.BodyWriter.Write(utf8);
        return response.BodyWriter.FlushAsync(httpContext.RequestAborted).AsTask();
    }
}
