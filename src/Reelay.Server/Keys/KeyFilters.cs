using Reelay.Api.Errors;

namespace Reelay.Keys;

/// <summary>Group policies: which key a route group requires. The caller is then read with <see cref="GetCaller"/>.</summary>
public static class KeyFilters
{
    private static readonly object CallerItem = new();

    /// <summary>Requires a client key (live or test); admin keys are told to create one.</summary>
    public static TBuilder RequireClientKey<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            if (ReadBearer(http) is not { } secret)
            {
                return Missing();
            }

            var authenticator = http.RequestServices.GetRequiredService<KeyAuthenticator>();
            var key = await authenticator.FindClientKeyAsync(secret, http.RequestAborted);
            if (key is null)
            {
                return authenticator.IsAdmin(secret)
                    ? new ApiError(403, "Admin keys manage the gateway and cannot create videos. Create a client key with POST /admin/keys and use it here.", "admin_key_not_allowed")
                    : Invalid();
            }

            http.Items[CallerItem] = new Caller(key.Id, key.Mode);
            return await next(context);
        });

    /// <summary>Requires the admin key.</summary>
    public static TBuilder RequireAdminKey<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            if (ReadBearer(http) is not { } secret)
            {
                return Missing();
            }

            var authenticator = http.RequestServices.GetRequiredService<KeyAuthenticator>();
            if (!authenticator.IsAdmin(secret))
            {
                return await authenticator.FindClientKeyAsync(secret, http.RequestAborted) is null
                    ? Invalid()
                    : new ApiError(403, "This route needs the admin key; client keys cannot manage the gateway.", "admin_key_required");
            }

            http.Items[CallerItem] = Caller.Admin;
            return await next(context);
        });

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

    private static ApiError Missing() =>
        new(401, "Missing API key. Send it as Authorization: Bearer <key>.", "missing_api_key");

    private static ApiError Invalid() =>
        new(401, "Invalid API key: it is unknown or has been revoked.", "invalid_api_key");
}
