using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Billing;

/// <summary>
/// Holds at create, over HTTP: the price of what was asked for is held in the insert's own transaction,
/// a create the account cannot cover is a 402 with the numbers, parallel creates never overdraw, a dry run
/// prices without storing. No workers run here, so every hold stays open while the test looks at it.
/// </summary>
public class HoldTests
{
    /// <summary>reelay-preview at 0.05 credits per second (1080P: 0.08), plus 0.01 per second with enable_upsample; API only.</summary>
    private static readonly Dictionary<string, string?> Priced = new()
    {
        ["Engine:Enabled"] = "false",
        ["Limits:LocalAdmission"] = "false",
        ["Billing:Prices:reelay-preview:PerSecond"] = "0.05",
        ["Billing:Prices:reelay-preview:Sizes:1080P"] = "0.08",
        ["Billing:Prices:reelay-preview:Options:enable_upsample"] = "0.01",
    };

    [Fact]
    public async Task Create_PricedModel_HoldsPriceTimesSecondsAndShowsItAsCost()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(Priced);
        var (account, client) = await app.CreateFundedClientAsync(10, cancellationToken: ct);
        using (client)
        {
            var id = await client.CreateAsync(new { model = "reelay-preview", prompt = "a lighthouse", duration = 10 }, ct);

            var task = await client.QueryAsync(id, ct);
            Assert.Equal(0.5m, task.GetProperty("cost").GetDecimal());
            var books = await app.AccountAsync(account, ct);
            Assert.Equal(10m, books.GetProperty("balance").GetDecimal());
            Assert.Equal(0.5m, books.GetProperty("held").GetDecimal());
            Assert.Equal(9.5m, books.GetProperty("available").GetDecimal());
            var view = await app.AdminTaskViewAsync(id, ct);
            var hold = Assert.Single(view.GetProperty("ledger").EnumerateArray());
            Assert.Equal("hold", hold.GetProperty("kind").GetString());
            Assert.Equal(0.5m, hold.GetProperty("amount").GetDecimal());
            Assert.Equal(9.5m, hold.GetProperty("balance_after").GetDecimal() - hold.GetProperty("held_after").GetDecimal());
        }
    }

    [Theory]
    [InlineData("720P", false, 0.5)]
    [InlineData("1080P", false, 0.8)]
    [InlineData("1080P", true, 0.9)]
    public async Task Create_SizeAndOptionPrices_HoldTheirPerSecondAmount(string size, bool upsample, decimal expected)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(Priced);
        var (_, client) = await app.CreateFundedClientAsync(10, cancellationToken: ct);
        using (client)
        {
            var id = await client.CreateAsync(new { model = "reelay-preview", prompt = "a lighthouse", duration = 10, size, enable_upsample = upsample }, ct);

            Assert.Equal(expected, (await client.QueryAsync(id, ct)).GetProperty("cost").GetDecimal());
        }
    }

    [Fact]
    public async Task Create_OverdrawingBalance_Answers402WithPriceAndAvailableAndStoresNothing()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(Priced);
        var (account, client) = await app.CreateFundedClientAsync(0.6m, cancellationToken: ct);
        using (client)
        {
            await client.CreateAsync(new { model = "reelay-preview", prompt = "first", duration = 4 }, ct);

            using var refused = await client.PostAsJsonAsync("/v1/video/create", new { model = "reelay-preview", prompt = "second", duration = 10 }, ct);

            Assert.Equal(HttpStatusCode.PaymentRequired, refused.StatusCode);
            var error = (await refused.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error");
            Assert.Equal("insufficient_credits", error.GetProperty("code").GetString());
            Assert.Equal("insufficient_quota", error.GetProperty("type").GetString());
            Assert.Equal(
                "This request costs 0.5 credits (10 s × 0.05 credits per second on reelay-preview at 720P), but the account has 0.4 credits available " +
                "(balance 0.6, 0.2 held for unfinished tasks). Top up the account, or ask for a shorter or smaller video.",
                error.GetProperty("message").GetString());
            var books = await app.AccountAsync(account, ct);
            Assert.Equal(0.2m, books.GetProperty("held").GetDecimal());
            using var admin = app.AdminClient();
            var tasks = await admin.GetFromJsonAsync<JsonElement>($"/admin/tasks?account_id={account}", ct);
            Assert.Single(tasks.GetProperty("data").EnumerateArray());
        }
    }

    [Fact]
    public async Task Create_50InParallelAgainstABalanceFor10_StoresExactly10AndRefusesTheRestWith402()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(Priced);
        // 10 s at 0.05: each create holds 0.5 credits; 5 credits cover ten.
        var (account, client) = await app.CreateFundedClientAsync(5, cancellationToken: ct);
        using (client)
        {
            var answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(async i =>
            {
                using var response = await client.PostAsync("/v1/video/create",
                    new StringContent($$"""{"model":"reelay-preview","prompt":"race {{i}}","duration":10}""", Encoding.UTF8, "application/json"), ct);
                return response.StatusCode;
            }));

            Assert.Equal(10, answers.Count(status => status == HttpStatusCode.OK));
            Assert.Equal(40, answers.Count(status => status == HttpStatusCode.PaymentRequired));
            var books = await app.AccountAsync(account, ct);
            Assert.Equal(5m, books.GetProperty("held").GetDecimal());
            Assert.Equal(0m, books.GetProperty("available").GetDecimal());
            using var admin = app.AdminClient();
            var tasks = await admin.GetFromJsonAsync<JsonElement>($"/admin/tasks?account_id={account}", ct);
            Assert.Equal(10, tasks.GetProperty("data").GetArrayLength());
        }
    }

    [Fact]
    public async Task Create_UnlimitedAccount_IsNeverRefusedAndStillHolds()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(Priced);
        var (account, client) = await app.CreateFundedClientAsync(0, unlimited: true, cancellationToken: ct);
        using (client)
        {
            var id = await client.CreateAsync(new { model = "reelay-preview", prompt = "free to spend", duration = 10 }, ct);

            Assert.Equal(0.5m, (await client.QueryAsync(id, ct)).GetProperty("cost").GetDecimal());
            var books = await app.AccountAsync(account, ct);
            Assert.Equal(-0.5m, books.GetProperty("available").GetDecimal());
        }
    }

    [Fact]
    public async Task Create_TestKeyOnPricedModel_HoldsNothing()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(Priced);
        var (account, client) = await app.CreateFundedClientAsync(0, mode: "test", cancellationToken: ct);
        using (client)
        {
            var id = await client.CreateAsync(new { model = "reelay-preview", prompt = "a preview", duration = 10 }, ct);

            Assert.Equal(0m, (await client.QueryAsync(id, ct)).GetProperty("cost").GetDecimal());
            Assert.Equal(0m, (await app.AccountAsync(account, ct)).GetProperty("held").GetDecimal());
        }
    }

    [Fact]
    public async Task DryRun_BodyFlagOrHeader_AnswersThePriceAndStoresAndHoldsNothing()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(Priced);
        var (account, client) = await app.CreateFundedClientAsync(0.3m, cancellationToken: ct);
        using (client)
        {
            using var flagged = await client.PostAsJsonAsync("/v1/video/create", new { model = "reelay-preview", prompt = "how much?", duration = 10, dry_run = true }, ct);
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/videos") { Content = JsonContent.Create(new { model = "reelay-preview", prompt = "how much?", seconds = 4, size = "1280x720" }) };
            request.Headers.Add("X-Dry-Run", "true");
            using var headed = await client.SendAsync(request, ct);

            Assert.Equal(HttpStatusCode.OK, flagged.StatusCode);
            var quote = await flagged.Content.ReadFromJsonAsync<JsonElement>(ct);
            Assert.Equal("video.price_quote", quote.GetProperty("object").GetString());
            Assert.Equal(0.5m, quote.GetProperty("price").GetDecimal());
            Assert.Equal(0.05m, quote.GetProperty("unit_price").GetDecimal());
            Assert.Equal("second", quote.GetProperty("unit").GetString());
            Assert.Equal(0.3m, quote.GetProperty("available").GetDecimal());
            Assert.False(quote.GetProperty("sufficient").GetBoolean());
            Assert.Equal(HttpStatusCode.OK, headed.StatusCode);
            var other = await headed.Content.ReadFromJsonAsync<JsonElement>(ct);
            Assert.Equal(0.2m, other.GetProperty("price").GetDecimal());
            Assert.True(other.GetProperty("sufficient").GetBoolean());
            Assert.Equal(0m, (await app.AccountAsync(account, ct)).GetProperty("held").GetDecimal());
            using var admin = app.AdminClient();
            var tasks = await admin.GetFromJsonAsync<JsonElement>($"/admin/tasks?account_id={account}", ct);
            Assert.Equal(0, tasks.GetProperty("data").GetArrayLength());
        }
    }

    [Fact]
    public async Task DryRun_InvalidRequest_AnswersTheErrorACreateWouldGet()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(Priced);
        var (_, client) = await app.CreateFundedClientAsync(1, cancellationToken: ct);
        using (client)
        {
            using var response = await client.PostAsJsonAsync("/v1/video/create", new { model = "reelay-preview", prompt = "too long", duration = 99, dry_run = true }, ct);

            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("duration", (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error").GetProperty("param").GetString());
        }
    }

    [Fact]
    public async Task Pricing_ListsThePricesOfTheKeysModels()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(Priced);
        var (_, client) = await app.CreateFundedClientAsync(1, cancellationToken: ct);
        using (client)
        {
            var pricing = await client.GetFromJsonAsync<JsonElement>("/v1/pricing", ct);

            var preview = pricing.GetProperty("data").EnumerateArray().Single(m => m.GetProperty("model").GetString() == "reelay-preview");
            Assert.Equal("second", preview.GetProperty("unit").GetString());
            Assert.Equal(0.05m, preview.GetProperty("price").GetDecimal());
            Assert.Equal(0.08m, preview.GetProperty("sizes").GetProperty("1080P").GetDecimal());
            Assert.Equal(0.01m, preview.GetProperty("options").GetProperty("enable_upsample").GetDecimal());
            Assert.False(preview.GetProperty("free").GetBoolean());
        }
    }

    [Fact]
    public async Task AdminPrice_SetAtRunTime_PricesNewCreatesAndSurvivesARestart()
    {
        var ct = TestContext.Current.CancellationToken;
        var dataDir = Path.Combine(Path.GetTempPath(), "reelay-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            string account;
            await using (var app = ReelayApp.Start(new Dictionary<string, string?> { ["Engine:Enabled"] = "false", ["Limits:LocalAdmission"] = "false" }, dataDir))
            {
                var (created, client) = await app.CreateFundedClientAsync(10, cancellationToken: ct);
                account = created;
                using (client)
                {
                    var free = await client.CreateAsync(new { model = "reelay-preview", prompt = "free", duration = 10 }, ct);
                    using var admin = app.AdminClient();
                    using var set = await admin.PutAsJsonAsync("/admin/prices/reelay-preview", new { per_video = 1.25, sizes = new Dictionary<string, decimal> { ["1080P"] = 2 } }, ct);
                    Assert.Equal(HttpStatusCode.OK, set.StatusCode);
                    var paid = await client.CreateAsync(new { model = "reelay-preview", prompt = "paid", duration = 10 }, ct);

                    Assert.Equal(0m, (await client.QueryAsync(free, ct)).GetProperty("cost").GetDecimal());
                    Assert.Equal(1.25m, (await client.QueryAsync(paid, ct)).GetProperty("cost").GetDecimal());
                }
            }

            await using var restarted = ReelayApp.Start(new Dictionary<string, string?> { ["Engine:Enabled"] = "false", ["Limits:LocalAdmission"] = "false" }, dataDir);
            using var adminAgain = restarted.AdminClient();
            var price = await adminAgain.GetFromJsonAsync<JsonElement>("/admin/prices/reelay-preview", ct);
            Assert.Equal("video", price.GetProperty("unit").GetString());
            Assert.Equal(1.25m, price.GetProperty("price").GetDecimal());
            Assert.Equal("admin", price.GetProperty("source").GetString());
            Assert.Equal(1.25m, (await restarted.AccountAsync(account, ct)).GetProperty("held").GetDecimal());
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Theory]
    [InlineData("""{"per_second":0.05,"per_video":1}""", "The price of reelay-preview cannot be used: set exactly one of per_second and per_video.")]
    [InlineData("""{"per_second":-1}""", "The price of reelay-preview cannot be used: per_second must be zero or more credits with at most six decimals, got -1.")]
    [InlineData("""{"per_second":0.0000001}""", "The price of reelay-preview cannot be used: per_second must be zero or more credits with at most six decimals, got 0.0000001.")]
    [InlineData("""{"per_video":1,"sizes":{"8K":2}}""", "The price of reelay-preview cannot be used: size '8K' is not one of 480P, 720P, 1080P, 4K.")]
    [InlineData("""{"per_video":1,"options":{"=x":2}}""", "The price of reelay-preview cannot be used: option '=x' must be spelled name=value as the request carries it (style=anime), or name alone for name=true (enable_upsample).")]
    [InlineData("""{"per_hour":1}""", "'per_hour' is not a price field; send per_second or per_video, and optionally sizes and options.")]
    public async Task AdminPrice_Invalid_Answers400SayingWhatToFix(string body, string message)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(Priced);
        using var admin = app.AdminClient();

        using var response = await admin.PutAsync("/admin/prices/reelay-preview", new StringContent(body, Encoding.UTF8, "application/json"), ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(message, (await response.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task AdminPrice_UnknownModel_Answers404()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = ReelayApp.Start(Priced);
        using var admin = app.AdminClient();

        using var response = await admin.PutAsJsonAsync("/admin/prices/no-such-model", new { per_video = 1 }, ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
