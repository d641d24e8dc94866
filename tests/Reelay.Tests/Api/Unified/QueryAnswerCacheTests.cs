using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Reelay.Api;
using Reelay.Api.Unified;
using Reelay.Blobs;
using Reelay.Blobs.LocalDisk;
using Reelay.Hosting;
using Reelay.Tasks;

namespace Reelay.Tests.Api.Unified;

public sealed class QueryAnswerCacheTests : IDisposable
{
    private static readonly TimeSpan Ttl = TimeSpan.FromHours(24);

    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "reelay-answers-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));
    private readonly QueryAnswerCache _cache;

    public QueryAnswerCacheTests()
    {
        // As the host sets them up: the API's JSON options, real signed links on the local disk store.
        var json = new Microsoft.AspNetCore.Http.Json.JsonOptions();
        json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        json.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
        var links = Options.Create(new FileLinkOptions { SigningKey = "test-signing-key", FileUrlTtl = Ttl });
        var blobs = new LocalDiskBlobStore(new DataDirectory(Options.Create(new DataDirectoryOptions { DataDir = _dataDir })), new FileUrls(links, _time));
        _cache = new QueryAnswerCache(blobs, links, Options.Create(json), _time);
    }

    public void Dispose()
    {
        _cache.Dispose();
        if (Directory.Exists(_dataDir))
        {
            Directory.Delete(_dataDir, recursive: true);
        }
    }

    private static VideoTask Completed(string owner = "key_a") => new()
    {
        Id = "reelay-preview:" + Guid.NewGuid().ToString("D"),
        OwnerKeyId = owner,
        Model = "reelay-preview",
        RequestedModel = "reelay-preview",
        Prompt = "a lighthouse",
        AspectRatio = "16:9",
        Size = "480P",
        Duration = 1,
        Stage = TaskStage.Completed,
        Progress = 100,
        VideoKey = "videos/abc.mp4",
        ThumbnailKey = "thumbnails/abc.jpg",
        Width = 854,
        Height = 480,
        CreatedAt = 1,
        UpdatedAt = 2,
        CompletedAt = 2,
    };

    private static HttpRequest Request(string host = "127.0.0.1:8080")
    {
        var context = new DefaultHttpContext();
        context.Request.Scheme = "http";
        context.Request.Host = new HostString(host);
        return context.Request;
    }

    private static JsonElement Parse(QueryAnswer answer) => JsonDocument.Parse(answer.Utf8).RootElement;

    [Fact]
    public void Find_FinishedTaskAdded_ReturnsTheSameAnswerForItsOwnerWithinTheWindow()
    {
        var task = Completed();
        var added = _cache.Add(task, Request(), _cache.Deletions);
        _time.Advance(QueryAnswerCache.Window - TimeSpan.FromMilliseconds(1));

        var found = _cache.Find(task.Id, task.OwnerKeyId, Request());

        Assert.Same(added, found);
        Assert.Equal("completed", Parse(found!).GetProperty("status").GetString());
    }

    [Fact]
    public void Find_LastMomentOfTheWindow_LinksStillLastAtLeastTheTtl()
    {
        var task = Completed();
        _cache.Add(task, Request(), _cache.Deletions);
        _time.Advance(QueryAnswerCache.Window - TimeSpan.FromMilliseconds(1));

        var answer = Parse(_cache.Find(task.Id, task.OwnerKeyId, Request())!);

        foreach (var link in (string[])["video_url", "thumbnail_url"])
        {
            var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(new Uri(answer.GetProperty(link).GetString()!).Query);
            var expires = DateTimeOffset.FromUnixTimeSeconds(long.Parse(query["exp"]!, System.Globalization.CultureInfo.InvariantCulture));
            Assert.True(expires >= _time.GetUtcNow() + Ttl, $"{link} expires at {expires}, less than {Ttl} after {_time.GetUtcNow()}");
        }
    }

    [Fact]
    public void Find_WindowOver_ReturnsNull()
    {
        var task = Completed();
        _cache.Add(task, Request(), _cache.Deletions);
        _time.Advance(QueryAnswerCache.Window);

        Assert.Null(_cache.Find(task.Id, task.OwnerKeyId, Request()));
    }

    [Fact]
    public void Find_AnotherKeyOrAnotherHost_ReturnsNull()
    {
        var task = Completed();
        _cache.Add(task, Request(), _cache.Deletions);

        Assert.Null(_cache.Find(task.Id, "key_b", Request()));
        Assert.Null(_cache.Find(task.Id, task.OwnerKeyId, Request("reelay.example.com")));
        Assert.NotNull(_cache.Find(task.Id, task.OwnerKeyId, Request()));
    }

    [Fact]
    public void Find_Forgotten_ReturnsNull()
    {
        var task = Completed();
        _cache.Add(task, Request(), _cache.Deletions);

        _cache.Forget(task.Id);

        Assert.Null(_cache.Find(task.Id, task.OwnerKeyId, Request()));
    }

    [Fact]
    public void Add_DeletionForgottenSinceTheRead_AnswersOnceButKeepsNothing()
    {
        var task = Completed();
        var before = _cache.Deletions;
        _cache.Forget(task.Id);

        var answer = _cache.Add(task, Request(), before);

        Assert.Equal(task.Id, Parse(answer).GetProperty("id").GetString());
        Assert.Null(_cache.Find(task.Id, task.OwnerKeyId, Request()));
    }

    [Fact]
    public void Add_UnfinishedTask_KeepsNothing()
    {
        var task = Completed() with { Stage = TaskStage.Running, VideoKey = null, ThumbnailKey = null };

        _cache.Add(task, Request(), _cache.Deletions);

        Assert.Null(_cache.Find(task.Id, task.OwnerKeyId, Request()));
    }
}
