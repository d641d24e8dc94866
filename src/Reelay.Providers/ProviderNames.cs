namespace Reelay.Providers;

/// <summary>The names configuration uses for the providers.</summary>
public static class ProviderNames
{
    public const string Local = "local";
    public const string Xai = "xai";
    public const string Veo = "veo";
    public const string Sora = "sora";
    public const string Unified = "unified";
}
