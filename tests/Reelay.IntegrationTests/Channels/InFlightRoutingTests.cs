using Reelay.Testing;
using Reelay.Testing.Fakes;
using static Reelay.IntegrationTests.Channels.UpstreamGateway;

namespace Reelay.IntegrationTests.Channels;

/// <summary>
/// Channels of equal priority share new work by the tasks each has in flight for its weight: a GPU
/// box still busy with earlier prompts gets fewer new ones, whatever the random draw would say.
/// </summary>
public class InFlightRoutingTests
{
    [Fact]
    public async Task Create_TwoComfyUiServersWeightedTwoToOne_FillAsTwoToOneWhileTheirPromptsRun()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var big = await FakeComfyUiServer.StartNewAsync(ct);
        await using var small = await FakeComfyUiServer.StartNewAsync(ct);
        foreach (var fake in new[] { big, small })
        {
            // Prompts that keep running for the whole test: every one stays in flight.
            fake.Scenario = FakeScenario.Slow;
            fake.SlowPolls = 1_000_000;
        }

        await using var app = Start(
            [new ChannelSpec("gpu-big", "comfyui", big), new ChannelSpec("gpu-small", "comfyui", small)],
            new Dictionary<string, string?> { ["Channels:0:Weight"] = "2", ["Channels:1:Weight"] = "1" });
        using var client = await app.CreateClientWithKeyAsync("live", ct);

        var counts = new List<(int Big, int Small)>();
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < 3; i++)
            {
                var id = await client.CreateAsync(new { model = "wan2.2-5b-comfyui", prompt = $"a cat, take {round}.{i}" }, ct);
                await ProcessingAsync(client, id, ct);
            }

            counts.Add((big.Submissions, small.Submissions));
        }

        // A random draw by weight alone would give this split after each round about once in eleven runs.
        Assert.Equal([(2, 1), (4, 2), (6, 3)], counts);
    }

    [Fact]
    public async Task Create_EqualWeightsOneServerBusy_NewPromptsGoToTheIdleOneUntilTheyAreEven()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var first = await FakeComfyUiServer.StartNewAsync(ct);
        await using var second = await FakeComfyUiServer.StartNewAsync(ct);
        foreach (var fake in new[] { first, second })
        {
            fake.Scenario = FakeScenario.Slow;
            fake.SlowPolls = 1_000_000;
        }

        // Only the first serves the model at first: it takes three prompts.
        second.Scenario = FakeScenario.Unauthorized;
        await using var app = Start([new ChannelSpec("gpu-1", "comfyui", first), new ChannelSpec("gpu-2", "comfyui", second)],
            new Dictionary<string, string?> { ["ChannelHealth:FailuresToOpen"] = "100" });
        using var client = await app.CreateClientWithKeyAsync("live", ct);
        for (var i = 0; i < 3; i++)
        {
            var id = await client.CreateAsync(new { model = "wan2.2-5b-comfyui", prompt = $"busy {i}" }, ct);
            await ProcessingAsync(client, id, ct);
        }

        second.Scenario = FakeScenario.Slow;
        var acceptedBefore = second.Jobs.Count;
        for (var i = 0; i < 3; i++)
        {
            var id = await client.CreateAsync(new { model = "wan2.2-5b-comfyui", prompt = $"new {i}" }, ct);
            await ProcessingAsync(client, id, ct);
        }

        Assert.Equal(3, first.Jobs.Count);
        Assert.Equal(0, acceptedBefore);
        Assert.Equal(3, second.Jobs.Count);
    }

    private static async Task ProcessingAsync(HttpClient client, string id, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var task = await client.QueryAsync(id, ct);
            var status = task.GetProperty("status").GetString();
            if (status == "processing")
            {
                return;
            }

            Assert.True(status == "pending" && DateTime.UtcNow < deadline, $"Task {id} did not reach processing: {task}");
            await Task.Delay(20, ct);
        }
    }
}
