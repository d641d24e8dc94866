using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Reelay.Testing;
using Reelay.Testing.Fakes;

namespace Reelay.Bench;

/// <summary>The polling part of a run.</summary>
/// <param name="Tasks">Tasks created back to back in each variant.</param>
/// <param name="JobDuration">How long after its submission each fake upstream job finishes.</param>
/// <param name="PollInterval">The channel's <c>PollInterval</c>: the first wait, from which polling backs off.</param>
/// <param name="PollsPerMinute">The channel's poll budget in the budgeted variant.</param>
internal sealed record PollingSettings(int Tasks, TimeSpan JobDuration, TimeSpan PollInterval, int PollsPerMinute);

/// <summary>One task's life on both clocks (Unix ms): Reelay's (created, completed) and the fake upstream's.</summary>
/// <param name="Polls">Polls the fake received for this task's job.</param>
/// <param name="PollsBeforeFinish">Of those, the ones answered "processing".</param>
/// <param name="SeenAt">The first poll answered "completed".</param>
internal sealed record TaskTiming(long CreatedAt, long SubmittedAt, long FinishesAt, long SeenAt, long CompletedAt, int Polls, int PollsBeforeFinish);

/// <summary>What one variant measured.</summary>
/// <param name="PollsPerMinute">The channel's poll budget; 0 for none.</param>
/// <param name="Waited">From the first create to the last task seen terminal (or the wait limit).</param>
/// <param name="Failures">Tasks that ended failed or cancelled, or were not done at the wait limit, with the first reason.</param>
/// <param name="PollTimes">Every poll the fake received (Unix ms), in order.</param>
/// <param name="Timings">One per completed task.</param>
internal sealed record PollingFigures(
    int PollsPerMinute,
    int Tasks,
    TimeSpan Waited,
    int Failures,
    string? FirstFailure,
    int Submissions,
    int Downloads,
    IReadOnlyList<long> PollTimes,
    IReadOnlyList<TaskTiming> Timings)
{
    public int Completed => Timings.Count;

    public int Polls => PollTimes.Count;

    /// <summary>From the first poll to the last, as the fake saw them.</summary>
    public TimeSpan PollSpan => PollTimes.Count < 2 ? TimeSpan.Zero : TimeSpan.FromMilliseconds(PollTimes[^1] - PollTimes[0]);

    /// <summary>
    /// The most polls in any stretch between two polls beyond what the budget refills in that stretch:
    /// a token bucket of n per minute bursting to b keeps this at or below b (plus the token the
    /// first poll of the stretch took).
    /// </summary>
    public double WorstExcessOverRefill
    {
        get
        {
            var worst = 0.0;
            var perMs = PollsPerMinute / 60_000.0;
            for (var i = 0; i < PollTimes.Count; i++)
            {
                for (var j = i; j < PollTimes.Count; j++)
                {
                    worst = Math.Max(worst, j - i + 1 - ((PollTimes[j] - PollTimes[i]) * perMs));
                }
            }

            return worst;
        }
    }
}

/// <summary>
/// How many upstream polls Reelay's engine spends per finished video. Reelay runs with its workers
/// on and one unified-relay channel to the kit's <see cref="FakeUnifiedRelayServer"/>, whose jobs finish a fixed time after
/// submission; a client creates tasks with a live key and watches them to the end. Two variants: no
/// poll budget, and a budget low enough to bind.
/// </summary>
internal static class PollingBenchmark
{
    private const string CreateBody = """
        {"model":"grok-video-3","prompt":"A red fox trotting through fresh snow at dusk","aspect_ratio":"3:2","size":"720P","images":[]}
        """;

    /// <summary>How long a variant waits for its tasks to end before it reports the rest as unfinished.</summary>
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(90);

    /// <summary>How often the client asks about unfinished tasks; completion times come from Reelay's own timestamps, not from this.</summary>
    private static readonly TimeSpan WatchInterval = TimeSpan.FromMilliseconds(500);

    public static async Task<IReadOnlyList<PollingFigures>> RunAsync(BenchOptions options)
    {
        var settings = options.Polling;
        var figures = new List<PollingFigures>();
        foreach (var pollsPerMinute in (int[])[0, settings.PollsPerMinute])
        {
            Console.WriteLine($"Polling: {settings.Tasks} tasks, jobs of {settings.JobDuration.TotalSeconds:0.#} s, poll budget {(pollsPerMinute == 0 ? "none" : pollsPerMinute + "/min")}…");
            var result = await RunVariantAsync(options.ServerDll, settings, pollsPerMinute);
            Console.WriteLine(FormattableString.Invariant(
                $"  {result.Completed} of {result.Tasks} completed in {result.Waited.TotalSeconds:0.0} s; {result.Polls} polls ({(double)result.Polls / Math.Max(1, result.Completed):0.00} per completed task){(result.FirstFailure is null ? "" : "; first failure: " + result.FirstFailure)}"));
            figures.Add(result);
        }

        return figures;
    }

    private static async Task<PollingFigures> RunVariantAsync(string serverDll, PollingSettings settings, int pollsPerMinute)
    {
        await using var relay = await FakeUnifiedRelayServer.StartNewAsync(CancellationToken.None);
        relay.JobDuration = settings.JobDuration;
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
                ["REELAY_Channels__0__Name"] = "relay",
                ["REELAY_Channels__0__Provider"] = "unified",
                ["REELAY_Channels__0__BaseUrl"] = relay.BaseUrl.ToString(),
                ["REELAY_Channels__0__ApiKey"] = "sk-relay-bench",
                ["REELAY_Channels__0__PollInterval"] = settings.PollInterval.ToString("c", CultureInfo.InvariantCulture),
                ["REELAY_Channels__0__PollsPerMinute"] = pollsPerMinute.ToString(CultureInfo.InvariantCulture),
            };
            await using var reelay = await Benchmark.StartServerAsync(url, [serverDll], environment, dataDir);
            using var client = LoadGenerator.CreateClient(url, 4);
            var key = await ClientKeys.CreateAsync(client, adminKey, "live", "bench");
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key.Key);

            var started = Stopwatch.GetTimestamp();
            var ids = new List<string>(settings.Tasks);
            for (var i = 0; i < settings.Tasks; i++)
            {
                using var create = await SendAsync(client, HttpMethod.Post, "/v1/video/create", CreateBody);
                ids.Add(create.RootElement.GetProperty("id").GetString()!);
            }

            Dictionary<string, Ended> ended;
            try
            {
                ended = await WatchAsync(client, ids, started);
            }
            catch (HttpRequestException e)
            {
                throw new InvalidOperationException($"Reelay stopped answering ({e.Message}); it had exited: {reelay.HasExited}. Its last output:\n{reelay.Output}", e);
            }
            var waited = Stopwatch.GetElapsedTime(started);

            var timings = new List<TaskTiming>();
            string? firstFailure = null;
            foreach (var id in ids)
            {
                if (ended.GetValueOrDefault(id) is not { } answer || answer.Status != "completed")
                {
                    firstFailure ??= ended.TryGetValue(id, out var failed) ? $"{id} {failed.Status}: {failed.Error}" : $"{id} not finished after {WaitLimit.TotalSeconds:0} s";
                    continue;
                }

                // The admin view names the upstream job, which ties Reelay's timestamps to the fake's.
                using var view = await SendAsync(client, HttpMethod.Get, "/admin/tasks/" + Uri.EscapeDataString(id), null, adminKey);
                var upstreamId = view.RootElement.GetProperty("upstream_id").GetString()!;
                var job = relay.FindJob(upstreamId) ?? throw new InvalidOperationException($"Task {id} names upstream job {upstreamId}, which the fake never issued.");
                var polls = job.PollTimes;
                var finishesAt = job.FinishesAt!.Value;
                timings.Add(new TaskTiming(
                    answer.CreatedAt, job.SubmittedAt, finishesAt, job.SeenAt ?? finishesAt, answer.CompletedAt,
                    polls.Count, polls.Count(t => t < finishesAt)));
            }

            return new PollingFigures(
                pollsPerMinute, settings.Tasks, waited, settings.Tasks - timings.Count, firstFailure,
                relay.Submissions, relay.Downloads, relay.PollTimes, timings);
        }
        finally
        {
            Benchmark.DeleteDataDirectory(dataDir);
        }
    }

    /// <summary>A task's last answer once terminal.</summary>
    private sealed record Ended(string Status, long CreatedAt, long CompletedAt, string? Error);

    /// <summary>Asks about every unfinished task each <see cref="WatchInterval"/> until all have ended or <see cref="WaitLimit"/> has passed.</summary>
    private static async Task<Dictionary<string, Ended>> WatchAsync(HttpClient client, List<string> ids, long started)
    {
        var ended = new Dictionary<string, Ended>(StringComparer.Ordinal);
        while (ended.Count < ids.Count && Stopwatch.GetElapsedTime(started) < WaitLimit)
        {
            await Task.Delay(WatchInterval);
            foreach (var id in ids)
            {
                if (ended.ContainsKey(id) || Stopwatch.GetElapsedTime(started) >= WaitLimit)
                {
                    continue;
                }

                using var answer = await SendAsync(client, HttpMethod.Get, "/v1/video/query?id=" + Uri.EscapeDataString(id), null);
                var root = answer.RootElement;
                var status = root.GetProperty("status").GetString()!;
                if (status is "completed" or "failed" or "cancelled")
                {
                    ended[id] = new Ended(
                        status,
                        root.GetProperty("created_at").GetInt64(),
                        root.GetProperty("completed_at").ValueKind == JsonValueKind.Number ? root.GetProperty("completed_at").GetInt64() : 0,
                        // error is present only on failed or cancelled tasks.
                        root.TryGetProperty("error", out var error) && error.ValueKind != JsonValueKind.Null ? error.GetRawText() : null);
                }
            }
        }

        return ended;
    }

    /// <summary>Sends a request and parses the JSON answer; any status but 200 stops the run with the answer's text.</summary>
    private static async Task<JsonDocument> SendAsync(HttpClient client, HttpMethod method, string path, string? json, string? bearer = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{method} {path} answered {(int)response.StatusCode}: {text}");
        }

        return JsonDocument.Parse(text);
    }
}
