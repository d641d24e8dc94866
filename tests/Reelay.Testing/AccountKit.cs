using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Reelay.Testing;

/// <summary>
/// Accounts, credits and prices through the admin API, as an operator sets them up: the one way tests
/// and bench/ open accounts. Any answer but 2xx throws with the answer's text.
/// </summary>
public static class AccountKit
{
    /// <summary>Opens an account with <paramref name="credits"/> (a first top-up) and returns its id.</summary>
    /// <param name="limits">The <c>limits</c> object (snake_case fields), or null.</param>
    public static async Task<string> CreateAccountAsync(
        HttpClient client, string adminKey, decimal credits = 0, bool unlimited = false, object? limits = null, string name = "test account", CancellationToken cancellationToken = default)
    {
        var body = await SendAsync(client, adminKey, HttpMethod.Post, "/admin/accounts", new { name, credits, unlimited, limits }, cancellationToken);
        return body.GetProperty("id").GetString()!;
    }

    /// <summary>Adds a key to an account and returns its id and secret.</summary>
    public static async Task<CreatedKey> CreateKeyAsync(
        HttpClient client, string adminKey, string accountId, string mode = "live", object? limits = null, CancellationToken cancellationToken = default)
    {
        var body = await SendAsync(client, adminKey, HttpMethod.Post, $"/admin/accounts/{accountId}/keys", new { name = "key of " + accountId, mode, limits }, cancellationToken);
        return new CreatedKey(body.GetProperty("id").GetString()!, body.GetProperty("key").GetString()!);
    }

    /// <summary>The account as <c>GET /admin/accounts/{id}</c> shows it (balance, held, available in credits).</summary>
    public static Task<JsonElement> GetAccountAsync(HttpClient client, string adminKey, string accountId, CancellationToken cancellationToken = default) =>
        SendAsync(client, adminKey, HttpMethod.Get, $"/admin/accounts/{accountId}", null, cancellationToken);

    /// <summary>Sends an admin request and returns the JSON answer.</summary>
    public static async Task<JsonElement> SendAsync(HttpClient client, string adminKey, HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        using var response = await client.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{method} {path} answered {(int)response.StatusCode}: {text}");
        }

        using var json = JsonDocument.Parse(text);
        return json.RootElement.Clone();
    }

    /// <summary>Opens an account with credits and a key in it, on this instance, and returns the account id and a client using the key.</summary>
    public static async Task<(string AccountId, HttpClient Client)> CreateFundedClientAsync(
        this ReelayApp app, decimal credits, string mode = "live", object? accountLimits = null, object? keyLimits = null, bool unlimited = false, CancellationToken cancellationToken = default)
    {
        using var admin = app.CreateClient();
        var account = await CreateAccountAsync(admin, app.AdminKey, credits, unlimited, accountLimits, cancellationToken: cancellationToken);
        var key = await CreateKeyAsync(admin, app.AdminKey, account, mode, keyLimits, cancellationToken);
        return (account, app.ClientFor(key.Key));
    }

    /// <summary>
    /// An unlimited account with a key of <paramref name="mode"/>, and the account's webhook signing secret
    /// learnt the way an operator learns it: by rotating (until then it signs with one nobody was shown).
    /// </summary>
    public static async Task<(string AccountId, CreatedKey Key, string Secret)> CreateWebhookAccountAsync(
        this ReelayApp app, string mode = "test", CancellationToken cancellationToken = default)
    {
        using var admin = app.CreateClient();
        var account = await CreateAccountAsync(admin, app.AdminKey, unlimited: true, cancellationToken: cancellationToken);
        var key = await CreateKeyAsync(admin, app.AdminKey, account, mode, cancellationToken: cancellationToken);
        var rotated = await SendAsync(admin, app.AdminKey, HttpMethod.Post, $"/admin/accounts/{account}/webhook-secret", null, cancellationToken);
        return (account, key, rotated.GetProperty("secret").GetString()!);
    }

    /// <summary>The account as the admin API shows it on this instance.</summary>
    public static async Task<JsonElement> AccountAsync(this ReelayApp app, string accountId, CancellationToken cancellationToken = default)
    {
        using var admin = app.CreateClient();
        return await GetAccountAsync(admin, app.AdminKey, accountId, cancellationToken);
    }

    /// <summary>The admin view of a task (route, attempts, cost, ledger rows).</summary>
    public static async Task<JsonElement> AdminTaskViewAsync(this ReelayApp app, string taskId, CancellationToken cancellationToken = default)
    {
        using var admin = app.CreateClient();
        return await SendAsync(admin, app.AdminKey, HttpMethod.Get, "/admin/tasks/" + Uri.EscapeDataString(taskId), null, cancellationToken);
    }
}
