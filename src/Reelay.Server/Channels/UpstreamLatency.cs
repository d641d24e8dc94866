namespace Reelay.Channels;

/// <summary>
/// How long a channel's recent upstream calls took, per operation (<c>submit</c>, <c>poll</c>,
/// <c>download</c>, <c>cancel</c>): the last <see cref="Window"/> calls of each, on this instance, for the
/// operator views. The full distribution over time is the <c>reelay_upstream_call_duration</c> histogram.
/// </summary>
public sealed class UpstreamLatency
{
    /// <summary>Calls kept per operation: enough for a steady p95, small enough to sort on each read.</summary>
    public const int Window = 200;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Ring> _operations = new(StringComparer.Ordinal);

    public void Record(string operation, TimeSpan elapsed)
    {
        lock (_gate)
        {
            if (!_operations.TryGetValue(operation, out var ring))
            {
                _operations[operation] = ring = new Ring();
            }

            ring.Add(elapsed.TotalMilliseconds);
        }
    }

    /// <summary>Each operation seen so far with the median and 95th percentile of its last calls, by name.</summary>
    public IReadOnlyDictionary<string, LatencySummary> Summarize()
    {
        lock (_gate)
        {
            var summaries = new SortedDictionary<string, LatencySummary>(StringComparer.Ordinal);
            foreach (var (operation, ring) in _operations)
            {
                var sorted = ring.Values();
                Array.Sort(sorted);
                summaries[operation] = new LatencySummary(sorted.Length, Percentile(sorted, 0.50), Percentile(sorted, 0.95));
            }

            return summaries;
        }
    }

    // Nearest rank: the smallest value with at least p of the calls at or below it.
    private static double Percentile(double[] sorted, double p) =>
        Math.Round(sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)], 1);

    private sealed class Ring
    {
        private readonly double[] _values = new double[Window];
        private int _count;
        private int _next;

        public void Add(double value)
        {
            _values[_next] = value;
            _next = (_next + 1) % Window;
            _count = Math.Min(_count + 1, Window);
        }

        public double[] Values() => _values[.._count];
    }
}

/// <summary>The recent calls of one operation: how many are summarized, and their median and 95th percentile in milliseconds.</summary>
public sealed record LatencySummary(int Calls, double P50Ms, double P95Ms);
