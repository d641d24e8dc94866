using Microsoft.Extensions.Options;

namespace Reelay.Secrets;

/// <summary>Where the key ring that encrypts stored secrets lives and what protects it; read from <c>REELAY_SECRETS_KEY_RING</c> and <c>REELAY_SECRETS_KEY</c>.</summary>
public sealed class SecretsOptions
{
    /// <summary>Shortest <see cref="SecretsKey"/> accepted: 32 characters carry at least 128 bits even as hex.</summary>
    public const int MinSecretsKeyLength = 32;

    /// <summary>
    /// Directory of the Data Protection key ring. Empty: <c>&lt;data&gt;/keys</c>. Instances that share a
    /// database share this directory too (a shared volume), or they cannot read each other's secrets.
    /// </summary>
    [Microsoft.Extensions.Configuration.ConfigurationKeyName("SECRETS_KEY_RING")]
    public string? KeyRing { get; set; }

    /// <summary>
    /// When set, every key of the ring is itself encrypted with it (AES-256-GCM), so a copy of the ring
    /// directory opens nothing without it. Keep it outside the data directory (a secret manager, the
    /// service's environment). Empty: the ring's keys are protected by file modes only.
    /// </summary>
    [Microsoft.Extensions.Configuration.ConfigurationKeyName("SECRETS_KEY")]
    public string? SecretsKey { get; set; }
}

/// <summary>A <c>SECRETS_KEY</c> too short to be a key stops startup (its value is never repeated).</summary>
internal sealed class SecretsOptionsValidator : IValidateOptions<SecretsOptions>
{
    public ValidateOptionsResult Validate(string? name, SecretsOptions options) =>
        !string.IsNullOrEmpty(options.SecretsKey) && options.SecretsKey.Trim().Length < SecretsOptions.MinSecretsKeyLength
            ? ValidateOptionsResult.Fail($"SECRETS_KEY must be at least {SecretsOptions.MinSecretsKeyLength} characters (openssl rand -base64 32 makes one), or empty to protect the key ring by file modes only.")
            : ValidateOptionsResult.Success;
}
