namespace Reelay.Secrets;

/// <summary>
/// A place that keeps encrypted secrets (a table, a file), as the startup check and rotation see it:
/// registered with <c>TryAddEnumerable</c> by the concern that owns it. It stores only what
/// <see cref="SecretProtector.Protect"/> returns and reads with <see cref="SecretProtector.Unprotect"/>.
/// </summary>
public interface ISecretHolder
{
    /// <summary>The kind of secret it holds (a <see cref="SecretPurposes"/> name), also its purpose.</summary>
    string Name { get; }

    /// <summary>
    /// Encrypts what an earlier version kept in plain text, in one transaction, leaving no plain copy
    /// behind; how many it encrypted. Called at startup once the key ring is known to be the right one,
    /// and before a rotation.
    /// </summary>
    Task<int> ProtectPlainTextAsync(CancellationToken cancellationToken);

    /// <summary>Every encrypted value it holds, by item (a channel's name, a file's name).</summary>
    Task<IReadOnlyList<StoredSecret>> ReadProtectedAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Stores re-encrypted values, each only where the item still holds the value it replaces (a
    /// secret changed meanwhile is left as written), in one transaction; how many it stored.
    /// </summary>
    Task<int> ReplaceProtectedAsync(IReadOnlyList<ReprotectedSecret> reprotected, CancellationToken cancellationToken);
}

/// <summary>An encrypted value as stored, and what it belongs to.</summary>
public sealed record StoredSecret(string Item, string Protected);

/// <summary>A stored value and the one that replaces it (the same secret under the current key).</summary>
public sealed record ReprotectedSecret(string Item, string Old, string New);
