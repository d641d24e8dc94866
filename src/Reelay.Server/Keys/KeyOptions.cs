using Microsoft.Extensions.Options;
using Reelay.Hosting;
using Reelay.Secrets;

namespace Reelay.Keys;

/// <summary>The admin key; read from <c>REELAY_ADMIN_KEY</c>.</summary>
public sealed class KeyOptions
{
    /// <summary>File in the data directory holding the generated admin key.</summary>
    public const string AdminKeyFileName = "admin-key";

    /// <summary>The admin key. When empty, one is generated on first start and written to <c>&lt;data&gt;/admin-key</c> (mode 0600).</summary>
    [Microsoft.Extensions.Configuration.ConfigurationKeyName("ADMIN_KEY")]
    public string? AdminKey { get; set; }

    /// <summary>Whether <see cref="AdminKey"/> came from the data directory rather than the environment.</summary>
    public bool AdminKeyGenerated { get; set; }
}

/// <summary>
/// Fills in the generated admin key; runs at startup because the options are validated on start. The
/// file stays plain text for the operator to read (<c>cat data/admin-key</c>), owner-only, and is made
/// owner-only again when a restore opened it up. Deleting it and restarting makes a new key: the old
/// one stops working at once, since there is only ever one.
/// </summary>
internal sealed class GeneratedAdminKey(DataDirectory data) : IPostConfigureOptions<KeyOptions>
{
    public void PostConfigure(string? name, KeyOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.AdminKey))
        {
            options.AdminKey = SecretFiles.ReadOrCreate(Path.Combine(data.Root, KeyOptions.AdminKeyFileName), () => "sk-admin-" + Base62.NewSecret());
            options.AdminKeyGenerated = true;
        }
        else
        {
            options.AdminKey = options.AdminKey.Trim();
        }
    }
}
