using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Reelay.Testing.Fakes;

/// <summary>What a fake upstream does with the next job submitted to it.</summary>
public enum FakeScenario
{
    /// <summary>Accept, finish on the first poll (or after <see cref="FakeUpstreamServer.SlowPolls"/> polls when slow), serve the MP4.</summary>
    Success,
    /// <summary>Accept, report queued then progress over <see cref="FakeUpstreamServer.SlowPolls"/> polls, then succeed.</summary>
    Slow,
    /// <summary>Refuse the submission with the provider's content-policy error (400).</summary>
    RefuseAtSubmit,
    /// <summary>Accept, then finish the job as refused by moderation on the first poll.</summary>
    RefuseAtPoll,
    /// <summary>Answer every submission 401, echoing the key it received (adapters must not repeat it).</summary>
    Unauthorized,
    /// <summary>Answer the first submission 429 with <c>Retry-After</c>, then accept.</summary>
    RateLimitedThenSuccess,
    /// <summary>Answer the first submission 429 without <c>Retry-After</c>, then accept.</summary>
    RateLimitedNoRetryAfterThenSuccess,
    /// <summary>Answer the first submission 500, then accept.</summary>
    ServerErrorThenSuccess,
    /// <summary>Answer submissions 200 with a truncated JSON body.</summary>
    MalformedJson,
    /// <summary>Succeed, but the result URL answers 404.</summary>
    ResultNotFound,
    /// <summary>Succeed, but the result URL serves an HTML page.</summary>
    ResultNotVideo,
    /// <summary>Succeed, but the signed result URL has expired: the object store answers 403 "Request has expired".</summary>
    ResultExpired,
}

/// <summary>Which adapter call a recorded request was.</summary>
public enum FakeRequestKind
{
    Submit,
    Poll,
    Download,
    Cancel,
    Other,
}

/// <summary>A file part of a multipart request.</summary>
public sealed record RecordedFile(string Name, string FileName, string? ContentType, byte[] Content);

/// <summary>One request a fake received, as the adapter sent it.</summary>
public sealed record RecordedRequest(
    FakeRequestKind Kind,
    string Method,
    string Path,
    string Query,
    IReadOnlyDictionary<string, string> Headers,
    string Body,
    IReadOnlyDictionary<string, string> Form,
    IReadOnlyList<RecordedFile> Files)
{
    /// <summary>A header's value, or null when it was not sent.</summary>
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>A job a fake accepted.</summary>
/// <param name="submittedAt">When it was accepted (Unix ms, the clock Reelay's timestamps use).</param>
/// <param name="finishesAt">With <see cref="FakeUpstreamServer.JobDuration"/> or <see cref="FakeUpstreamServer.JobDurations"/>, when it finishes (Unix ms); otherwise null.</param>
/// <param name="reportsProgress">Whether its running answers carry progress (see <see cref="FakeUpstreamServer.ShareWithoutProgress"/>).</param>
public sealed class FakeJob(string id, FakeScenario scenario, long submittedAt, long? finishesAt, bool reportsProgress = true)
{
    private readonly List<long> _pollTimes = [];

    public string Id { get; } = id;

    public FakeScenario Scenario { get; } = scenario;

    public long SubmittedAt { get; } = submittedAt;

    public long? FinishesAt { get; } = finishesAt;

    /// <summary>Whether its running answers carry progress; without it, a poller can only back off.</summary>
    public bool ReportsProgress { get; } = reportsProgress;

    /// <summary>How many times this job was polled.</summary>
    public int Polls
    {
        get
        {
            lock (_pollTimes)
            {
                return _pollTimes.Count;
            }
        }
    }

    /// <summary>When each poll arrived (Unix ms), in order.</summary>
    public IReadOnlyList<long> PollTimes
    {
        get
        {
            lock (_pollTimes)
            {
                return [.. _pollTimes];
            }
        }
    }

    /// <summary>The callback URL the job was submitted with, if any.</summary>
    public Uri? CallbackUrl { get; internal set; }

    /// <summary>When the fake sent the job's callback (Unix ms), once it has.</summary>
    public long? CallbackSentAt { get; internal set; }

    /// <summary>With a <see cref="FinishesAt"/>, the first poll answered as finished; otherwise null.</summary>
    public long? SeenAt => FinishesAt is { } finishesAt ? PollTimes.Where(t => t >= finishesAt).Select(t => (long?)t).FirstOrDefault() : null;

    /// <summary>The arrival time of the latest poll (Unix ms), so the answer agrees with what <see cref="PollTimes"/> records.</summary>
    internal long LastPollAt
    {
        get
        {
            lock (_pollTimes)
            {
                return _pollTimes.Count == 0 ? SubmittedAt : _pollTimes[^1];
            }
        }
    }

    internal int NextPoll()
    {
        lock (_pollTimes)
        {
            _pollTimes.Add(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            return _pollTimes.Count;
        }
    }
}

/// <summary>
/// A small Kestrel app on 127.0.0.1 playing one upstream provider: scenario knobs, counters and the
/// requests received. Subclasses map the provider's routes and write its documented bodies.
/// </summary>
public abstract class FakeUpstreamServer : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, FakeJob> _jobs = new();
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly ConcurrentDictionary<string, bool> _cancelled = new();
    private readonly ConcurrentBag<Task> _scheduledCallbacks = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly Random _draws = new(12);
    private static readonly HttpClient CallbackClient = new();
    private WebApplication? _app;
    private FakeScenario _scenario;
    private int _scenarioFailures;
    private int _submissions;
    private int _polls;
    private int _downloads;

    /// <summary>Where the fake listens, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>Scenario for jobs submitted from now on (resets the "then success" failures).</summary>
    public FakeScenario Scenario
    {
        get => _scenario;
        set
        {
            _scenario = value;
            Interlocked.Exchange(ref _scenarioFailures, 0);
        }
    }

    /// <summary>Polls a slow job stays unfinished (the first one reports queued). Default 3.</summary>
    public int SlowPolls { get; set; } = 3;

    /// <summary>
    /// When set, every job finishes this long after its submission however often it is polled, as a
    /// real upstream's does, and reports progress by elapsed time; the poll-count scenarios' pace is
    /// then ignored. bench/ uses it so the polls received measure Reelay's poller alone.
    /// </summary>
    public TimeSpan? JobDuration { get; set; }

    /// <summary>
    /// When set, each job finishes after a duration drawn uniformly from this range instead of
    /// <see cref="JobDuration"/>, from a seeded generator so runs repeat: bench/ keeps thousands of
    /// jobs of 30–120 s in flight, as a busy relay has.
    /// </summary>
    public (TimeSpan Shortest, TimeSpan Longest)? JobDurations { get; set; }

    /// <summary>
    /// Of the timed jobs, the share that report no progress while running (a bare "processing", as
    /// some upstreams answer), drawn with the duration. Default 0: every timed job reports progress.
    /// </summary>
    public double ShareWithoutProgress { get; set; }

    /// <summary>When each poll of an accepted job arrived (Unix ms), over all jobs, in arrival order.</summary>
    public IReadOnlyList<long> PollTimes => [.. _jobs.Values.SelectMany(j => j.PollTimes).Order()];

    /// <summary>How long each submission is held before it is answered (a crash test kills Reelay meanwhile). Default none.</summary>
    public TimeSpan SubmitDelay { get; set; }

    /// <summary>How long each result download is held before the video is sent (a crash test kills Reelay meanwhile). Default none.</summary>
    public TimeSpan DownloadDelay { get; set; }

    /// <summary>The <c>Retry-After</c> sent with a 429. Default 7 s.</summary>
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(7);

    /// <summary>Submissions received, failed ones included.</summary>
    public int Submissions => _submissions;

    /// <summary>Polls received, over all jobs.</summary>
    public int Polls => _polls;

    /// <summary>Result downloads received.</summary>
    public int Downloads => _downloads;

    /// <summary>Cancel requests received.</summary>
    public int Cancels => _requests.Count(r => r.Kind == FakeRequestKind.Cancel);

    /// <summary>Ids of the jobs cancelled so far (the fake's own record, for providers with a cancel call).</summary>
    public IReadOnlyCollection<string> Cancelled => [.. _cancelled.Keys];

    /// <summary>Marks a job cancelled; false when it is unknown.</summary>
    protected bool MarkCancelled(string id) => _jobs.ContainsKey(id) && _cancelled.TryAdd(id, true);

    /// <summary>Whether a job was cancelled.</summary>
    protected bool IsCancelled(string id) => _cancelled.ContainsKey(id);

    /// <summary>Every request received, in order.</summary>
    public IReadOnlyCollection<RecordedRequest> Requests => _requests;

    public RecordedRequest? LastSubmit => Last(FakeRequestKind.Submit);

    public RecordedRequest? LastPoll => Last(FakeRequestKind.Poll);

    public RecordedRequest? LastDownload => Last(FakeRequestKind.Download);

    /// <summary>The jobs accepted so far.</summary>
    public IReadOnlyCollection<FakeJob> Jobs => [.. _jobs.Values];

    /// <summary>The MP4 the fake serves as every result.</summary>
    public byte[] Video { get; private set; } = [];

    /// <summary>How many times a job was polled (0 for an unknown id).</summary>
    public int PollsFor(string jobId) => _jobs.TryGetValue(jobId, out var job) ? job.Polls : 0;

    /// <summary>Starts the fake on a free loopback port.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        Video = await TestMedia.SampleMp4Async();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.Use(async (context, next) =>
        {
            context.Request.EnableBuffering();
            await next(context);
        });
        MapRoutes(_app);
        await _app.StartAsync(cancellationToken);
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseUrl = new Uri(address.TrimEnd('/') + "/");
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await Task.WhenAll(_scheduledCallbacks);
        _stopping.Dispose();
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// POSTs the job's callback to the URL it was submitted with, as the upstream does when the job
    /// ends (body and signature headers from <see cref="CallbackFor"/>).
    /// </summary>
    public Task<HttpResponseMessage> SendCallbackAsync(FakeJob job, CancellationToken cancellationToken) =>
        SendCallbackAsync(job, CallbackFor(job, DateTimeOffset.UtcNow), cancellationToken);

    /// <summary>POSTs a given callback (a forged or replayed one, in tests) to the job's callback URL.</summary>
    public async Task<HttpResponseMessage> SendCallbackAsync(FakeJob job, (IReadOnlyDictionary<string, string> Headers, byte[] Body) callback, CancellationToken cancellationToken)
    {
        var url = CallbackTarget(job);
        var (headers, body) = callback;
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        job.CallbackSentAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        return await CallbackClient.SendAsync(request, cancellationToken);
    }

    /// <summary>
    /// Where callbacks really go: a job's callback URL names Reelay's public address, and, like the
    /// reverse proxy in front of a real Reelay, this origin (the test's Reelay) receives its path.
    /// </summary>
    public Uri? CallbackProxy { get; set; }

    /// <summary>The URL a job's callback is POSTed to (through <see cref="CallbackProxy"/> when set).</summary>
    public Uri CallbackTarget(FakeJob job)
    {
        var url = job.CallbackUrl ?? throw new InvalidOperationException($"Job {job.Id} was submitted without a callback URL.");
        return CallbackProxy is null ? url : new Uri(CallbackProxy, url.PathAndQuery);
    }

    /// <summary>The provider's callback for a finished job: headers (signatures, where it signs) and body.</summary>
    public virtual (IReadOnlyDictionary<string, string> Headers, byte[] Body) CallbackFor(FakeJob job, DateTimeOffset signedAt) =>
        throw new NotSupportedException($"{GetType().Name} plays an upstream without callbacks.");

    /// <summary>
    /// Notes the callback URL a job was submitted with. With <see cref="JobDuration"/>, the fake then
    /// calls it when the job finishes, as a real upstream does (bench/ measures polls against it).
    /// </summary>
    protected void RememberCallback(FakeJob job, string? url)
    {
        if (string.IsNullOrEmpty(url))
        {
            return;
        }

        job.CallbackUrl = new Uri(url);
        if (job.FinishesAt is { } finishesAt)
        {
            _scheduledCallbacks.Add(SendWhenFinishedAsync(job, finishesAt));
        }
    }

    private async Task SendWhenFinishedAsync(FakeJob job, long finishesAt)
    {
        try
        {
            // The upstream's own clock: the job ends at its time, whoever is polling.
            var wait = finishesAt - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            if (wait > 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(wait), _stopping.Token);
            }

            using var response = await SendCallbackAsync(job, _stopping.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or HttpRequestException)
        {
            // The fake or Reelay is shutting down; a lost callback is what polling is for.
        }
    }

    /// <summary>Maps the provider's routes.</summary>
    protected abstract void MapRoutes(WebApplication app);

    /// <summary>The provider's 400 body for a prompt refused by its safety system.</summary>
    protected abstract string ContentPolicyErrorBody { get; }

    /// <summary>The status that body comes with: 400 for most; MiniMax answers its errors with 200.</summary>
    protected virtual int ContentPolicyStatus => 400;

    /// <summary>The provider's 401 body; <paramref name="key"/> is the key received, echoed as real upstreams do.</summary>
    protected abstract string UnauthorizedBody(string key);

    /// <summary>The provider's 429 body.</summary>
    protected abstract string RateLimitedBody { get; }

    /// <summary>The provider's 500 body.</summary>
    protected abstract string ServerErrorBody { get; }

    /// <summary>A truncated success body.</summary>
    protected abstract string MalformedBody { get; }

    /// <summary>Records a request: headers, body, and form fields/files for multipart bodies.</summary>
    protected async Task<RecordedRequest> RecordAsync(HttpContext context, FakeRequestKind kind)
    {
        var request = context.Request;
        request.Body.Position = 0;
        using var reader = new StreamReader(request.Body, Encoding.UTF8, leaveOpen: true);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        request.Body.Position = 0;

        var form = new Dictionary<string, string>(StringComparer.Ordinal);
        var files = new List<RecordedFile>();
        if (request.HasFormContentType)
        {
            var parsed = await request.ReadFormAsync(context.RequestAborted);
            foreach (var (name, value) in parsed)
            {
                form[name] = value.ToString();
            }

            foreach (var file in parsed.Files)
            {
                using var content = new MemoryStream();
                await file.CopyToAsync(content, context.RequestAborted);
                files.Add(new RecordedFile(file.Name, file.FileName, file.ContentType, content.ToArray()));
            }
        }

        var headers = request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        var recorded = new RecordedRequest(kind, request.Method, request.Path.Value ?? "", request.QueryString.Value ?? "",
            headers, body, form, files);
        _requests.Enqueue(recorded);
        _ = kind switch
        {
            FakeRequestKind.Submit => Interlocked.Increment(ref _submissions),
            FakeRequestKind.Poll => Interlocked.Increment(ref _polls),
            FakeRequestKind.Download => Interlocked.Increment(ref _downloads),
            _ => 0,
        };
        var delay = kind switch
        {
            FakeRequestKind.Submit => SubmitDelay,
            FakeRequestKind.Download => DownloadDelay,
            _ => TimeSpan.Zero,
        };
        if (delay > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(delay, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                // The caller went away (killed): nothing to answer.
            }
        }

        return recorded;
    }

    /// <summary>The failure the current scenario calls for at submission, or null to accept the job.</summary>
    protected IResult? SubmitFailure(HttpContext context)
    {
        switch (Scenario)
        {
            case FakeScenario.RefuseAtSubmit:
                return Json(ContentPolicyErrorBody, ContentPolicyStatus);
            case FakeScenario.Unauthorized:
                return Json(UnauthorizedBody(ReceivedKey(context)), 401);
            case FakeScenario.MalformedJson:
                return Json(MalformedBody, 200);
            case FakeScenario.RateLimitedThenSuccess when Interlocked.Increment(ref _scenarioFailures) == 1:
                context.Response.Headers.RetryAfter = ((int)RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
                return Json(RateLimitedBody, 429);
            case FakeScenario.RateLimitedNoRetryAfterThenSuccess when Interlocked.Increment(ref _scenarioFailures) == 1:
                return Json(RateLimitedBody, 429);
            case FakeScenario.ServerErrorThenSuccess when Interlocked.Increment(ref _scenarioFailures) == 1:
                return Json(ServerErrorBody, 500);
            default:
                return null;
        }
    }

    /// <summary>Registers a newly accepted job under the current scenario.</summary>
    protected FakeJob CreateJob(string id)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var (duration, reportsProgress) = NextDuration();
        var job = new FakeJob(id, Scenario, now, duration is { } d ? now + (long)d.TotalMilliseconds : null, reportsProgress);
        _jobs[id] = job;
        return job;
    }

    /// <summary>The next job's duration (null for a job paced by polls) and whether it reports progress.</summary>
    private (TimeSpan? Duration, bool ReportsProgress) NextDuration()
    {
        if (JobDurations is not { } range)
        {
            return (JobDuration, true);
        }

        // Random is not thread-safe; submissions arrive concurrently.
        lock (_draws)
        {
            var duration = range.Shortest + ((range.Longest - range.Shortest) * _draws.NextDouble());
            return (duration, _draws.NextDouble() >= ShareWithoutProgress);
        }
    }

    /// <summary>The job with this upstream id, or null.</summary>
    public FakeJob? FindJob(string id) => _jobs.TryGetValue(id, out var job) ? job : null;

    /// <summary>Whether the job is still running at this poll (by time with <see cref="JobDuration"/>), and its progress if so.</summary>
    protected static bool StillRunning(FakeJob job, int poll, int slowPolls, out int progress)
    {
        progress = 0;
        if (job.FinishesAt is { } finishesAt)
        {
            var now = job.LastPollAt;
            if (now >= finishesAt)
            {
                return false;
            }

            progress = (int)((now - job.SubmittedAt) * 100 / Math.Max(1, finishesAt - job.SubmittedAt));
            return true;
        }

        if (job.Scenario != FakeScenario.Slow || poll > slowPolls)
        {
            return false;
        }

        progress = (poll - 1) * 100 / slowPolls;
        return true;
    }

    /// <summary>Answers a result download according to the job's scenario.</summary>
    protected IResult ServeResult(FakeJob? job, string notFoundBody) => job?.Scenario switch
    {
        null or FakeScenario.ResultNotFound => Json(notFoundBody, 404),
        FakeScenario.ResultNotVideo => Results.Text("<!doctype html><html><body>Access denied</body></html>", "text/html", Encoding.UTF8),
        // What S3-style stores (Volcengine TOS, Alibaba OSS, S3 behind CDNs) answer once X-*-Expires has passed.
        FakeScenario.ResultExpired => Results.Text(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
            "application/xml", Encoding.UTF8, 403),
        _ => Results.Bytes(Video, "video/mp4"),
    };

    /// <summary>A top-level string field of a JSON body, or null.</summary>
    protected static string? JsonField(string body, string name)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(body);
            return document.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object
                && document.RootElement.TryGetProperty(name, out var value) && value.ValueKind == System.Text.Json.JsonValueKind.String
                ? value.GetString()
                : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    /// <summary>A raw JSON body with a status.</summary>
    protected static IResult Json(string body, int status = 200) =>
        Results.Text(body, "application/json", Encoding.UTF8, status);

    /// <summary>An absolute URL on this fake.</summary>
    protected string Url(string pathAndQuery) => BaseUrl.GetLeftPart(UriPartial.Authority) + pathAndQuery;

    private static string ReceivedKey(HttpContext context)
    {
        var authorization = context.Request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization["Bearer ".Length..];
        }

        if (authorization.StartsWith("Key ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization["Key ".Length..];
        }

        return context.Request.Headers["x-goog-api-key"].ToString();
    }

    private RecordedRequest? Last(FakeRequestKind kind) => _requests.LastOrDefault(r => r.Kind == kind);
}
