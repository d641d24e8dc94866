namespace Reelay.Secrets;

/// <summary>
/// Every kind of stored secret, by name. The name is the Data Protection purpose its values are
/// encrypted under — so a ciphertext copied into another column does not decrypt there — and the name
/// that logs, readiness, the admin API and the rotation answer use for it. A new kind of secret gets
/// its name here, and its store implements <see cref="ISecretHolder"/>.
/// </summary>
public static class SecretPurposes
{
    /// <summary>Upstream API keys of the channels created through the admin API.</summary>
    public const string ChannelApiKey = "channels.api_key";

    /// <summary>The keys that sign file URLs, kept in the data directory when <c>SIGNING_KEY</c> is not set.</summary>
    public const string FileSigningKeys = "files.signing_keys";

    /// <summary>The accounts' webhook signing secrets (<c>whsec_…</c>), current and previous.</summary>
    public const string WebhookSigningSecrets = "webhooks.signing_secrets";
}
