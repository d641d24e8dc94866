namespace Reelay.Secrets;

/// <summary>
/// Brings the stored secrets up to date before anything reads them; run by the storage backend right
/// after its schema migrations. It opens the key ring (a <c>SECRETS_KEY</c> that does not open it stops
/// startup), stops startup when secrets are stored but the ring holds none of their keys (a missing or
/// wrong <c>SECRETS_KEY_RING</c>: going on would ignore them, or encrypt new ones under a ring nobody
/// else has), then encrypts what an earlier version kept in plain text.
/// </summary>
public sealed partial class SecretsStartup(SecretKeyRing ring, IEnumerable<ISecretHolder> holders, ILogger<SecretsStartup> logger)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        ring.Open();

        // Judged by the key ids the values name, without decrypting anything: decrypting would make
        // Data Protection write a first key into an empty (wrong) directory.
        var inRing = ring.Keys().Select(key => key.KeyId).ToHashSet();
        var stored = new List<(string Kind, Guid? KeyId)>();
        foreach (var holder in holders)
        {
            stored.AddRange((await holder.ReadProtectedAsync(cancellationToken)).Select(secret => (holder.Name, SecretProtector.KeyIdOf(secret.Protected))));
        }

        // Only when the ring holds the key of none of them: a ring that holds some is the right one, and
        // a value it cannot read disables what it belongs to (its holder reports it when reading it).
        if (stored.Count > 0 && stored.All(secret => secret.KeyId is { } keyId && !inRing.Contains(keyId)))
        {
            var keys = stored.Select(secret => secret.KeyId!.Value).Distinct().Order().ToList();
            throw new SecretKeyRingException(
                $"None of the {stored.Count} stored secrets ({string.Join(", ", stored.Select(secret => secret.Kind).Distinct().Order(StringComparer.Ordinal))}) can be decrypted: "
                + $"they were encrypted with {(keys.Count == 1 ? "key" : "keys")} {string.Join(", ", keys)}, which the key ring at {ring.Location} does not hold. "
                + "Point REELAY_SECRETS_KEY_RING at the key ring they were written with (restore it from its backup; it is backed up apart from the database).");
        }

        foreach (var holder in holders)
        {
            var encrypted = await holder.ProtectPlainTextAsync(cancellationToken);
            if (encrypted > 0)
            {
                LogEncryptedPlainText(logger, encrypted, holder.Name, ring.Location);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Encrypted {Count} secrets ({Holder}) that an earlier version stored in plain text; the key ring is {Location}")]
    private static partial void LogEncryptedPlainText(ILogger logger, int count, string holder, string location);
}
