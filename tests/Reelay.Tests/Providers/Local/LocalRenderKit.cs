using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Reelay.Providers;
using Reelay.Providers.Local;
using Reelay.Testing;

namespace Reelay.Tests.Providers.Local;

/// <summary>Builds local renderers over a scratch directory and speaks to them the way the engine does.</summary>
internal static class LocalRenderKit
{
    public static readonly ChannelSettings Channel = new("local-test", ProviderNames.Local, null, null);

    public static LocalRenderer Renderer(string workDirectory, Action<LocalRendererOptions>? configure = null, TimeProvider? time = null)
    {
        var options = new LocalRendererOptions { WorkDirectory = workDirectory, MaxConcurrentRenders = 2 };
        configure?.Invoke(options);
        return new LocalRenderer(Options.Create(options), TestMedia.Toolkit(), new LocalRenderLoad(Options.Create(options)), time ?? TimeProvider.System, NullLogger<LocalRenderer>.Instance);
    }

    public static VideoJobRequest Request(
        int width = 640,
        int height = 360,
        int seconds = 1,
        string prompt = "a paper boat drifting down a rainy street",
        long? seed = 7,
        string? taskId = null,
        IReadOnlyList<ReferenceImage>? images = null) => new()
    {
        TaskId = taskId ?? "task_" + Guid.NewGuid().ToString("N"),
        Model = "reelay-preview",
        Prompt = prompt,
        AspectRatio = "16:9",
        Size = "720P",
        Width = width,
        Height = height,
        DurationSeconds = seconds,
        Seed = seed,
        Images = images ?? [],
    };

    public static async Task<ReferenceImage> ImageAsync(string directory, string name, string lavfiSource, string mediaType)
    {
        var path = await TestMedia.ImageAsync(directory, name, lavfiSource);
        var (width, height) = await TestMedia.PictureSizeAsync(path);
        return new ReferenceImage(await File.ReadAllBytesAsync(path, TestContext.Current.CancellationToken), mediaType, width, height, null);
    }

    public static UpstreamJob Job(string upstreamId, VideoJobRequest? request = null) =>
        new(upstreamId, request?.TaskId ?? "task_unknown", "reelay-preview");

    /// <summary>Polls as the engine would until the job leaves Running; every answer seen is returned in order.</summary>
    public static async Task<List<PollResult>> PollUntilDoneAsync(LocalRenderer renderer, UpstreamJob job, TimeSpan? limit = null)
    {
        var answers = new List<PollResult>();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(limit ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var answer = await renderer.PollAsync(job, Channel, deadline.Token);
            answers.Add(answer);
            if (answer.State is UpstreamState.Succeeded or UpstreamState.Failed)
            {
                return answers;
            }
            // A look every 50 ms: shorter than the renderer's declared poll interval, so tests see progress quickly.
            await Task.Delay(TimeSpan.FromMilliseconds(50), deadline.Token);
        }
    }

    public static async Task<string> RenderAsync(LocalRenderer renderer, VideoJobRequest request)
    {
        var submitted = await renderer.SubmitAsync(request, Channel, TestContext.Current.CancellationToken);
        var answers = await PollUntilDoneAsync(renderer, Job(submitted.UpstreamId, request));
        var last = answers[^1];
        Assert.True(last.State == UpstreamState.Succeeded, $"render failed: {last.Error?.Message}");
        return last.ResultLocation!;
    }
}
