using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Reelay.Testing;

/// <summary>A client key as <c>POST /admin/keys</c> returns it: its id (the owner of its tasks) and secret.</summary>
public sealed record CreatedKey(string Id, string Key);

/// <summary>The one way tests and bench/ create client keys: through the admin API, as an operator does.</summary>
public static class ClientKeys
{
    /// <summary>
    /// Creates a key in <paramref name="mode"/> (<c>test</c> or <c>live</c>) on the server
    /// <paramref name="client"/> points at, authenticated with <paramref name="adminKey"/>.
    /// Any answer but 2xx throws with the answer's text.
    /// </summary>
    public static async Task<CreatedKey> CreateAsync(
        HttpClient client, string adminKey, string mode = "test", string name = "test", CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/admin/keys", UriKind.Relative))
        {
            Content = JsonContent.Create(new { name, mode }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        using var response = await client.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"POST /admin/keys answered {(int)response.StatusCode}: {text}");
        }

        using var body = JsonDocument.Parse(text);
        return new CreatedKey(body.RootElement.GetProperty("id").GetString()!, body.RootElement.GetProperty("key").GetString()!);
    }
}
