namespace Reelay.Providers.Media;

/// <summary>A media tool failed or a file is not the media it should be; the message is fit for logs and clients.</summary>
public sealed class MediaException : Exception
{
    public MediaException()
        : base("The media operation failed.")
    {
    }

    public MediaException(string message)
        : base(message)
    {
    }

    public MediaException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
