using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Reelay.Testing;
using Reelay.Testing.Fakes;

namespace Reelay.Bench;

/// <summary>What one variant of the callback benchmark measured.</summary>
/// <param name="Callbacks">Whether the channel had a public callback address.</param>
/// <param name="Polls">Polls the fake received over all tasks.</param>
/// <param name="DetectionDelaysMs">Per completed task: from the job's end (when the fake sends its callback) to the first poll that saw it.</param>
internal sealed record CallbackFigures(bool Callbacks, int Tasks, int Completed, int Polls, IReadOnlyList<long> DetectionDelaysMs)
{
    public double PollsPerTask => (double)Polls / Math.Max(1, Completed);

    public long Percentile(double p) =>
        DetectionDelaysMs.Count == 0 ? 0 : DetectionDelaysMs.Order().ElementAt((int)Math.Min(DetectionDelaysMs.Count - 1, Math.Floor(p * DetectionDelaysMs.Count)));
}

/// <summary>
/// Polls per completed task and how soon a finished job is noticed, with and without upstream
/// callbacks. Reelay runs as its own process with one Seedance channel to the kit's fake, whose jobs
/// finish a fixed time after submission and then POST their callback (with callbacks on); without,
/// the channel polls from the polling benchmark's interval.
/// </summary>
internal static class CallbackBenchmark
{
    private const string CreateBody = """{"model":"seedance-1.0-pro","prompt":"A red fox trotting through fresh snow at dusk","aspect_ratio":"16:9","size":"720P"}""";

    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(90);

    public static async Task<IReadOnlyList<CallbackFigures>> RunAsync(BenchOptions options)
    {
        var figures = new List<CallbackFigures>();
        foreach (var callbacks in (bool[])[false, true])
        {
            Console.WriteLine($"Callbacks {(callbacks ? "on" : "off")}: {options.Polling.Tasks} tasks, jobs of {options.Polling.JobDuration.TotalSeconds:0.#} s…");
            var result = await RunVariantAsync(options, callbacks);
            Console.WriteLine(FormattableString.Invariant(
                $"  {result.Completed} of {result.Tasks} completed; {result.PollsPerTask:0.00} polls per task; detection p50 {result.Percentile(0.5)} ms, p99 {result.Percentile(0.99)} ms"));
            figures.Add(result);
        }

        return figures;
    }

    /// <summary>The section bench/ keeps for these figures.</summary>
    public static string Section(BenchOptions options, IReadOnlyList<CallbackFigures> figures)
    {
        var text = new StringBuilder();
        text.AppendLine("## Upstream callbacks: polls per task and detection delay").AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"{options.Polling.Tasks} tasks on one Seedance channel to the fake, each job finishing {options.Polling.JobDuration.TotalSeconds:0.#} s after submission; without callbacks the channel polls from {options.Polling.PollInterval.TotalMilliseconds:0} ms (backing off ×1.5), with callbacks the fallback poll is the default 1 min. Detection delay: from the job's end (when the fake POSTs its callback) to the first poll that saw it.").AppendLine();
        text.AppendLine("| callbacks | completed | polls per task | detection p50 | detection p99 | max |");
        text.AppendLine("|---|---|---|---|---|---|");
        foreach (var f in figures)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {(f.Callbacks ? "on" : "off")} | {f.Completed} / {f.Tasks} | {f.PollsPerTask:0.00} | {f.Percentile(0.5)} ms | {f.Percentile(0.99)} ms | {(f.DetectionDelaysMs.Count == 0 ? 0 : f.DetectionDelaysMs.Max())} ms |");
        }

        text.AppendLine().AppendLine("Aim with callbacks: at most 1.1 polls per task, detection within 1 s of the callback.");
        return text.ToString();
    }

    private static async Task<CallbackFigures> RunVariantAsync(BenchOptions options, bool callbacks)
    {
        var settings = options.Polling;
        await using var fake = await FakeSeedanceServer.StartNewAsync(CancellationToken.None);
        fake.JobDuration = settings.JobDuration;
        var dataDir = Benchmark.NewDataDirectory();
        try
        {
            var adminKey = "sk-admin-bench-" + Guid.NewGuid().ToString("N");
            var url = Benchmark.LoopbackUrl();
            var environment = new Dictionary<string, string>
            {
                ["REELAY_URLS"] = url.ToString(),
                ["REELAY_DATA_DIR"] = dataDir,
                ["REELAY_ADMIN_KEY"] = adminKey,
                ["REELAY_Channels__0__Name"] = "ark",
                ["REELAY_Channels__0__Provider"] = "seedance",
                ["REELAY_Channels__0__BaseUrl"] = fake.BaseUrl.ToString(),
                ["REELAY_Channels__0__ApiKey"] = "ark-bench",
                ["REELAY_Channels__0__PollInterval"] = settings.PollInterval.ToString("c", CultureInfo.InvariantCulture),
            };
            if (callbacks)
            {
                // The fake reaches Reelay on loopback directly: its own address is what the upstream sees.
                environment["REELAY_Channels__0__PublicCallbackBaseUrl"] = url.ToString();
            }

            await using var reelay = await Benchmark.StartServerAsync(url, [options.ServerDll], environment, dataDir);
            using var client = LoadGenerator.CreateClient(url, 4);
            var key = await ClientKeys.CreateAsync(client, adminKey, "live", "bench");
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key.Key);

            var ids = new List<string>();
            for (var i = 0; i < settings.Tasks; i++)
            {
                using var response = await client.PostAsync("/v1/video/create", new StringContent(CreateBody, Encoding.UTF8, "application/json"));
                using var created = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                ids.Add(created.RootElement.GetProperty("id").GetString()!);
            }

            var completed = await WatchAsync(client, ids);
            var jobs = fake.Jobs;
            var delays = jobs.Where(j => j.SeenAt is not null).Select(j => j.SeenAt!.Value - j.FinishesAt!.Value).ToList();
            return new CallbackFigures(callbacks, settings.Tasks, completed, fake.Polls, delays);
        }
        finally
        {
            Benchmark.DeleteDataDirectory(dataDir);
        }
    }

    /// <summary>Waits until every task has ended (or the limit passes); returns how many completed.</summary>
    private static async Task<int> WatchAsync(HttpClient client, List<string> ids)
    {
        var started = Stopwatch.GetTimestamp();
        var ended = new Dictionary<string, string>(StringComparer.Ordinal);
        while (ended.Count < ids.Count && Stopwatch.GetElapsedTime(started) < WaitLimit)
        {
            await Task.Delay(500);
            foreach (var id in ids.Where(id => !ended.ContainsKey(id)))
            {
                using var answer = JsonDocument.Parse(await client.GetStringAsync("/v1/video/query?id=" + Uri.EscapeDataString(id)));
                var status = answer.RootElement.GetProperty("status").GetString()!;
                if (status is "completed" or "failed" or "cancelled")
                {
                    ended[id] = status;
                }
            }
        }

        return ended.Values.Count(s => s == "completed");
    }
}
