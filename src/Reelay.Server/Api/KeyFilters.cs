using Reelay.Accounts;
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

    private static async ValueTask<object?> AuthenticateAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next, bool admin) =>
        await AuthenticateAsync(context.HttpContext, admin) is { } refused ? refused : await next(context);

    /// <summary>
    /// Authenticates the request's bearer key for a client (<paramref name="admin"/> false) or an admin
    /// route and records the caller; the 401 or 403 to answer otherwise. For endpoints that are not route
    /// handlers (middleware branches), where endpoint filters do not run.
    /// </summary>
    public static async ValueTask<ApiError?> AuthenticateAsync(HttpContext http, bool admin)
    {
        if (ReadBearer(http) is not { } secret)
        {
            return new ApiError(401, "Missing API key. Send it as Authorization: Bearer <key>.", "missing_api_key");
        }

        var authenticator = http.RequestServices.GetRequiredService<KeyAuthenticator>();
        var (bootstrap, key) = await authenticator.IdentifyAsync(secret, http.RequestAborted);
        if (!bootstrap && key is null)
        {
            return new ApiError(401, "Invalid API key: it is unknown or has been revoked.", "invalid_api_key");
        }

        var isAdmin = bootstrap || key!.Mode == KeyMode.Admin;
        if (admin != isAdmin)
        {
            return admin
                ? new ApiError(403, "This route needs the admin key; client keys cannot manage the gateway.", "admin_key_required")
                : new ApiError(403, "Admin keys manage the gateway and cannot create videos. Create a client key with POST /admin/keys and use it here.", "admin_key_not_allowed");
        }

        if (!isAdmin && Refuse(key!, http) is { } refused)
        {
            return refused;
        }

        http.Items[CallerItem] = bootstrap ? Caller.Admin : isAdmin ? new Caller(key!.Id, KeyMode.Admin) : Caller.For(key!);
        return null;
    }

    /// <summary>An expired key (401) or a client address the key or its account does not allow (403); null when neither.</summary>
    private static ApiError? Refuse(ApiKey key, HttpContext http)
    {
        var now = http.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow().ToUnixTimeMilliseconds();
        return Expired(key.Limits, "This key", now) ?? Expired(key.AccountLimits, "This key's account", now)
            ?? Disallowed(key.Limits, "this key", http) ?? Disallowed(key.AccountLimits, "this key's account", http);
    }

    private static ApiError? Expired(AccessLimits limits, string whose, long now) =>
        limits.ExpiresAt is { } expires && expires <= now
            ? new ApiError(401, $"{whose} expired at {DateTimeOffset.FromUnixTimeMilliseconds(expires):yyyy-MM-dd'T'HH:mm:ss'Z'} (expires_at); ask the operator for a new key or a later expiry.", "key_expired")
            : null;

    private static ApiError? Disallowed(AccessLimits limits, string whose, HttpContext http)
    {
        var address = http.Connection.RemoteIpAddress;
        if (limits.AllowsAddress(address))
        {
            return null;
        }

        var shown = address is { IsIPv4MappedToIPv6: true } ? address.MapToIPv4() : address;
        return new ApiError(403, $"Requests from {shown} are not allowed for {whose}: its allowed_ips are {string.Join(", ", limits.AllowedIps!)}.", "ip_not_allowed");
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
