using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Reelay.Blobs;
using Reelay.Blobs.LocalDisk;
using Reelay.Hosting;
using Reelay.Secrets;

namespace Reelay.Tests.Secrets;

/// <summary>Rotation and retirement over a real holder (the file-URL signing keys in a data directory).</summary>
public sealed class SecretRotationTests : IDisposable
{
    private readonly ScratchDirectory _data = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly SecretKeyRing _ring;
    private readonly SecretProtector _protector;
    private readonly FileSigningKeys _signingKeys;
    private readonly SecretRotation _rotation;

    public SecretRotationTests()
    {
        var data = new DataDirectory(Options.Create(new DataDirectoryOptions { DataDir = _data.Path }));
        _ring = new SecretKeyRing(Options.Create(new SecretsOptions()), data, NullLoggerFactory.Instance, _time);
        _protector = new SecretProtector(_ring);
        _signingKeys = new FileSigningKeys(Options.Create(new FileLinkOptions()), data, _protector, _time, NullLogger<FileSigningKeys>.Instance);
        _rotation = new SecretRotation(_ring, _protector, [_signingKeys], new UnreadableSecrets(NullLogger<UnreadableSecrets>.Instance), _time, NullLogger<SecretRotation>.Instance);
    }

    public void Dispose()
    {
        _rotation.Dispose();
        _ring.Dispose();
        _data.Dispose();
    }

    private async Task<Guid> StoredKeyAsync() =>
        SecretProtector.KeyIdOf(Assert.Single(await _signingKeys.ReadProtectedAsync(TestContext.Current.CancellationToken)).Protected)!.Value;

    [Fact]
    public async Task Rotate_EveryStoredSecretEncryptedAgainUnderTheNewKey()
    {
        var ct = TestContext.Current.CancellationToken;
        await _signingKeys.ProtectPlainTextAsync(ct);
        var before = await StoredKeyAsync();

        var result = await _rotation.RotateAsync(ct);

        Assert.NotEqual(before, result.KeyId);
        Assert.Equal(result.KeyId, await StoredKeyAsync());
        Assert.Equal(1, result.Reencrypted[SecretPurposes.FileSigningKeys]);
        Assert.Empty(result.Unreadable);
        Assert.Equal([before], result.UnusedKeyIds);
        var status = await _rotation.StatusAsync(ct);
        Assert.Equal(result.KeyId, status.CurrentKeyId);
        Assert.Equal(0, Assert.Single(status.Keys, k => k.Id == before).InUse);
        Assert.Equal(1, Assert.Single(status.Keys, k => k.Id == result.KeyId).InUse);
    }

    [Fact]
    public async Task Retire_OlderUnusedKey_DeletedOnlyOnceEveryInstanceCanHaveSeenItsSuccessor()
    {
        var ct = TestContext.Current.CancellationToken;
        await _signingKeys.ProtectPlainTextAsync(ct);
        var old = await StoredKeyAsync();
        var current = (await _rotation.RotateAsync(ct)).KeyId;

        var tooSoon = await _rotation.RetireAsync(old, ct);
        _time.Advance(SecretRotation.RetireAfter + TimeSpan.FromSeconds(5));
        var isCurrent = await _rotation.RetireAsync(current, ct);
        var retired = await _rotation.RetireAsync(old, ct);
        var again = await _rotation.RetireAsync(old, ct);

        Assert.Equal(KeyRetirementOutcome.TooSoon, tooSoon.Outcome);
        Assert.True(tooSoon.Wait > TimeSpan.Zero);
        Assert.Equal(KeyRetirementOutcome.Current, isCurrent.Outcome);
        Assert.Equal(KeyRetirementOutcome.Retired, retired.Outcome);
        Assert.Equal(KeyRetirementOutcome.NotFound, again.Outcome);
        Assert.Equal([current], _ring.Keys().Select(k => k.KeyId));
        // What is stored was re-encrypted by the rotation, so it reads without the retired key.
        var reread = new FileSigningKeys(Options.Create(new FileLinkOptions()), new DataDirectory(Options.Create(new DataDirectoryOptions { DataDir = _data.Path })),
            _protector, _time, NullLogger<FileSigningKeys>.Instance);
        Assert.Equal(0, await reread.ProtectPlainTextAsync(ct));
    }

    [Fact]
    public async Task Retire_KeyStoredSecretsStillUse_Refused()
    {
        var ct = TestContext.Current.CancellationToken;
        await _signingKeys.ProtectPlainTextAsync(ct);
        var old = await StoredKeyAsync();
        // A new key without the re-encryption a rotation does: the signing keys stay under the old one.
        _ring.CreateKey();
        _time.Advance(SecretRotation.RetireAfter + TimeSpan.FromSeconds(5));

        var refused = await _rotation.RetireAsync(old, ct);

        Assert.Equal(KeyRetirementOutcome.InUse, refused.Outcome);
        Assert.Equal(1, refused.InUse);
        Assert.Contains(_ring.Keys(), k => k.KeyId == old);
    }
}
