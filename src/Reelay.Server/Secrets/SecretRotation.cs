namespace Reelay.Secrets;

/// <summary>
/// Rotation of the secrets key: a new key encrypts from now on, every stored secret is encrypted again
/// under it, and an older key that no stored secret uses any more may be retired (deleted from the
/// ring, so that old copies of the database encrypted with it open nothing even with the ring).
/// </summary>
public sealed partial class SecretRotation(
    SecretKeyRing ring,
    SecretProtector protector,
    IEnumerable<ISecretHolder> holders,
    UnreadableSecrets unreadable,
    TimeProvider time,
    ILogger<SecretRotation> logger) : IDisposable
{
    /// <summary>
    /// Another instance may encrypt with the key that was current until it next looks at the ring
    /// (<see cref="SecretKeyRing.RecheckInterval"/>): a key is retired no sooner than this after its
    /// successor was made, with room for a busy instance and clocks a little apart.
    /// </summary>
    public static readonly TimeSpan RetireAfter = TimeSpan.FromMinutes(1);

    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Makes a new key and encrypts every stored secret again under it.</summary>
    public async Task<SecretRotationResult> RotateAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var key = ring.CreateKey();
            var reencrypted = new Dictionary<string, int>(StringComparer.Ordinal);
            var failed = new List<UnreadableSecret>();
            foreach (var holder in holders)
            {
                await holder.ProtectPlainTextAsync(cancellationToken);
                var replacements = new List<ReprotectedSecret>();
                foreach (var secret in await holder.ReadProtectedAsync(cancellationToken))
                {
                    var read = protector.Unprotect(holder.Name, secret.Protected);
                    if (read.Succeeded)
                    {
                        replacements.Add(new ReprotectedSecret(secret.Item, secret.Protected, protector.Protect(holder.Name, read.Value!)));
                    }
                    else
                    {
                        failed.Add(new UnreadableSecret(holder.Name, secret.Item, read.Reason));
                    }
                }

                reencrypted[holder.Name] = replacements.Count == 0 ? 0 : await holder.ReplaceProtectedAsync(replacements, cancellationToken);
            }

            var usage = await UsageAsync(cancellationToken);
            var unused = ring.Keys().Where(k => k.KeyId != key.KeyId && usage.GetValueOrDefault(k.KeyId) == 0).OrderBy(k => k.CreationDate).Select(k => k.KeyId).ToList();
            var total = reencrypted.Values.Sum();
            LogRotated(logger, key.KeyId, total, failed.Count);
            return new SecretRotationResult(key.KeyId, reencrypted, failed, unused);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The ring's keys, which one encrypts, how many stored secrets each one encrypted, and the secrets that do not decrypt.</summary>
    public async Task<SecretsStatus> StatusAsync(CancellationToken cancellationToken)
    {
        var current = ring.CurrentKeyId();
        var usage = await UsageAsync(cancellationToken);
        var keys = ring.Keys()
            .OrderBy(k => k.CreationDate)
            .Select(k => new SecretKeyStatus(k.KeyId, k.CreationDate, k.ActivationDate, k.ExpirationDate, k.IsRevoked, k.KeyId == current, usage.GetValueOrDefault(k.KeyId)))
            .ToList();
        return new SecretsStatus(ring.Location, ring.SealedWithSecretsKey, current, keys, unreadable.All);
    }

    /// <summary>Deletes an older key that no stored secret uses; refuses the current key and one still in use.</summary>
    public async Task<KeyRetirement> RetireAsync(Guid keyId, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var keys = ring.Keys();
            if (keys.All(k => k.KeyId != keyId))
            {
                return new KeyRetirement(KeyRetirementOutcome.NotFound);
            }

            var current = ring.CurrentKeyId();
            if (current == keyId)
            {
                return new KeyRetirement(KeyRetirementOutcome.Current);
            }

            // Data Protection dates keys by the system clock, which is what the injected clock is outside tests.
            var since = time.GetUtcNow() - keys.First(k => k.KeyId == current).CreationDate;
            if (since < RetireAfter)
            {
                return new KeyRetirement(KeyRetirementOutcome.TooSoon, Wait: RetireAfter - since);
            }

            var inUse = (await UsageAsync(cancellationToken)).GetValueOrDefault(keyId);
            if (inUse > 0)
            {
                return new KeyRetirement(KeyRetirementOutcome.InUse, InUse: inUse);
            }

            return ring.DeleteKey(keyId) ? new KeyRetirement(KeyRetirementOutcome.Retired) : new KeyRetirement(KeyRetirementOutcome.NotFound);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stored secrets per key that encrypted them (read from each value's header, so unreadable ones count too).</summary>
    private async Task<Dictionary<Guid, int>> UsageAsync(CancellationToken cancellationToken)
    {
        var usage = new Dictionary<Guid, int>();
        foreach (var holder in holders)
        {
            foreach (var secret in await holder.ReadProtectedAsync(cancellationToken))
            {
                if (SecretProtector.KeyIdOf(secret.Protected) is { } keyId)
                {
                    usage[keyId] = usage.GetValueOrDefault(keyId) + 1;
                }
            }
        }

        return usage;
    }

    public void Dispose() => _gate.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "Secrets rotated to key {KeyId}: {Reencrypted} stored secrets encrypted again, {Unreadable} could not be decrypted")]
    private static partial void LogRotated(ILogger logger, Guid keyId, int reencrypted, int unreadable);
}

/// <summary>What a rotation did.</summary>
/// <param name="KeyId">The key that encrypts from now on.</param>
/// <param name="Reencrypted">Secrets encrypted again, per kind.</param>
/// <param name="Unreadable">Secrets that could not be decrypted, left as they were.</param>
/// <param name="UnusedKeyIds">Older keys no stored secret uses any more: they may be retired.</param>
public sealed record SecretRotationResult(Guid KeyId, IReadOnlyDictionary<string, int> Reencrypted, IReadOnlyList<UnreadableSecret> Unreadable, IReadOnlyList<Guid> UnusedKeyIds);

/// <summary>The key ring as the admin API shows it.</summary>
public sealed record SecretsStatus(string KeyRing, bool SealedWithSecretsKey, Guid CurrentKeyId, IReadOnlyList<SecretKeyStatus> Keys, IReadOnlyList<UnreadableSecret> Unreadable);

/// <summary>One key of the ring.</summary>
/// <param name="InUse">Stored secrets it encrypted.</param>
public sealed record SecretKeyStatus(Guid Id, DateTimeOffset CreatedAt, DateTimeOffset ActivatesAt, DateTimeOffset ExpiresAt, bool Revoked, bool Current, int InUse);

public enum KeyRetirementOutcome
{
    Retired,
    NotFound,

    /// <summary>It is the key that encrypts: rotate first.</summary>
    Current,

    /// <summary>Its successor is too new for every instance to have picked it up.</summary>
    TooSoon,

    /// <summary>Stored secrets are still encrypted with it: rotate first.</summary>
    InUse,
}

/// <summary>What retiring a key did, or why it did not.</summary>
public sealed record KeyRetirement(KeyRetirementOutcome Outcome, int InUse = 0, TimeSpan Wait = default);
