using Reelay.Api.Errors;
using Reelay.Keys;

namespace Reelay.Api;

/// <summary>Group policies: which key a route group requires. The caller is then read with <see cref="GetCaller"/>.</summary>
public static class KeyFilters
{
    private static readonly object CallerItem = new();

    /// <summary>Requires a client key (live or test); admin keys are told to create one.</summary>
    public static TBuilder RequireClientKey<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter((context, next) => AuthenticateAsync(context, next, admin: false));

    /// <summary>Requires the admin key.</summary>
    public static TBuilder RequireAdminKey<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter((context, next) => AuthenticateAsync(context, next, admin: true));

    private static async ValueTask<object?> AuthenticateAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next, bool admin)
    {
        var http = context.HttpContext;
        if (ReadBearer(http) is not { } secret)
        {
            return new ApiError(401, "Missing API key. Send it as Authorization: Bearer <key>.", "missing_api_key");
        }

        var authenticator = http.RequestServices.GetRequiredService<KeyAuthenticator>();
        var isAdmin = authenticator.IsAdmin(secret);
        var key = isAdmin ? null : await authenticator.FindClientKeyAsync(secret, http.RequestAborted);
        if (!isAdmin && key is null)
        {
            return new ApiError(401, "Invalid API key: it is unknown or has been revoked.", "invalid_api_key");
        }

        if (admin != isAdmin)
        {
            return admin
                ? new ApiError(403, "This route needs the admin key; client keys cannot manage the gateway.", "admin_key_required")
                : new ApiError(403, "Admin keys manage the gateway and cannot create videos. Create a client key with POST /admin/keys and use it here.", "admin_key_not_allowed");
        }

        http.Items[CallerItem] = key is null ? Caller.Admin : new Caller(key.Id, key.Mode);
        return await next(context);
    }

    /// <summary>The caller the group's key filter authenticated.</summary>
    public static Caller GetCaller(this HttpContext http) =>
        http.Items.TryGetValue(CallerItem, out var caller) && caller is Caller c
            ? c
            : throw new InvalidOperationException("The route group has no key filter.");

    private static string? ReadBearer(HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var secret = header.AsSpan(7).Trim();
            return secret.Length is > 0 and <= 256 ? secret.ToString() : null;
        }

        return null;
    }
}
