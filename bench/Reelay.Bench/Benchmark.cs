using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Reelay.Blobs;
using Reelay.Blobs.LocalDisk;
using Reelay.Testing;

namespace Reelay.Bench;

/// <summary>
/// The throughput part of a run: the bare Kestrel baseline and Reelay, each in its own process,
/// measured with the same load in interleaved rounds — by the .NET load generator and by wrk — then
/// file links against static files, allocations per request, and the API while local renders run.
/// </summary>
internal static class Benchmark
{
    /// <summary>The seed's create body with no reference images, on the local preview model.</summary>
    public const string CreateBody = """
        {"model":"reelay-preview","prompt":"小猫在吃鱼 --mode=custom","aspect_ratio":"3:2","size":"720P","images":[]}
        """;

    /// <summary>Short renders that make the finished tasks the query measurements read.</summary>
    private const string ShortRenderBody = """
        {"model":"reelay-preview","prompt":"A lighthouse at night","aspect_ratio":"16:9","size":"480P","duration":1,"images":[]}
        """;

    /// <summary>Long renders that keep the renderer busy while the API is measured beside it.</summary>
    private const string LongRenderBody = """
        {"model":"reelay-preview","prompt":"Waves breaking on a rocky shore at dusk","aspect_ratio":"16:9","size":"720P","duration":15,"images":[]}
        """;

    /// <summary>The file links serve a stored video of this size.</summary>
    private const long VideoBytes = 50L * 1000 * 1000;

    /// <summary>
    /// Connections fetching the whole video at once: 64 × 50 MB in flight would take longer than a
    /// window to finish one answer on loopback; with 8, each run completes many.
    /// </summary>
    private const int WholeFileConnections = 8;

    /// <summary>The Range requests ask for 1 MiB from the middle of the video, as a player seeking does.</summary>
    private const string RangeHeader = "bytes=25000000-26048575";

    private static readonly MediaTypeHeaderValue Json = new("application/json");

    /// <summary>A named load for the .NET generator: what to send and what answer counts as success.</summary>
    private sealed record Measurement(string Name, HttpClient Client, Func<long, HttpRequestMessage> Request);

    public static async Task<RunFigures> RunAsync(BenchOptions options)
    {
        var load = options.Load;
        var wrk = WrkLoad.Find() ?? throw new InvalidOperationException("wrk is not installed: apt-get install -y wrk (bench/run does it).");
        var scratch = NewDataDirectory();
        var dataDir = NewDataDirectory();
        var renderDir = NewDataDirectory();
        try
        {
            var adminKey = "sk-admin-bench-" + Guid.NewGuid().ToString("N");
            var signingKey = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
            var reelayUrl = LoopbackUrl();
            Dictionary<string, string> Environment(Uri url, string dir, bool engine) => new()
            {
                ["REELAY_URLS"] = url.ToString(),
                ["REELAY_DATA_DIR"] = dir,
                ["REELAY_ADMIN_KEY"] = adminKey,
                ["REELAY_SIGNING_KEY"] = signingKey,
                // API only unless renders are what is measured: workers and renders would take CPU from the API under test.
                ["REELAY_Engine__Enabled"] = engine ? "true" : "false",
                // Hundreds of thousands of creates pile up unrendered here: admission would refuse
                // them as a backlog, which is right for a server but not what this measures.
                ["REELAY_Limits__MaxInFlightPerTestKey"] = "0",
                ["REELAY_Limits__LocalAdmission"] = "false",
            };

            var loadBefore = LoadAverage();

            // Finished tasks for the query measurements: rendered by an instance with its engine on, which then stops.
            Console.WriteLine($"Rendering {options.CompletedTasks} short videos for the query measurements…");
            CreatedKey key;
            string[] completed;
            await using (var renderer = await StartServerAsync(reelayUrl, [options.ServerDll], Environment(reelayUrl, dataDir, engine: true), dataDir))
            {
                using var client = LoadGenerator.CreateClient(reelayUrl, 4);
                key = await ClientKeys.CreateAsync(client, adminKey, "test", "bench");
                client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key.Key);
                completed = await CreateTasksAsync(client, ShortRenderBody, options.CompletedTasks);
                await WaitCompletedAsync(client, completed, TimeSpan.FromMinutes(3));
            }

            // The video the file links serve, in Reelay's blob directory, where the static baseline serves it too.
            var videos = Path.Combine(dataDir, "files", "videos");
            var videoFile = Path.Combine(videos, "bench50mb.mp4");
            await MakeVideoAsync(videoFile);
            var fileLink = new FileUrls(Options.Create(new FileLinkOptions { SigningKey = signingKey, PublicUrl = reelayUrl.ToString() }), TimeProvider.System)
                .For("videos/bench50mb.mp4", TimeSpan.FromHours(2), new DefaultHttpContext().Request);
            var signedPath = new Uri(fileLink).PathAndQuery;

            var baselineUrl = LoopbackUrl();
            await using var baseline = await StartServerAsync(
                baselineUrl,
                [Path.Combine(AppContext.BaseDirectory, "Reelay.Bench.dll"), "baseline", baselineUrl.ToString(), videos],
                new Dictionary<string, string>(),
                AppContext.BaseDirectory);
            using var baselineClient = LoadGenerator.CreateClient(baselineUrl, load.Connections);

            Dictionary<string, List<LoadResult>> dotnet;
            Dictionary<string, List<WrkResult>> api;
            Dictionary<string, List<WrkResult>> files;
            string[] pending;
            (string? Before, string? After) apiLoad, filesLoad;
            await using (var reelay = await StartServerAsync(reelayUrl, [options.ServerDll], Environment(reelayUrl, dataDir, engine: false), dataDir))
            {
                using var reelayClient = LoadGenerator.CreateClient(reelayUrl, load.Connections);
                reelayClient.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key.Key);
                pending = await CreateTasksAsync(reelayClient, CreateBody, options.QueryTasks);

                apiLoad.Before = LoadAverage();
                dotnet = await RunDotnetRoundsAsync(load, baselineClient, reelayClient, completed, pending);

                Console.WriteLine($"wrk: -t{options.Wrk.Threads} -c{options.Wrk.Connections}, baseline at {baselineUrl}, Reelay (API only) at {reelayUrl}");
                api = await WrkLoad.RunRoundsAsync(wrk, ApiTargets(baselineUrl, reelayUrl, key.Key, completed, pending), options.Wrk, scratch);
                apiLoad.After = LoadAverage();

                filesLoad.Before = LoadAverage();
                WrkTarget[] fileTargets =
                [
                    new(Names.StaticFull, baselineUrl, "GET", [BaselineServer.StaticPath + "/bench50mb.mp4"], new Dictionary<string, string>(), Connections: WholeFileConnections),
                    new(Names.SignedFull, reelayUrl, "GET", [signedPath], new Dictionary<string, string>(), Connections: WholeFileConnections),
                    new(Names.StaticRange, baselineUrl, "GET", [BaselineServer.StaticPath + "/bench50mb.mp4"], new Dictionary<string, string> { ["Range"] = RangeHeader }),
                    new(Names.SignedRange, reelayUrl, "GET", [signedPath], new Dictionary<string, string> { ["Range"] = RangeHeader }),
                ];
                files = await WrkLoad.RunRoundsAsync(wrk, fileTargets, options.Wrk, scratch);
                filesLoad.After = LoadAverage();
            }

            Console.WriteLine("Allocations per request (Reelay in this process, one request at a time):");
            var allocations = await AllocationProbe.RunAsync(dataDir, key.Key, AllocationKinds(completed[0], pending[0]));

            // The API beside running renders: an instance with its engine on and shipped render settings,
            // a backlog of long renders queued first, and every create measured queueing one more.
            var renderUrl = LoopbackUrl();
            Console.WriteLine("Renders running: queueing long renders on an instance with its engine on…");
            Dictionary<string, List<WrkResult>> renders;
            (string? Before, string? After) rendersLoad;
            bool stillRendering;
            await using (var rendering = await StartServerAsync(renderUrl, [options.ServerDll], Environment(renderUrl, renderDir, engine: true), renderDir))
            {
                using var client = LoadGenerator.CreateClient(renderUrl, 4);
                var renderKey = await ClientKeys.CreateAsync(client, adminKey, "test", "bench-renders");
                client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", renderKey.Key);
                var backlog = await CreateTasksAsync(client, LongRenderBody, options.RenderBacklog);
                await WaitAnyProcessingAsync(client, backlog, TimeSpan.FromSeconds(60));
                rendersLoad.Before = LoadAverage();
                WrkTarget[] renderTargets =
                [
                    new(Names.BaselinePost, baselineUrl, "POST", [BaselineServer.Path], JsonHeaders(), CreateBody),
                    new(Names.CreateRendering, renderUrl, "POST", ["/v1/video/create"], JsonHeaders(renderKey.Key), CreateBody),
                    new(Names.BaselineGet, baselineUrl, "GET", [BaselineServer.Path], new Dictionary<string, string>()),
                    new(Names.QueryRendering, renderUrl, "GET", backlog, Bearer(renderKey.Key)),
                ];
                renders = await WrkLoad.RunRoundsAsync(wrk, renderTargets, options.Wrk, scratch);
                rendersLoad.After = LoadAverage();
                stillRendering = await CountProcessingAsync(client, backlog) > 0;
            }

            return new RunFigures(
                dotnet, api, files, renders, allocations,
                new FileInfo(videoFile).Length, options.CompletedTasks, stillRendering,
                loadBefore, LoadAverage(), apiLoad, filesLoad, rendersLoad);
        }
        finally
        {
            DeleteDataDirectory(dataDir);
            DeleteDataDirectory(renderDir);
            DeleteDataDirectory(scratch);
        }
    }

    /// <summary>Measurement names, as the report prints them.</summary>
    public static class Names
    {
        public const string BaselineGet = "baseline GET";
        public const string BaselinePost = "baseline POST";
        public const string QueryCompleted = "GET /v1/video/query, completed task";
        public const string QueryPending = "GET /v1/video/query, pending task";
        public const string Create = "POST /v1/video/create";
        public const string Health = "GET /healthz";
        public const string StaticFull = "static file GET (UseStaticFiles)";
        public const string SignedFull = "signed link GET /files/…";
        public const string StaticRange = "static file Range 1 MiB";
        public const string SignedRange = "signed link Range 1 MiB";
        public const string CreateRendering = "POST /v1/video/create, renders running";
        public const string QueryRendering = "GET /v1/video/query, renders running";
    }

    private static WrkTarget[] ApiTargets(Uri baselineUrl, Uri reelayUrl, string key, string[] completed, string[] pending) =>
    [
        new(Names.BaselineGet, baselineUrl, "GET", [BaselineServer.Path], new Dictionary<string, string>()),
        new(Names.QueryCompleted, reelayUrl, "GET", completed, Bearer(key)),
        new(Names.QueryPending, reelayUrl, "GET", pending, Bearer(key)),
        new(Names.Health, reelayUrl, "GET", ["/healthz"], new Dictionary<string, string>()),
        new(Names.BaselinePost, baselineUrl, "POST", [BaselineServer.Path], JsonHeaders(), CreateBody),
        new(Names.Create, reelayUrl, "POST", ["/v1/video/create"], JsonHeaders(key), CreateBody),
    ];

    private static Dictionary<string, string> Bearer(string key) => new() { ["Authorization"] = "Bearer " + key };

    private static Dictionary<string, string> JsonHeaders(string? key = null)
    {
        var headers = key is null ? [] : Bearer(key);
        headers["Content-Type"] = "application/json";
        return headers;
    }

    /// <summary>The .NET generator's rounds: the same five loads, interleaved.</summary>
    private static async Task<Dictionary<string, List<LoadResult>>> RunDotnetRoundsAsync(
        LoadSettings load, HttpClient baselineClient, HttpClient reelayClient, string[] completed, string[] pending)
    {
        var body = Encoding.UTF8.GetBytes(CreateBody);
        var baselinePath = new Uri(BaselineServer.Path, UriKind.Relative);
        var createPath = new Uri("/v1/video/create", UriKind.Relative);
        var completedUris = completed.Select(p => new Uri(p, UriKind.Relative)).ToArray();
        var pendingUris = pending.Select(p => new Uri(p, UriKind.Relative)).ToArray();
        Measurement[] measurements =
        [
            new(Names.BaselineGet, baselineClient, _ => new HttpRequestMessage(HttpMethod.Get, baselinePath)),
            new(Names.QueryCompleted, reelayClient, n => new HttpRequestMessage(HttpMethod.Get, completedUris[n % completedUris.Length])),
            new(Names.QueryPending, reelayClient, n => new HttpRequestMessage(HttpMethod.Get, pendingUris[n % pendingUris.Length])),
            new(Names.BaselinePost, baselineClient, _ => Post(baselinePath, body)),
            new(Names.Create, reelayClient, _ => Post(createPath, body)),
        ];

        Console.WriteLine($".NET load generator: {load.Connections} connections, warmup {load.Warmup.TotalSeconds:0} s each…");
        return await LoadGenerator.RunRoundsAsync([.. measurements.Select(m => (m.Name, m.Client, m.Request))], load);
    }

    /// <summary>
    /// A real H.264 MP4 of about <see cref="VideoBytes"/>: lossless noise, so it cannot be small, cut at
    /// that size by ffmpeg's -fs. Written beside its final name and moved there whole.
    /// </summary>
    private static async Task MakeVideoAsync(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var partial = path + ".partial.mp4";
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var made = await ChildProcess.RunAsync("ffmpeg",
        [
            "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=30", "-vf", "noise=alls=60:allf=t",
            "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p", "-t", "120",
            "-fs", VideoBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), "-f", "mp4", partial,
        ], limit.Token);
        if (made.ExitCode != 0)
        {
            throw new InvalidOperationException($"ffmpeg could not make the test video: {made.Output}");
        }

        File.Move(partial, path, overwrite: true);
    }

    /// <summary>The environment of a Reelay on this URL, data directory and admin key, plus <paramref name="extra"/> (its settings as <c>REELAY_…</c> variables).</summary>
    public static Dictionary<string, string> ServerEnvironment(Uri url, string dataDir, string adminKey, IReadOnlyDictionary<string, string> extra) =>
        new(extra)
        {
            ["REELAY_URLS"] = url.ToString(),
            ["REELAY_DATA_DIR"] = dataDir,
            ["REELAY_ADMIN_KEY"] = adminKey,
        };

    /// <summary>
    /// The environment of an API-only Reelay (no workers, admission off: the creates measured pile up
    /// unrendered, which admission would refuse as a backlog), plus <paramref name="extra"/>.
    /// </summary>
    public static Dictionary<string, string> ApiOnlyEnvironment(Uri url, string dataDir, string adminKey, IReadOnlyDictionary<string, string> extra) =>
        ServerEnvironment(url, dataDir, adminKey, new Dictionary<string, string>(extra)
        {
            ["REELAY_Engine__Enabled"] = "false",
            ["REELAY_Limits__MaxInFlightPerTestKey"] = "0",
            ["REELAY_Limits__LocalAdmission"] = "false",
        });

    /// <summary>The requests whose allocations are measured: a completed and a pending task's query among them.</summary>
    private static (string Name, string Method, string Path, string? Body)[] AllocationKinds(string completedQuery, string pendingQuery) =>
    [
        (Names.Health, "GET", "/healthz", null),
        (Names.QueryCompleted, "GET", completedQuery, null),
        (Names.QueryPending, "GET", pendingQuery, null),
        (Names.Create, "POST", "/v1/video/create", CreateBody),
    ];

    /// <summary>
    /// The allocations per request alone (<c>--only allocations</c>): one short video rendered for the
    /// completed-task query, one pending task, then the in-process probe; seconds, not the whole run.
    /// </summary>
    public static async Task<IReadOnlyList<AllocationFigure>> AllocationsAsync(BenchOptions options)
    {
        var dataDir = NewDataDirectory();
        try
        {
            var adminKey = "sk-admin-bench-" + Guid.NewGuid().ToString("N");
            var url = LoopbackUrl();
            Dictionary<string, string> Environment(bool engine) => new()
            {
                ["REELAY_URLS"] = url.ToString(),
                ["REELAY_DATA_DIR"] = dataDir,
                ["REELAY_ADMIN_KEY"] = adminKey,
                ["REELAY_Engine__Enabled"] = engine ? "true" : "false",
            };

            CreatedKey key;
            string completed, pending;
            await using (var renderer = await StartServerAsync(url, [options.ServerDll], Environment(engine: true), dataDir))
            {
                using var client = LoadGenerator.CreateClient(url, 4);
                key = await ClientKeys.CreateAsync(client, adminKey, "test", "bench");
                client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key.Key);
                completed = (await CreateTasksAsync(client, ShortRenderBody, 1))[0];
                await WaitCompletedAsync(client, [completed], TimeSpan.FromMinutes(3));
            }

            // Created with the engine off, so it stays pending.
            await using (var api = await StartServerAsync(url, [options.ServerDll], Environment(engine: false), dataDir))
            {
                using var client = LoadGenerator.CreateClient(url, 4);
                client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key.Key);
                pending = (await CreateTasksAsync(client, CreateBody, 1))[0];
            }

            return await AllocationProbe.RunAsync(dataDir, key.Key, AllocationKinds(completed, pending));
        }
        finally
        {
            DeleteDataDirectory(dataDir);
        }
    }

    /// <summary>A fresh, empty data directory for one Reelay process.</summary>
    public static string NewDataDirectory()
    {
        var path = Path.Combine(Path.GetTempPath(), "reelay-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    public static void DeleteDataDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by the stopped server: the temp dir is cleaned by the OS later.
        }
    }

    /// <summary>A POST of JSON bytes.</summary>
    public static HttpRequestMessage Post(Uri path, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = Json;
        return new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
    }

    /// <summary>A loopback URL on a port that was free a moment ago.</summary>
    public static Uri LoopbackUrl() => new($"http://127.0.0.1:{ChildProcess.FreeLoopbackPort()}");

    /// <summary>Runs <c>dotnet &lt;arguments&gt;</c> and waits until <c>GET /healthz</c> answers 200; killed with its children on dispose.</summary>
    public static async Task<ChildProcess> StartServerAsync(
        Uri baseAddress, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment, string workingDirectory)
    {
        var server = ChildProcess.Start("dotnet", arguments, environment, workingDirectory);
        try
        {
            await server.WaitHealthyAsync(baseAddress, TimeSpan.FromSeconds(60), CancellationToken.None);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary>Creates <paramref name="count"/> tasks with this body, and returns their query paths.</summary>
    public static async Task<string[]> CreateTasksAsync(HttpClient client, string body, int count)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var createPath = new Uri("/v1/video/create", UriKind.Relative);
        var queries = new string[count];
        for (var i = 0; i < count; i++)
        {
            using var request = Post(createPath, bytes);
            using var response = await client.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"POST /v1/video/create answered {(int)response.StatusCode}: {text}");
            }

            using var document = JsonDocument.Parse(text);
            queries[i] = "/v1/video/query?id=" + Uri.EscapeDataString(document.RootElement.GetProperty("id").GetString()!);
        }

        return queries;
    }

    private static async Task<string> StatusAsync(HttpClient client, string query)
    {
        using var document = JsonDocument.Parse(await client.GetStringAsync(new Uri(query, UriKind.Relative)));
        return document.RootElement.GetProperty("status").GetString()!;
    }

    /// <summary>Waits until every task is completed; a failed one, or the time limit, throws.</summary>
    private static async Task WaitCompletedAsync(HttpClient client, string[] queries, TimeSpan limit)
    {
        var started = Stopwatch.GetTimestamp();
        foreach (var query in queries)
        {
            string status;
            while ((status = await StatusAsync(client, query)) != "completed")
            {
                if (status is "failed" or "cancelled" || Stopwatch.GetElapsedTime(started) > limit)
                {
                    throw new InvalidOperationException($"{query} is {status} after {Stopwatch.GetElapsedTime(started).TotalSeconds:0} s; the query measurements need it completed.");
                }

                await Task.Delay(500);
            }
        }
    }

    /// <summary>Waits until a render of the backlog has started, so the measurement begins with the renderer busy.</summary>
    private static async Task WaitAnyProcessingAsync(HttpClient client, string[] queries, TimeSpan limit)
    {
        var started = Stopwatch.GetTimestamp();
        while (await CountProcessingAsync(client, queries[..Math.Min(2, queries.Length)]) == 0)
        {
            if (Stopwatch.GetElapsedTime(started) > limit)
            {
                throw new TimeoutException($"No render started within {limit.TotalSeconds:0} s.");
            }

            await Task.Delay(250);
        }
    }

    private static async Task<int> CountProcessingAsync(HttpClient client, IEnumerable<string> queries)
    {
        var processing = 0;
        foreach (var query in queries)
        {
            processing += await StatusAsync(client, query) == "processing" ? 1 : 0;
        }

        return processing;
    }

    /// <summary>The 1-minute load average, to show how busy the machine was besides this run (Linux only).</summary>
    public static string? LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : null;
}

/// <summary>Everything the throughput part measured, per measurement name and round.</summary>
internal sealed record RunFigures(
    Dictionary<string, List<LoadResult>> Dotnet,
    Dictionary<string, List<WrkResult>> Api,
    Dictionary<string, List<WrkResult>> Files,
    Dictionary<string, List<WrkResult>> Renders,
    IReadOnlyList<AllocationFigure> Allocations,
    long VideoBytes,
    int CompletedTasks,
    bool StillRenderingAtEnd,
    string? LoadAverageBefore,
    string? LoadAverageAfter,
    (string? Before, string? After) ApiLoad,
    (string? Before, string? After) FilesLoad,
    (string? Before, string? After) RendersLoad);
