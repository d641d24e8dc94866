using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Reelay.Hosting;
using Reelay.Secrets;

namespace Reelay.Blobs.LocalDisk;

/// <summary>
/// The keys that sign file URLs. The current key signs; after a rotation the one before still verifies
/// until every link it signed has expired — <c>FILE_URL_TTL</c> after the rotation plus
/// <see cref="PreviousKeySlack"/> — so links already handed out keep playing. From <c>SIGNING_KEY</c>
/// (and <c>SIGNING_KEY_PREVIOUS</c>) when set; otherwise generated and kept encrypted with the secrets
/// key ring in <c>&lt;data&gt;/signing-keys</c>, which every instance sharing the data directory reads
/// again when it changes.
/// </summary>
public sealed partial class FileSigningKeys : ISecretHolder
{
    /// <summary>The encrypted key file in the data directory.</summary>
    public const string FileName = "signing-keys";

    /// <summary>Where earlier versions kept the generated key in plain text: encrypted into <see cref="FileName"/> at startup, then deleted.</summary>
    public const string PlainFileName = "signing-key";

    /// <summary>
    /// How long after <c>FILE_URL_TTL</c> the previous key still verifies: expiries are rounded up to the
    /// minute, and another instance keeps signing with it until it reads the file again (<see cref="RereadInterval"/>).
    /// </summary>
    public static readonly TimeSpan PreviousKeySlack = TimeSpan.FromMinutes(2);

    /// <summary>How often the key file is looked at for another instance's rotation.</summary>
    private static readonly TimeSpan RereadInterval = TimeSpan.FromSeconds(10);

    private readonly FileLinkOptions _options;
    private readonly string? _path;
    private readonly string? _plainPath;
    private readonly SecretProtector? _secrets;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private KeySet? _keys;
    private long _checkedAt;

    public FileSigningKeys(IOptions<FileLinkOptions> options, DataDirectory data, SecretProtector secrets, TimeProvider time, ILogger<FileSigningKeys> logger)
    {
        _options = options.Value;
        _time = time;
        _logger = logger;
        if (string.IsNullOrWhiteSpace(_options.SigningKey))
        {
            _path = Path.Combine(data.Root, FileName);
            _plainPath = Path.Combine(data.Root, PlainFileName);
            _secrets = secrets;
        }
        else
        {
            _keys = Configured(_options);
        }
    }

    private FileSigningKeys(FileLinkOptions options, TimeProvider time)
    {
        _options = options;
        _time = time;
        _logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _keys = Configured(options);
    }

    public string Name => SecretPurposes.FileSigningKeys;

    /// <summary>Whether the keys come from <c>SIGNING_KEY</c> (rotated by changing it) rather than the data directory.</summary>
    public bool FromConfiguration => _path is null;

    /// <summary>Until when the previous key still verifies; null when there is none (or it is configured, valid while set).</summary>
    public DateTimeOffset? PreviousValidUntil
    {
        get
        {
            var now = _time.GetUtcNow();
            return Keys().Previous.Where(key => key.Until > now).Select(key => key.Until).Max();
        }
    }

    /// <summary>Keys from <c>SIGNING_KEY</c> and <c>SIGNING_KEY_PREVIOUS</c> only: no file, no rotation.</summary>
    internal static FileSigningKeys FromOptions(FileLinkOptions options, TimeProvider time) =>
        string.IsNullOrWhiteSpace(options.SigningKey)
            ? throw new ArgumentException("SIGNING_KEY is empty: without it the signing keys live in the data directory; use the constructor that takes it.", nameof(options))
            : new FileSigningKeys(options, time);

    /// <summary>The key that signs new links.</summary>
    internal byte[] Signing => Keys().Current;

    /// <summary>Every key a link may carry now, the signing key first.</summary>
    internal IEnumerable<byte[]> Verifying()
    {
        var keys = Keys();
        var now = _time.GetUtcNow();
        return keys.Previous.Where(key => key.Until is null || key.Until > now).Select(key => key.Key).Prepend(keys.Current);
    }

    /// <summary>Reads the key file again if it changed (another instance rotated); true when the keys did.</summary>
    internal bool Reread()
    {
        if (_path is null)
        {
            return false;
        }

        lock (_gate)
        {
            var before = _keys;
            if (before is not null && File.GetLastWriteTimeUtc(_path) == before.Written)
            {
                return false;
            }

            _keys = Load(out _);
            return !ReferenceEquals(before, _keys);
        }
    }

    /// <summary>
    /// A new signing key; the current one verifies until the links it signed have expired. Null when
    /// the keys come from configuration: there, set <c>SIGNING_KEY_PREVIOUS</c> to the old value and
    /// <c>SIGNING_KEY</c> to a new one.
    /// </summary>
    public DateTimeOffset? Rotate()
    {
        if (_path is null)
        {
            return null;
        }

        lock (_gate)
        {
            var keys = Load(out _);
            var now = _time.GetUtcNow();
            var until = now + _options.FileUrlTtl + PreviousKeySlack;
            var rotated = new KeySet(NewKey(), [new PreviousKey(keys.Current, until), .. keys.Previous.Where(key => key.Until > now)], null, default);
            _keys = Store(rotated, replace: true);
            LogRotated(_logger, until);
            return until;
        }
    }

    public Task<int> ProtectPlainTextAsync(CancellationToken cancellationToken)
    {
        if (_path is null)
        {
            return Task.FromResult(0);
        }

        lock (_gate)
        {
            _keys = Load(out var migrated);
            return Task.FromResult(migrated ? 1 : 0);
        }
    }

    public Task<IReadOnlyList<StoredSecret>> ReadProtectedAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<StoredSecret>>(_path is not null && SecretFiles.Read(_path) is { } text ? [new StoredSecret(FileName, text)] : []);

    public Task<int> ReplaceProtectedAsync(IReadOnlyList<ReprotectedSecret> reprotected, CancellationToken cancellationToken)
    {
        var stored = 0;
        if (_path is null)
        {
            return Task.FromResult(stored);
        }

        lock (_gate)
        {
            foreach (var secret in reprotected.Where(s => s.Item == FileName))
            {
                if (SecretFiles.Read(_path) == secret.Old)
                {
                    SecretFiles.Replace(_path, secret.New);
                    _keys = Load(out _);
                    stored++;
                }
            }
        }

        return Task.FromResult(stored);
    }

    private KeySet Keys()
    {
        var keys = Volatile.Read(ref _keys);
        if (keys is not null && (_path is null || _time.GetElapsedTime(Volatile.Read(ref _checkedAt)) < RereadInterval))
        {
            return keys;
        }

        Reread();
        Volatile.Write(ref _checkedAt, _time.GetTimestamp());
        return Volatile.Read(ref _keys)!;
    }

    /// <summary>The keys in the file; made first from the plain-text file of an earlier version, or new. Under <see cref="_gate"/>.</summary>
    private KeySet Load(out bool migrated)
    {
        migrated = false;
        if (SecretFiles.Read(_path!) is { } text)
        {
            return _keys is { } known && known.Stored == text ? known : Parse(text);
        }

        KeySet fresh;
        if (SecretFiles.Read(_plainPath!) is { } plain)
        {
            // Same key, so every link signed before the upgrade still plays.
            fresh = new KeySet(Encoding.UTF8.GetBytes(plain), [], null, default);
            migrated = true;
        }
        else
        {
            fresh = new KeySet(NewKey(), [], null, default);
        }

        var stored = Store(fresh, replace: false);
        if (migrated)
        {
            File.Delete(_plainPath!);
        }

        return stored;
    }

    /// <summary>Encrypts and writes the keys; when not replacing and another instance wrote first, theirs are read instead.</summary>
    private KeySet Store(KeySet keys, bool replace)
    {
        var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"current {Base64Url.EncodeToString(keys.Current)}\n");
        foreach (var previous in keys.Previous)
        {
            text.Append(CultureInfo.InvariantCulture, $"previous {Base64Url.EncodeToString(previous.Key)} {previous.Until!.Value.ToUnixTimeSeconds()}\n");
        }

        var sealedText = _secrets!.Protect(Name, text.ToString());
        if (replace)
        {
            SecretFiles.Replace(_path!, sealedText);
        }
        else if (!SecretFiles.TryCreate(_path!, sealedText))
        {
            return Parse(SecretFiles.Read(_path!)!);
        }

        return keys with { Stored = sealedText, Written = File.GetLastWriteTimeUtc(_path!) };
    }

    private KeySet Parse(string sealedText)
    {
        var read = _secrets!.Unprotect(Name, sealedText);
        if (!read.Succeeded)
        {
            throw new SecretKeyRingException($"The file-URL signing keys in {_path} cannot be decrypted: {read.Reason}. Restore the key ring they were encrypted with (REELAY_SECRETS_KEY_RING), or delete {_path} to start over with a new signing key (links handed out so far stop working).");
        }

        byte[]? current = null;
        var previous = new List<PreviousKey>();
        foreach (var line in read.Value!.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split(' ');
            if (parts is ["current", var key])
            {
                current = Base64Url.DecodeFromChars(key);
            }
            else if (parts is ["previous", var old, var until] && long.TryParse(until, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            {
                previous.Add(new PreviousKey(Base64Url.DecodeFromChars(old), DateTimeOffset.FromUnixTimeSeconds(seconds)));
            }
        }

        return current is null
            ? throw new SecretKeyRingException($"The file-URL signing keys in {_path} hold no current key: delete {_path} to start over with a new signing key (links handed out so far stop working).")
            : new KeySet(current, previous, sealedText, File.GetLastWriteTimeUtc(_path!));
    }

    private static KeySet Configured(FileLinkOptions options) =>
        new(Encoding.UTF8.GetBytes(options.SigningKey!),
            string.IsNullOrWhiteSpace(options.SigningKeyPrevious) ? [] : [new PreviousKey(Encoding.UTF8.GetBytes(options.SigningKeyPrevious), null)],
            null, default);

    /// <summary>As earlier versions made it: 32 random bytes as hex, whose UTF-8 bytes are the HMAC key.</summary>
    private static byte[] NewKey() => Encoding.UTF8.GetBytes(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)));

    [LoggerMessage(Level = LogLevel.Information, Message = "New file-URL signing key; links signed with the previous one stay valid until {Until:O}")]
    private static partial void LogRotated(ILogger logger, DateTimeOffset until);

    /// <summary>The keys, as stored (<paramref name="Stored"/>, written at <paramref name="Written"/>) when from the file.</summary>
    private sealed record KeySet(byte[] Current, IReadOnlyList<PreviousKey> Previous, string? Stored, DateTime Written);

    /// <summary>A key that verifies until <paramref name="Until"/> (null: while configured).</summary>
    private sealed record PreviousKey(byte[] Key, DateTimeOffset? Until);
}
