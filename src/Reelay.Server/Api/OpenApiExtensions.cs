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
            options.AddOperationTransformer(AddFormBodyAsync);
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
    /// Declares a <c>multipart/form-data</c> body of shape <typeparamref name="TForm"/> beside the JSON one.
    /// <c>Accepts</c> holds one type for all its content types, and the form's fields differ from the JSON's
    /// (an uploaded file where JSON has an object).
    /// </summary>
    public static RouteHandlerBuilder AcceptsForm<TForm>(this RouteHandlerBuilder builder) =>
        builder.WithMetadata(new FormBodyMetadata(typeof(TForm)));

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

    private static async Task AddFormBodyAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.Description.ActionDescriptor.EndpointMetadata.OfType<FormBodyMetadata>().FirstOrDefault() is not { } form)
        {
            return;
        }

        if (operation.RequestBody is not OpenApiRequestBody body)
        {
            operation.RequestBody = body = new OpenApiRequestBody { Required = true };
        }

        body.Content ??= new Dictionary<string, OpenApiMediaType>();
        body.Content["multipart/form-data"] = new OpenApiMediaType
        {
            Schema = await context.GetOrCreateSchemaAsync(form.Type, cancellationToken: cancellationToken),
        };
    }

    private sealed record FormBodyMetadata(Type Type);
}
