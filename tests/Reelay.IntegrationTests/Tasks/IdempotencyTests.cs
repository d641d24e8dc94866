using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Tasks;

/// <summary>
/// <c>Idempotency-Key</c>, scoped to the account: the same key and request within 24 hours is the same
/// task and holds nothing again, another request under it is a 409 naming the key, and duplicates sent at
/// once make exactly one task. Priced so that a second hold would show.
/// </summary>
public class IdempotencyTests
{
    private static readonly Dictionary<string, string?> Priced = new()
    {
        ["Engine:Enabled"] = "false",
        ["Limits:LocalAdmission"] = "false",
        ["Billing:Prices:reelay-preview:PerVideo"] = "1",
    };

    private static Task<HttpResponseMessage> CreateAsync(HttpClient client, string idempotencyKey, string prompt, CancellationToken ct, string route = "/v1/video/create")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, route)
        {
            Content = new StringContent($$"""{"model":"reelay-preview","prompt":"{{prompt}}"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Idempotency-Key", idempotencyKey);
        return client.SendAsync(request, ct);
    }

    private static async Task<string> IdOfAsync(HttpResponseMessage response, CancellationToken ct)
    {
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(ct));
        return (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("id").GetString()!;
    }

    [Fact]
    public async Task SameKeySameRequest_ReturnsTheSameTaskAndHoldsOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(Priced);
        var (account, client) = await app.CreateFundedClientAsync(5, cancellationToken: ct);
        using (client)
        {
            using var first = await CreateAsync(client, "order-1", "a boat", ct);
            using var again = await CreateAsync(client, "order-1", "a boat", ct);

            Assert.Equal(await IdOfAsync(first, ct), await IdOfAsync(again, ct));
            Assert.False(first.Headers.Contains("Idempotent-Replayed"));
            Assert.Equal("true", again.Headers.GetValues("Idempotent-Replayed").Single());
            Assert.Equal(1m, (await app.AccountAsync(account, ct)).GetProperty("held").GetDecimal());
        }
    }

    [Fact]
    public async Task SameKeyOtherRequest_Answers409NamingTheKey()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(Priced);
        var (account, client) = await app.CreateFundedClientAsync(5, cancellationToken: ct);
        using (client)
        {
            var id = await IdOfAsync(await CreateAsync(client, "order-2", "a boat", ct), ct);

            using var conflict = await CreateAsync(client, "order-2", "a plane", ct);

            Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
            var error = (await conflict.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error");
            Assert.Equal("idempotency_key_reused", error.GetProperty("code").GetString());
            Assert.Equal("Idempotency-Key", error.GetProperty("param").GetString());
            Assert.Equal(
                $"Idempotency-Key 'order-2' was already used within the last 24 hours for another request of this account (task {id}): " +
                "a different body, another key or the other surface. Reuse a key only to retry the very same request; send a new key for a new one.",
                error.GetProperty("message").GetString());
            Assert.Equal(1m, (await app.AccountAsync(account, ct)).GetProperty("held").GetDecimal());
        }
    }

    [Fact]
    public async Task SameKeyFromAnotherKeyOfTheAccount_Answers409AndHoldsNothing()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(Priced);
        using var admin = app.CreateClient();
        var account = await AccountKit.CreateAccountAsync(admin, app.AdminKey, 5, cancellationToken: ct);
        using var one = app.ClientFor((await AccountKit.CreateKeyAsync(admin, app.AdminKey, account, cancellationToken: ct)).Key);
        using var two = app.ClientFor((await AccountKit.CreateKeyAsync(admin, app.AdminKey, account, cancellationToken: ct)).Key);

        await IdOfAsync(await CreateAsync(one, "shared", "a boat", ct), ct);
        using var other = await CreateAsync(two, "shared", "a boat", ct);

        Assert.Equal(HttpStatusCode.Conflict, other.StatusCode);
        Assert.Equal(1m, (await app.AccountAsync(account, ct)).GetProperty("held").GetDecimal());
    }

    [Fact]
    public async Task TwentyParallelDuplicates_MakeExactlyOneTaskAndOneHold()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(Priced);
        var (account, client) = await app.CreateFundedClientAsync(50, cancellationToken: ct);
        using (client)
        {
            var ids = await Task.WhenAll(Enumerable.Range(0, 20).Select(async _ =>
            {
                using var response = await CreateAsync(client, "burst", "twenty at once", ct);
                return await IdOfAsync(response, ct);
            }));

            Assert.Single(ids.Distinct());
            Assert.Equal(1m, (await app.AccountAsync(account, ct)).GetProperty("held").GetDecimal());
            using var adminClient = app.AdminClient();
            var tasks = await adminClient.GetFromJsonAsync<JsonElement>($"/admin/tasks?account_id={account}", ct);
            Assert.Equal(1, tasks.GetProperty("data").GetArrayLength());
        }
    }

    [Fact]
    public async Task BothCreateRoutes_HonourTheKey()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(Priced);
        var (account, client) = await app.CreateFundedClientAsync(5, cancellationToken: ct);
        using (client)
        {
            var first = await IdOfAsync(await CreateAsync(client, "openai-1", "a boat", ct, "/v1/videos"), ct);
            var again = await IdOfAsync(await CreateAsync(client, "openai-1", "a boat", ct, "/v1/videos"), ct);
            using var otherSurface = await CreateAsync(client, "openai-1", "a boat", ct);

            Assert.Equal(first, again);
            Assert.Equal(HttpStatusCode.Conflict, otherSurface.StatusCode);
            Assert.Equal(1m, (await app.AccountAsync(account, ct)).GetProperty("held").GetDecimal());
        }
    }

    [Fact]
    public async Task KeyOlderThan24Hours_MakesANewTask()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(Priced);
        var (account, client) = await app.CreateFundedClientAsync(5, cancellationToken: ct);
        using (client)
        {
            var first = await IdOfAsync(await CreateAsync(client, "yesterday", "a boat", ct), ct);
            // The key's day passes: move its record back 25 hours, as time would.
            using (var connection = new SqliteConnection($"Data Source={app.DatabasePath};Pooling=False"))
            {
                connection.Open();
                using var command = connection.CreateCommand();
                command.CommandText = "UPDATE idempotency_keys SET created_at = created_at - 90000000 WHERE key = 'yesterday'";
                Assert.Equal(1, command.ExecuteNonQuery());
            }

            var second = await IdOfAsync(await CreateAsync(client, "yesterday", "another boat", ct), ct);

            Assert.NotEqual(first, second);
            Assert.Equal(2m, (await app.AccountAsync(account, ct)).GetProperty("held").GetDecimal());
        }
    }
}
