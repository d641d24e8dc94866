using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Reelay.Api.Errors;
using Scalar.AspNetCore;

namespace Reelay.Api;

/// <summary>
/// The API description: <c>/openapi/v1.json</c>, complete enough to generate a client (request
/// bodies, every error status with the envelope, the bearer key), and its reference page at <c>/docs</c>.
/// </summary>
public static class OpenApiExtensions
{
    private const string BearerScheme = "bearer";

    public static IServiceCollection AddApiDocs(this IServiceCollection services)
    {
        services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer(DescribeDocument);
            options.AddOperationTransformer(DescribeRequestBodyAsync);
            options.AddOperationTransformer(DescribeResponseHeaders);
        });
        return services;
    }

    public static IEndpointRouteBuilder MapApiDocs(this IEndpointRouteBuilder routes)
    {
        routes.MapOpenApi();
        // The page's script is served by the package itself (no CDN); it loads the document by this route.
        routes.MapScalarApiReference("/docs", options => options
            .WithTitle("Reelay API")
            .WithOpenApiRoutePattern("/openapi/{documentName}.json"));
        return routes;
    }

    /// <summary>
    /// Declares error answers with the OpenAI envelope <c>{"error":{message,type,param,code}}</c>;
    /// <c>ProducesProblem</c> would describe ProblemDetails, which Reelay never sends.
    /// </summary>
    public static TBuilder ProducesApiErrors<TBuilder>(this TBuilder builder, params int[] statusCodes)
        where TBuilder : IEndpointConventionBuilder
    {
        foreach (var status in statusCodes)
        {
            builder.WithMetadata(new ProducesResponseTypeMetadata(status, typeof(ErrorEnvelope), ["application/json"]));
        }

        return builder;
    }

    /// <summary>
    /// Declares a request body of shape <typeparamref name="TBody"/>; call once per content type the route reads.
    /// Not <c>Accepts&lt;T&gt;</c>: that also constrains routing, which would answer a wrong Content-Type with a
    /// bare 415 before the key check and before <see cref="JsonBody"/> can say what to send.
    /// </summary>
    public static RouteHandlerBuilder AcceptsBody<TBody>(this RouteHandlerBuilder builder, string contentType = "application/json") =>
        builder.WithMetadata(new RequestBodyMetadata(typeof(TBody), contentType));

    /// <summary>Declares headers a successful answer may carry (<c>Idempotent-Replayed</c>, <c>x-ratelimit-*</c>…), so generated clients can read them.</summary>
    public static RouteHandlerBuilder WithResponseHeaders(this RouteHandlerBuilder builder, params ResponseHeader[] headers) =>
        builder.WithMetadata([.. headers]);

    /// <summary>Names the document and the bearer scheme; every operation that can answer 401 takes the key.</summary>
    private static Task DescribeDocument(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info.Title = "Reelay";
        document.Info.Description =
            "Self-hosted video-generation gateway: the relays' unified video format (/v1/video/*), " +
            "OpenAI's Videos API (/v1/videos) and the admin API (/admin/*). Every error answers " +
            "{\"error\":{\"message\",\"type\",\"param\",\"code\"}}.";
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "A client key (sk-live-… or sk-test-…) on /v1; the admin key on /admin.",
        };

        // A 401 comes only from the key filters, so an operation that declares it is one that needs the key.
        var requirement = new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, document)] = [] };
        foreach (var operation in document.Paths.Values.SelectMany(path => path.Operations?.Values.AsEnumerable() ?? []))
        {
            if (operation.Responses?.ContainsKey("401") == true)
            {
                operation.Security = [requirement];
            }
        }

        return Task.CompletedTask;
    }

    private static async Task DescribeRequestBodyAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var bodies = context.Description.ActionDescriptor.EndpointMetadata.OfType<RequestBodyMetadata>().ToList();
        if (bodies.Count == 0)
        {
            return;
        }

        var content = new Dictionary<string, OpenApiMediaType>();
        foreach (var body in bodies)
        {
            content[body.ContentType] = new OpenApiMediaType { Schema = await ComponentAsync(body.Type, context, cancellationToken) };
        }

        operation.RequestBody = new OpenApiRequestBody { Required = true, Content = content };
    }

    /// <summary>Writes each declared <see cref="ResponseHeader"/> onto the operation's 2xx answers.</summary>
    private static Task DescribeResponseHeaders(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var headers = context.Description.ActionDescriptor.EndpointMetadata.OfType<ResponseHeader>().ToList();
        foreach (var (status, response) in operation.Responses ?? [])
        {
            if (headers.Count == 0 || !status.StartsWith('2') || response is not OpenApiResponse answer)
            {
                continue;
            }

            answer.Headers ??= new Dictionary<string, IOpenApiHeader>();
            foreach (var header in headers)
            {
                answer.Headers[header.Name] = new OpenApiHeader { Description = header.Description, Schema = new OpenApiSchema { Type = JsonSchemaType.String } };
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>The type's schema, registered under its name, so generated clients get a named type.</summary>
    private static async Task<IOpenApiSchema> ComponentAsync(Type type, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var schema = await context.GetOrCreateSchemaAsync(type, cancellationToken: cancellationToken);
        if (context.Document is not { } document)
        {
            return schema;
        }

        if (document.Components?.Schemas?.ContainsKey(type.Name) != true)
        {
            document.AddComponent(type.Name, schema);
        }

        return new OpenApiSchemaReference(type.Name, document);
    }

    private sealed record RequestBodyMetadata(Type Type, string ContentType);
}

/// <summary>A header a route's successful answer may carry, for the API description (<see cref="OpenApiExtensions.WithResponseHeaders"/>).</summary>
public sealed record ResponseHeader(string Name, string Description);
