namespace Reelay.Secrets;

/// <summary>
/// The key ring cannot serve the stored secrets: it is missing, it is another ring, or
/// <c>SECRETS_KEY</c> does not open it. The message names the setting to fix; at startup it stops the
/// process, since running on would mean ignoring secrets or making new ones nobody else can read.
/// </summary>
public sealed class SecretKeyRingException : Exception
{
    public SecretKeyRingException(string message)
        : base(message)
    {
    }

    public SecretKeyRingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public SecretKeyRingException()
        : this("The key ring cannot decrypt the stored secrets.")
    {
    }
}
