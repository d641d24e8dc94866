using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Reelay.Bench;

/// <summary>
/// A relay speaking the unified video format (<c>providers/unified-video.md</c>) in the benchmark's
/// process on 127.0.0.1. Each job finishes a fixed time after its submission, however often it is
/// asked, as a real upstream's does, so the polls it receives measure the poller alone. It records
/// when each job was submitted and polled, on the wall clock (Unix ms) that Reelay's timestamps use.
/// </summary>
internal sealed class RelayFake : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, RelayJob> _jobs = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<long> _pollTimes = new();
    private readonly TimeSpan _jobDuration;
    private readonly byte[] _video;
    private WebApplication? _app;
    private int _submissions;
    private int _downloads;

    private RelayFake(TimeSpan jobDuration, byte[] video)
    {
        _jobDuration = jobDuration;
        _video = video;
    }

    /// <summary>Where the fake listens, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public Uri BaseUrl { get; private set; } = null!;

    public int Submissions => _submissions;

    public int Downloads => _downloads;

    /// <summary>When each poll arrived (Unix ms), over all jobs, in arrival order.</summary>
    public IReadOnlyList<long> PollTimes => [.. _pollTimes];

    /// <summary>The job with this upstream id, or null.</summary>
    public RelayJob? Find(string id) => _jobs.GetValueOrDefault(id);

    /// <summary>Renders the result video once with ffmpeg and starts listening on a free loopback port.</summary>
    public static async Task<RelayFake> StartAsync(TimeSpan jobDuration)
    {
        var fake = new RelayFake(jobDuration, await RenderSampleAsync());
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        fake.MapRoutes(app);
        await app.StartAsync();
        fake._app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        fake.BaseUrl = new Uri(address);
        return fake;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    private void MapRoutes(WebApplication app)
    {
        app.MapPost("/v1/video/create", () =>
        {
            Interlocked.Increment(ref _submissions);
            var now = Now();
            var job = new RelayJob("grok:" + Guid.NewGuid(), now, now + (long)_jobDuration.TotalMilliseconds);
            _jobs[job.Id] = job;
            return Json($$"""{"id":"{{job.Id}}","status":"pending","status_update_time":{{now}}}""");
        });

        app.MapGet("/v1/video/query", (string id) =>
        {
            var now = Now();
            _pollTimes.Enqueue(now);
            if (!_jobs.TryGetValue(id, out var job))
            {
                return Json("""{"error":{"message":"task not found","type":"new_api_error","code":"task_not_exist"}}""", 404);
            }

            if (!job.Poll(now))
            {
                var progress = (now - job.SubmittedAt) * 100 / (job.FinishesAt - job.SubmittedAt);
                return Json($$"""{"id":"{{job.Id}}","status":"processing","progress":{{progress}},"video_url":null,"enhanced_prompt":"","status_update_time":{{now}}}""");
            }

            var url = $"{BaseUrl.GetLeftPart(UriPartial.Authority)}/cdn/{Uri.EscapeDataString(job.Id)}.mp4";
            return Json($$"""{"id":"{{job.Id}}","status":"completed","progress":100,"video_url":"{{url}}","thumbnail_url":null,"enhanced_prompt":"","status_update_time":{{job.FinishesAt}}}""");
        });

        app.MapGet("/cdn/{file}", (string file) =>
        {
            Interlocked.Increment(ref _downloads);
            return file.EndsWith(".mp4", StringComparison.Ordinal) && _jobs.ContainsKey(file[..^".mp4".Length])
                ? Results.Bytes(_video, "video/mp4")
                : Json("""{"error":{"message":"file not found","type":"new_api_error","code":"not_found"}}""", 404);
        });
    }

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static IResult Json(string body, int status = 200) => Results.Text(body, "application/json", Encoding.UTF8, status);

    /// <summary>A 1 s, 320×240, 24 fps H.264 MP4 of ffmpeg's test pattern: a real video for Reelay's ffprobe check and thumbnail.</summary>
    private static async Task<byte[]> RenderSampleAsync()
    {
        var directory = Directory.CreateTempSubdirectory("reelay-bench-media-");
        try
        {
            var output = Path.Combine(directory.FullName, "sample.mp4");
            var start = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var argument in (string[])["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=24",
                "-t", "1", "-pix_fmt", "yuv420p", "-c:v", "libx264", output])
            {
                start.ArgumentList.Add(argument);
            }

            using var process = Process.Start(start) ?? throw new InvalidOperationException("ffmpeg did not start.");
            var errors = process.StandardError.ReadToEndAsync();
            _ = process.StandardOutput.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(timeout.Token);
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"ffmpeg failed ({process.ExitCode}): {await errors}");
            }

            return await File.ReadAllBytesAsync(output);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}

/// <summary>One job the fake accepted: when it was submitted and finishes, and when it was polled (Unix ms).</summary>
internal sealed class RelayJob(string id, long submittedAt, long finishesAt)
{
    private readonly List<long> _polls = [];

    public string Id { get; } = id;

    public long SubmittedAt { get; } = submittedAt;

    public long FinishesAt { get; } = finishesAt;

    /// <summary>Poll times, in order.</summary>
    public IReadOnlyList<long> Polls
    {
        get
        {
            lock (_polls)
            {
                return [.. _polls];
            }
        }
    }

    /// <summary>The first poll that was answered "completed", or null.</summary>
    public long? SeenAt => Polls.Where(t => t >= FinishesAt).Select(t => (long?)t).FirstOrDefault();

    /// <summary>Records a poll at <paramref name="now"/>; true when the job is finished by then.</summary>
    public bool Poll(long now)
    {
        lock (_polls)
        {
            _polls.Add(now);
        }

        return now >= FinishesAt;
    }
}
