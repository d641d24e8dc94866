using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Reelay.Hosting;
using Reelay.Secrets;

namespace Reelay.Tests.Secrets;

/// <summary>The key ring and the protector every store uses: what is written, what reads back, and why not.</summary>
public sealed class SecretProtectorTests : IDisposable
{
    private const string Purpose = SecretPurposes.ChannelApiKey;
    private const string Secret = "xai-3b1f0c-upstream-secret";
    private const string SecretsKey = "0123456789abcdef0123456789abcdef-secrets-key";

    private readonly ScratchDirectory _data = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly List<SecretKeyRing> _rings = [];

    public void Dispose()
    {
        foreach (var ring in _rings)
        {
            ring.Dispose();
        }

        _data.Dispose();
    }

    private string RingDirectory => _data.File("keys");

    private SecretKeyRing NewRing(string? secretsKey = null, string? location = null)
    {
        var ring = new SecretKeyRing(
            Options.Create(new SecretsOptions { KeyRing = location, SecretsKey = secretsKey }),
            new DataDirectory(Options.Create(new DataDirectoryOptions { DataDir = _data.Path })),
            NullLoggerFactory.Instance,
            _time);
        _rings.Add(ring);
        return ring;
    }

    [Fact]
    public void Protect_Secret_ReadsBackAndKeepsNoTraceOfIt()
    {
        var protector = new SecretProtector(NewRing());

        var first = protector.Protect(Purpose, Secret);
        var second = protector.Protect(Purpose, Secret);

        Assert.DoesNotContain(Secret, first, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes(Secret)), first, StringComparison.Ordinal);
        Assert.NotEqual(first, second);
        Assert.Equal(Secret, protector.Unprotect(Purpose, first).Value);
        Assert.Equal(Secret, protector.Unprotect(Purpose, second).Value);
    }

    [Fact]
    public void Unprotect_ValueOfAnotherKindOfSecret_DamagedAndNoValue()
    {
        var protector = new SecretProtector(NewRing());
        var stored = protector.Protect(SecretPurposes.FileSigningKeys, Secret);

        var read = protector.Unprotect(Purpose, stored);

        Assert.Equal(SecretFailure.Damaged, read.Failure);
        Assert.Null(read.Value);
    }

    [Theory]
    [InlineData("middle")]
    [InlineData("plain")]
    [InlineData("truncated")]
    public void Unprotect_AlteredValue_DamagedWithAReasonThatHoldsNoSecret(string alteration)
    {
        var protector = new SecretProtector(NewRing());
        var stored = protector.Protect(Purpose, Secret);
        var middle = stored.Length / 2;
        var altered = alteration switch
        {
            "middle" => stored[..middle] + (stored[middle] == 'A' ? 'B' : 'A') + stored[(middle + 1)..],
            "plain" => Secret,
            _ => stored[..30],
        };

        var read = protector.Unprotect(Purpose, altered);

        Assert.Equal(SecretFailure.Damaged, read.Failure);
        Assert.Contains("altered or damaged", read.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, read.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void CreateKey_NewValuesUseIt_OlderValuesStillRead()
    {
        var ring = NewRing();
        var protector = new SecretProtector(ring);
        var before = protector.Protect(Purpose, "old-secret");
        var firstKey = SecretProtector.KeyIdOf(before);

        var created = ring.CreateKey();
        var after = protector.Protect(Purpose, "new-secret");

        Assert.NotEqual(firstKey, created.KeyId);
        Assert.Equal(created.KeyId, SecretProtector.KeyIdOf(after));
        Assert.Equal(created.KeyId, ring.CurrentKeyId());
        Assert.Equal("old-secret", protector.Unprotect(Purpose, before).Value);
        Assert.Equal("new-secret", protector.Unprotect(Purpose, after).Value);
    }

    [Fact]
    public void KeyRing_OnDisk_OwnerOnlyAndOpenedModesTakenBack()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("Unix file modes");
            return;
        }

        var protector = new SecretProtector(NewRing());
        protector.Protect(Purpose, Secret);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(RingDirectory));
        var keyFile = Assert.Single(Directory.GetFiles(RingDirectory, "*.xml"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));

        // As a careless restore leaves them: the next instance over the ring closes them again.
        File.SetUnixFileMode(RingDirectory, (UnixFileMode)0b111_101_101);
        File.SetUnixFileMode(keyFile, (UnixFileMode)0b110_100_100);
        NewRing().Open();

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(RingDirectory));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
    }

    [Fact]
    public void AnotherInstanceRotates_ThisOneReadsItsValuesAtOnceAndEncryptsWithItsKeyAfterTheRecheck()
    {
        var here = new SecretProtector(NewRing());
        var firstKey = SecretProtector.KeyIdOf(here.Protect(Purpose, Secret));
        var there = NewRing();

        var secondKey = there.CreateKey().KeyId;
        var written = new SecretProtector(there).Protect(Purpose, "written-there");

        // Long before its recheck is due: the key it does not know makes it look at the ring now.
        Assert.NotEqual(firstKey, secondKey);
        Assert.Equal(secondKey, SecretProtector.KeyIdOf(written));
        Assert.Equal("written-there", here.Unprotect(Purpose, written).Value);

        // What it encrypts follows the other instance's rotation at the next recheck.
        var thirdKey = there.CreateKey().KeyId;
        Assert.Equal(secondKey, SecretProtector.KeyIdOf(here.Protect(Purpose, Secret)));
        _time.Advance(SecretKeyRing.RecheckInterval);
        Assert.Equal(thirdKey, SecretProtector.KeyIdOf(here.Protect(Purpose, Secret)));
    }

    [Fact]
    public void DeleteKey_ValuesItEncrypted_KeyNotInRingNamingTheSetting()
    {
        var ring = NewRing();
        var protector = new SecretProtector(ring);
        var stored = protector.Protect(Purpose, Secret);
        var retired = SecretProtector.KeyIdOf(stored)!.Value;
        ring.CreateKey();

        Assert.True(ring.DeleteKey(retired));
        var read = protector.Unprotect(Purpose, stored);

        Assert.Equal(SecretFailure.KeyNotInRing, read.Failure);
        Assert.Equal(retired, read.KeyId);
        Assert.Contains("REELAY_SECRETS_KEY_RING", read.Reason, StringComparison.Ordinal);
        Assert.Contains(retired.ToString(), read.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(ring.Keys(), key => key.KeyId == retired);
        Assert.False(ring.DeleteKey(retired));
    }

    [Fact]
    public void SecretsKey_Set_KeysSealedAndReadableOnlyWithIt()
    {
        var protector = new SecretProtector(NewRing(SecretsKey));
        var stored = protector.Protect(Purpose, Secret);

        var xml = File.ReadAllText(Assert.Single(Directory.GetFiles(RingDirectory, "*.xml")));
        Assert.Contains("<sealedKey", xml, StringComparison.Ordinal);
        Assert.DoesNotContain("<masterKey", xml, StringComparison.Ordinal);
        Assert.Equal(Secret, new SecretProtector(NewRing(SecretsKey)).Unprotect(Purpose, stored).Value);

        var missing = Assert.Throws<SecretKeyRingException>(() => NewRing().Open());
        Assert.Contains("REELAY_SECRETS_KEY, which is not set", missing.Message, StringComparison.Ordinal);
        var wrong = Assert.Throws<SecretKeyRingException>(() => NewRing(SecretsKey + "-another").Open());
        Assert.Contains("REELAY_SECRETS_KEY does not open the key ring", wrong.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(SecretsKey, wrong.Message, StringComparison.Ordinal);
        // Nothing was written under the wrong key.
        Assert.Single(Directory.GetFiles(RingDirectory, "*.xml"));
    }

    [Fact]
    public void SecretsKeySetLater_OlderKeysStillRead_NewKeysSealed()
    {
        var unsealed = new SecretProtector(NewRing());
        var stored = unsealed.Protect(Purpose, Secret);

        var ring = NewRing(SecretsKey);
        ring.Open();
        ring.CreateKey();

        Assert.Equal(Secret, new SecretProtector(ring).Unprotect(Purpose, stored).Value);
        Assert.Single(Directory.GetFiles(RingDirectory, "*.xml"), file => File.ReadAllText(file).Contains("<sealedKey", StringComparison.Ordinal));
    }
}
