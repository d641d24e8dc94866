using System.Collections.Concurrent;
using System.Globalization;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.KeyManagement.Internal;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.Extensions.Options;
using Reelay.Hosting;

namespace Reelay.Secrets;

/// <summary>
/// The ASP.NET Core Data Protection key ring that encrypts stored secrets: a directory of XML keys
/// (<c>SECRETS_KEY_RING</c>, default <c>&lt;data&gt;/keys</c>; the directory 0700, its files 0600), each
/// key sealed with <c>SECRETS_KEY</c> when that is set.
/// <para>
/// Data Protection runs in a service container of its own, built again whenever the directory
/// changes, instead of in the app's. Its key ring cache would otherwise keep a key another instance
/// added out of sight for up to a day (this instance could not read what that one wrote), and a key
/// made here would reach the cache only on a later call; with a fresh container a rotation is in force
/// as soon as it returns. The directory is looked at every <see cref="RecheckInterval"/> and whenever a
/// value names a key the ring does not hold.
/// </para>
/// </summary>
public sealed partial class SecretKeyRing : IDisposable
{
    /// <summary>How often the directory is looked at for keys another instance added or retired.</summary>
    public static readonly TimeSpan RecheckInterval = TimeSpan.FromSeconds(10);

    /// <summary>The application name every instance gives Data Protection: by default it is the content root, which differs between hosts.</summary>
    private const string ApplicationName = "Reelay";

    private const UnixFileMode OpenToOthers = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    private readonly Lock _gate = new();
    private readonly List<ServiceProvider> _containers = [];
    private readonly ILoggerFactory _loggers;
    private readonly ILogger<SecretKeyRing> _logger;
    private readonly TimeProvider _time;
    private readonly SecretsMasterKey? _masterKey;
    private Ring? _ring;

    public SecretKeyRing(IOptions<SecretsOptions> options, DataDirectory data, ILoggerFactory loggers, TimeProvider time)
    {
        var configured = options.Value.KeyRing;
        Location = string.IsNullOrWhiteSpace(configured) ? Path.Combine(data.Root, "keys") : Path.GetFullPath(configured.Trim());
        _masterKey = string.IsNullOrWhiteSpace(options.Value.SecretsKey) ? null : new SecretsMasterKey(options.Value.SecretsKey);
        _loggers = loggers;
        _logger = loggers.CreateLogger<SecretKeyRing>();
        _time = time;
    }

    /// <summary>The key ring directory.</summary>
    public string Location { get; }

    /// <summary>Whether new keys are sealed with <c>SECRETS_KEY</c>.</summary>
    public bool SealedWithSecretsKey => _masterKey is not null;

    /// <summary>
    /// Reads the ring at startup, before any secret is read or written: throws
    /// <see cref="SecretKeyRingException"/> naming the setting to fix when <c>SECRETS_KEY</c> is missing
    /// or does not open a key, and warns about keys it does not seal.
    /// </summary>
    public void Open()
    {
        var ring = Current();
        if (_masterKey is not null && ring.UnsealedKeys > 0)
        {
            LogUnsealedKeys(_logger, ring.UnsealedKeys, Location);
        }
    }

    /// <summary>Every key in the ring, read from the directory now.</summary>
    public IReadOnlyList<IKey> Keys() => [.. Current().Keys.GetAllKeys()];

    /// <summary>The key that encrypts new values (made first when the ring is empty).</summary>
    public Guid CurrentKeyId()
    {
        var probe = Current().Protector("Reelay.KeyProbe").Protect([]);
        return KeyIdOf(probe) ?? throw new InvalidOperationException("Data Protection wrote a value without its key id.");
    }

    /// <summary>Makes a new key that encrypts from now on; the older keys stay and still decrypt.</summary>
    public IKey CreateKey()
    {
        var ring = Current();
        lock (_gate)
        {
            // Data Protection judges activation by the system clock, so the new key's dates follow it too.
            var now = DateTimeOffset.UtcNow;
            var key = ring.Keys.CreateNewKey(activationDate: now, expirationDate: now + ring.NewKeyLifetime);
            RebuildLocked(Volatile.Read(ref _ring), Fingerprint());
            LogKeyCreated(_logger, key.KeyId, Location);
            return key;
        }
    }

    /// <summary>
    /// Deletes a key from the ring — its file, and any revocation of it — so that whatever it encrypted
    /// can never be decrypted again. False when there is no such key. (Data Protection can only revoke
    /// a key, which leaves the key material in the ring.)
    /// </summary>
    public bool DeleteKey(Guid keyId)
    {
        lock (_gate)
        {
            var id = keyId.ToString("D");
            var found = false;
            foreach (var file in Directory.Exists(Location) ? Directory.GetFiles(Location, "*.xml") : [])
            {
                var root = XElement.Load(file);
                var named = root.Name == "key" ? (string?)root.Attribute("id") : (string?)root.Element("key")?.Attribute("id");
                if ((root.Name == "key" || root.Name == "revocation") && string.Equals(named, id, StringComparison.OrdinalIgnoreCase))
                {
                    found |= root.Name == "key";
                    File.Delete(file);
                }
            }

            RebuildLocked(Volatile.Read(ref _ring), Fingerprint());
            if (found)
            {
                LogKeyDeleted(_logger, keyId, Location);
            }

            return found;
        }
    }

    /// <summary>The key id Data Protection wrote at the head of a protected value, or null when it is not one.</summary>
    internal static Guid? KeyIdOf(ReadOnlySpan<byte> protectedBytes) =>
        // Data Protection's payload format: a 4-byte magic header 09 F0 C9 F0, then the 16-byte key id.
        protectedBytes.Length >= 20 && protectedBytes[0] == 0x09 && protectedBytes[1] == 0xF0 && protectedBytes[2] == 0xC9 && protectedBytes[3] == 0xF0
            ? new Guid(protectedBytes.Slice(4, 16))
            : null;

    /// <summary>The ring in use, looked at again when <see cref="RecheckInterval"/> has passed.</summary>
    internal Ring Current()
    {
        var ring = Volatile.Read(ref _ring);
        return ring is not null && _time.GetElapsedTime(ring.CheckedAt) < RecheckInterval ? ring : Refresh();
    }

    /// <summary>Looks at the directory now and builds the ring again if it changed since it was built.</summary>
    internal Ring Refresh()
    {
        lock (_gate)
        {
            EnsureOwnerOnly();
            var ring = Volatile.Read(ref _ring);
            var fingerprint = Fingerprint();
            if (ring is not null && fingerprint == ring.Fingerprint)
            {
                ring.Checked(_time.GetTimestamp());
                return ring;
            }

            return RebuildLocked(ring, fingerprint);
        }
    }

    private Ring RebuildLocked(Ring? old, string fingerprint)
    {
        try
        {
            var unsealed = CheckSeals();
            var container = BuildContainer();
            _containers.Add(container);
            var ring = new Ring(container, fingerprint, _time.GetTimestamp(), unsealed);
            Volatile.Write(ref _ring, ring);
            return ring;
        }
        catch (SecretKeyRingException e) when (old is not null)
        {
            // Another instance changed the ring in a way this one cannot follow (a key sealed with
            // another SECRETS_KEY): the keys read before keep working; looked at again later.
            LogRefreshFailed(_logger, Location, e.Message);
            old.Checked(_time.GetTimestamp());
            return old;
        }
    }

    private ServiceProvider BuildContainer()
    {
        var services = new ServiceCollection();
        services.AddSingleton(_loggers);
        services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        // Before AddDataProtection, whose own resolver is registered with TryAdd.
        services.AddSingleton<IDefaultKeyResolver, NewestKeyResolver>();
        if (_masterKey is not null)
        {
            services.AddSingleton(_masterKey);
        }

        services.AddDataProtection()
            .SetApplicationName(ApplicationName)
            .PersistKeysToFileSystem(new DirectoryInfo(Location));
        // Unsealed keys on purpose when no SECRETS_KEY is set (README, Secrets): NullXmlEncryptor says so
        // in each key file instead of Data Protection warning about it on every new key.
        services.Configure<KeyManagementOptions>(options =>
            options.XmlEncryptor = _masterKey is null ? new NullXmlEncryptor() : new MasterKeyXmlEncryptor(_masterKey));
        return services.BuildServiceProvider();
    }

    /// <summary>Checks that <c>SECRETS_KEY</c> opens every sealed key, before Data Protection reads them (it would skip such a key and make a new one); how many keys are not sealed.</summary>
    private int CheckSeals()
    {
        if (!Directory.Exists(Location))
        {
            return 0;
        }

        var unsealed = 0;
        foreach (var file in Directory.EnumerateFiles(Location, "*.xml"))
        {
            XElement root;
            try
            {
                root = XElement.Load(file);
            }
            catch (System.Xml.XmlException)
            {
                throw new SecretKeyRingException($"{file} in the key ring (REELAY_SECRETS_KEY_RING) is not a key file: restore it from the key ring's backup, or remove it.");
            }

            if (root.Name != "key")
            {
                continue;
            }

            var sealedElement = root.Descendants(SecretsMasterKey.ElementName).FirstOrDefault();
            if (sealedElement is null)
            {
                unsealed++;
            }
            else if (_masterKey is null)
            {
                throw new SecretKeyRingException($"The key ring at {Location} is encrypted with REELAY_SECRETS_KEY, which is not set: set it to the value the ring was made with.");
            }
            else if (_masterKey.Open(sealedElement) is null)
            {
                throw new SecretKeyRingException($"REELAY_SECRETS_KEY does not open the key ring at {Location} ({Path.GetFileName(file)}): set it to the value the ring was made with, or point REELAY_SECRETS_KEY_RING at the ring made with this one.");
            }
        }

        return unsealed;
    }

    /// <summary>The directory's key files by name, size and time: changes when a key is added, revoked or deleted.</summary>
    private string Fingerprint() =>
        Directory.Exists(Location)
            ? string.Join('|', new DirectoryInfo(Location).EnumerateFiles("*.xml")
                .OrderBy(file => file.Name, StringComparer.Ordinal)
                .Select(file => string.Create(CultureInfo.InvariantCulture, $"{file.Name}:{file.Length}:{file.LastWriteTimeUtc.Ticks}")))
            : "";

    /// <summary>Creates the directory 0700, and takes back what a restore or a copy opened to other users.</summary>
    private void EnsureOwnerOnly()
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(Location);
            return;
        }

        if (!Directory.Exists(Location))
        {
            Directory.CreateDirectory(Location, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            return;
        }

        foreach (var path in Directory.EnumerateFiles(Location, "*.xml").Prepend(Location))
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & OpenToOthers) == 0)
            {
                continue;
            }

            try
            {
                File.SetUnixFileMode(path, mode & ~OpenToOthers);
                LogModeNarrowed(_logger, path);
            }
            catch (UnauthorizedAccessException)
            {
                LogModeOpen(_logger, path);
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var container in _containers)
            {
                container.Dispose();
            }

            _containers.Clear();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} keys in the key ring at {Location} are not encrypted with REELAY_SECRETS_KEY (they were made before it was set): rotate the secrets (POST /admin/secrets/rotate), then retire those keys")]
    private static partial void LogUnsealedKeys(ILogger logger, int count, string location);

    [LoggerMessage(Level = LogLevel.Error, Message = "The key ring at {Location} changed but cannot be read again: {Reason} The keys read before stay in use")]
    private static partial void LogRefreshFailed(ILogger logger, string location, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "New secrets key {KeyId} in {Location} encrypts from now on; older keys still decrypt")]
    private static partial void LogKeyCreated(ILogger logger, Guid keyId, string location);

    [LoggerMessage(Level = LogLevel.Information, Message = "Secrets key {KeyId} deleted from {Location}: what it encrypted can no longer be decrypted")]
    private static partial void LogKeyDeleted(ILogger logger, Guid keyId, string location);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Path} was open to other users; it is owner-only now")]
    private static partial void LogModeNarrowed(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Path} is open to other users and this process cannot change its mode: make it owner-only (chmod go-rwx)")]
    private static partial void LogModeOpen(ILogger logger, string path);

    /// <summary>One build of Data Protection over the directory as it was.</summary>
    internal sealed class Ring
    {
        private readonly IDataProtectionProvider _provider;
        private readonly ConcurrentDictionary<string, IDataProtector> _protectors = new(StringComparer.Ordinal);
        private long _checkedAt;

        public Ring(ServiceProvider services, string fingerprint, long checkedAt, int unsealedKeys)
        {
            _provider = services.GetRequiredService<IDataProtectionProvider>();
            Keys = services.GetRequiredService<IKeyManager>();
            NewKeyLifetime = services.GetRequiredService<IOptions<KeyManagementOptions>>().Value.NewKeyLifetime;
            Fingerprint = fingerprint;
            UnsealedKeys = unsealedKeys;
            _checkedAt = checkedAt;
        }

        public IKeyManager Keys { get; }

        public TimeSpan NewKeyLifetime { get; }

        public string Fingerprint { get; }

        public int UnsealedKeys { get; }

        public long CheckedAt => Volatile.Read(ref _checkedAt);

        public void Checked(long at) => Volatile.Write(ref _checkedAt, at);

        /// <summary>The protector of one kind of secret, under Reelay's own root purpose.</summary>
        public IDataProtector Protector(string purpose) =>
            _protectors.GetOrAdd(purpose, static (name, provider) => provider.CreateProtector("Reelay.Secrets").CreateProtector(name), _provider);
    }
}
