namespace Reelay.Secrets;

/// <summary>
/// Brings the stored secrets up to date before anything reads them; run by the storage backend right
/// after its schema migrations. It opens the key ring (a <c>SECRETS_KEY</c> that does not open it stops
/// startup), stops startup when secrets are stored but the ring holds none of their keys (a missing or
/// wrong <c>SECRETS_KEY_RING</c>: going on would ignore them, or encrypt new ones under a ring nobody
/// else has), then encrypts what an earlier version kept in plain text.
/// </summary>
public sealed partial class SecretsStartup(SecretKeyRing ring, SecretProtector protector, IEnumerable<ISecretHolder> holders, ILogger<SecretsStartup> logger)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        ring.Open();

        var stored = 0;
        var missing = 0;
        var missingKeys = new SortedSet<Guid>();
        var kinds = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var holder in holders)
        {
            foreach (var secret in await holder.ReadProtectedAsync(cancellationToken))
            {
                stored++;
                kinds.Add(holder.Name);
                var read = protector.Unprotect(holder.Name, secret.Protected);
                if (read.Failure == SecretFailure.KeyNotInRing)
                {
                    missing++;
                    missingKeys.Add(read.KeyId!.Value);
                }
            }
        }

        // Only when the ring holds the key of none of them: a ring that reads some secrets is the right
        // one, and a value it cannot read disables what it belongs to (its holder reports it) instead.
        if (stored > 0 && missing == stored)
        {
            throw new SecretKeyRingException(
                $"None of the {stored} stored secrets ({string.Join(", ", kinds)}) can be decrypted: they were encrypted with "
                + $"{(missingKeys.Count == 1 ? "key " : "keys ")}{string.Join(", ", missingKeys)}, which the key ring at {ring.Location} does not hold. "
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
