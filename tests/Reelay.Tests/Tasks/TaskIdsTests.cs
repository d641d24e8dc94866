using System.Collections.Concurrent;
using Reelay.Tasks;

namespace Reelay.Tests.Tasks;

public sealed class TaskIdsTests
{
    [Fact]
    public void New_IsThePrefixAndAUuidVersion7OfTheCreationTime()
    {
        var createdAt = DateTimeOffset.FromUnixTimeMilliseconds(1_796_308_981_524);

        var id = TaskIds.New("grok", createdAt);

        Assert.StartsWith("grok:", id, StringComparison.Ordinal);
        Assert.True(TaskIds.LooksValid(id));
        var uuid = Guid.ParseExact(id["grok:".Length..], "D");
        Assert.Equal(7, uuid.Version);
        Assert.Equal(0b10, uuid.Variant >> 2);
        Assert.StartsWith(createdAt.ToUnixTimeMilliseconds().ToString("x12"), uuid.ToString("N"), StringComparison.Ordinal);
    }

    [Fact]
    public void New_LaterMillisecond_SortsAfter()
    {
        var earlier = TaskIds.New("veo", DateTimeOffset.FromUnixTimeMilliseconds(1_796_308_981_524));
        var later = TaskIds.New("veo", DateTimeOffset.FromUnixTimeMilliseconds(1_796_308_981_525));

        Assert.True(string.CompareOrdinal(earlier, later) < 0, $"{earlier} should sort before {later}");
    }

    [Fact]
    public void New_ManyThreadsInOneMillisecond_EveryIdDistinctAndItsRandomBitsVary()
    {
        // Several draws of each thread's random buffer, on threads taking turns: no id comes back twice.
        var createdAt = DateTimeOffset.FromUnixTimeMilliseconds(1_796_308_981_524);
        var ids = new ConcurrentBag<string>();
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, _ =>
        {
            for (var i = 0; i < 5_000; i++)
            {
                ids.Add(TaskIds.New("reelay-preview", createdAt));
            }
        });

        Assert.Equal(40_000, ids.Distinct(StringComparer.Ordinal).Count());

        // Every random hex digit (after the version's) takes many values across the ids: none is stuck.
        var randomParts = ids.Select(id => Guid.ParseExact(id[^36..], "D").ToString("N")[13..]).ToList();
        for (var digit = 0; digit < 19; digit++)
        {
            Assert.True(randomParts.Select(part => part[digit]).Distinct().Count() >= 4, $"random digit {digit} barely varies");
        }
    }
}
