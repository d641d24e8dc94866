using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Reelay.Blobs;
using Reelay.Tasks;

namespace Reelay.Api.Unified;

/// <summary>
/// The serialized <c>GET /v1/video/query</c> answers of finished tasks (completed, failed, cancelled),
/// so a client polling a finished task costs no database read, no link signing and no serialization.
/// <para>
/// A finished task never changes; only the signed links in its answer would. An entry is built once
/// per <see cref="Window"/> with links valid for <c>FILE_URL_TTL</c> plus that window, so every answer
/// served from it still carries links good for at least <c>FILE_URL_TTL</c>, and (the links' expiry
/// being rounded to the minute) the rebuilt entry usually hands out the very same links.
/// </para>
/// <para>
/// Deletion is the one change. A delete through this instance forgets the entry at once (<see cref="Forget"/>).
/// With several instances each keeps its own entries and nothing is sent between them: an entry lives one
/// window, so a task deleted through another instance is answered here for at most <see cref="Window"/>
/// longer, with links that already answer 404 (the files are gone) — the same bound a key revoked on
/// another instance has. The answer depends on the request's origin when <c>PUBLIC_URL</c> is unset, so
/// an entry is used only for the scheme, host and path base it was built for; and only for its owner key.
/// </para>
/// </summary>
public sealed class QueryAnswerCache : IDisposable
{
    /// <summary>How long an entry is served before it is built again (with freshly signed links).</summary>
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    /// <summary>Memory the entries may take: an answer is ~0.7 KB, so this holds some 40,000 finished tasks.</summary>
    private const long MaxBytes = 32L * 1024 * 1024;

    /// <summary>What an entry costs besides its bytes (the entry, its strings, the dictionary slot), roughly.</summary>
    private const int EntryOverheadBytes = 256;

    private readonly MemoryCache _entries = new(new MemoryCacheOptions { SizeLimit = MaxBytes, CompactionPercentage = 0.10 });
    private readonly IBlobStore _blobs;
    private readonly TimeSpan _linkLifetime;
    private readonly JsonTypeInfo<UnifiedQueryResponse> _json;
    private readonly TimeProvider _time;
    private long _deletions;

    public QueryAnswerCache(IBlobStore blobs, IOptions<FileLinkOptions> links, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json, TimeProvider time)
    {
        _blobs = blobs;
        _linkLifetime = links.Value.FileUrlTtl + Window;
        // The same options the uncached answer is written with, so both paths write the same bytes.
        _json = (JsonTypeInfo<UnifiedQueryResponse>)json.Value.SerializerOptions.GetTypeInfo(typeof(UnifiedQueryResponse));
        _time = time;
    }

    /// <summary>Deletions forgotten so far; read before the store read that may lead to <see cref="Add"/>.</summary>
    public long Deletions => Interlocked.Read(ref _deletions);

    /// <summary>The cached answer for this task, owner and origin, or null.</summary>
    public QueryAnswer? Find(string id, string ownerKeyId, HttpRequest request)
    {
        if (!_entries.TryGetValue(id, out var found) || found is not Entry entry)
        {
            return null;
        }

        if (entry.Until <= _time.GetUtcNow())
        {
            _entries.Remove(id);
            return null;
        }

        // Another key's id answers 404 from the store, exactly as if it were not cached.
        return string.Equals(entry.OwnerKeyId, ownerKeyId, StringComparison.Ordinal) && entry.IsFor(request) ? entry.Answer : null;
    }

    /// <summary>
    /// The answer of a finished task, kept for the next queries. <paramref name="deletionsBefore"/> is
    /// <see cref="Deletions"/> as read before the task was: if a delete was forgotten since, the row
    /// read may be gone already, and the answer is served once but not kept.
    /// </summary>
    public QueryAnswer Add(VideoTask task, HttpRequest request, long deletionsBefore)
    {
        var answer = new QueryAnswer(JsonSerializer.SerializeToUtf8Bytes(task.AsQueryResponse(_blobs, _linkLifetime, request), _json));
        if (!task.Stage.IsTerminal() || Deletions != deletionsBefore)
        {
            return answer;
        }

        var entry = new Entry(task.OwnerKeyId, request.Scheme, request.Host.Value, request.PathBase.Value, _time.GetUtcNow() + Window, answer);
        using (var slot = _entries.CreateEntry(task.Id))
        {
            slot.Value = entry;
            slot.Size = answer.Utf8.Length + EntryOverheadBytes;
        }

        // A delete forgotten between the check above and the store: it may have missed this entry, so drop it.
        if (Deletions != deletionsBefore)
        {
            _entries.Remove(task.Id);
        }

        return answer;
    }

    /// <summary>The task was deleted: its answer is never served again by this instance.</summary>
    public void Forget(string id)
    {
        // Counted before the removal, so an Add racing with it either sees the count or is removed here.
        Interlocked.Increment(ref _deletions);
        _entries.Remove(id);
    }

    /// <summary>
    /// The file-signing key was rotated here: answers signed with the previous key are dropped, so clients get
    /// links under the new one at once. (Other instances' entries still carry links the previous key signed,
    /// which stay valid until they expire, and end with their window.)
    /// </summary>
    public void ForgetAll()
    {
        Interlocked.Increment(ref _deletions);
        _entries.Clear();
    }

    public void Dispose() => _entries.Dispose();

    private sealed record Entry(string OwnerKeyId, string Scheme, string? Host, string? PathBase, DateTimeOffset Until, QueryAnswer Answer)
    {
        public bool IsFor(HttpRequest request) =>
            string.Equals(Scheme, request.Scheme, StringComparison.Ordinal)
            && string.Equals(Host, request.Host.Value, StringComparison.Ordinal)
            && string.Equals(PathBase, request.PathBase.Value, StringComparison.Ordinal);
    }
}

/// <summary>A query answer already serialized: written as it is, with the headers <c>TypedResults.Ok</c> gives JSON.</summary>
public sealed class QueryAnswer(byte[] utf8) : IResult
{
    public byte[] Utf8 { get; } = utf8;

    public Task ExecuteAsync(HttpContext httpContext) => JsonAnswer.WriteAsync(httpContext, Utf8);
}
