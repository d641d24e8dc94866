using System.Globalization;

namespace Reelay.Catalog;

/// <summary>
/// Output geometry: a size class names the short side (720P → 720 px), the aspect ratio the shape.
/// With a reference image the shape follows the image instead.
/// </summary>
public static class Shapes
{
    public static readonly IReadOnlyList<string> SizeClasses = ["480P", "720P", "1080P", "4K"];

    /// <summary>Short side in pixels of a size class, or null if the class is unknown.</summary>
    public static int? ShortSide(string size) => size.ToUpperInvariant() switch
    {
        "480P" => 480,
        "720P" => 720,
        "1080P" => 1080,
        "4K" or "2160P" => 2160,
        _ => null,
    };

    public static bool TryParseRatio(string ratio, out int width, out int height)
    {
        width = height = 0;
        var colon = ratio.IndexOf(':', StringComparison.Ordinal);
        return colon > 0
            && int.TryParse(ratio.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out width)
            && int.TryParse(ratio.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out height)
            && width is > 0 and <= 100 && height is > 0 and <= 100;
    }

    /// <summary>Pixel size for a size class and aspect ratio: 720P 16:9 → 1280×720, 2:3 → 720×1080.</summary>
    public static (int Width, int Height) For(string size, string aspectRatio)
    {
        var shortSide = ShortSide(size) ?? throw new ArgumentException($"Unknown size '{size}'.", nameof(size));
        if (!TryParseRatio(aspectRatio, out var w, out var h))
        {
            throw new ArgumentException($"Unknown aspect ratio '{aspectRatio}'.", nameof(aspectRatio));
        }

        return Fit(shortSide, w, h);
    }

    /// <summary>Pixel size whose short side is the size class and whose shape follows an image (ratio clamped to 1:3…3:1).</summary>
    public static (int Width, int Height) ForImage(string size, int imageWidth, int imageHeight)
    {
        var shortSide = ShortSide(size) ?? throw new ArgumentException($"Unknown size '{size}'.", nameof(size));
        var ratio = Math.Clamp((double)imageWidth / imageHeight, 1.0 / 3, 3.0);
        return ratio >= 1
            ? (Even(shortSide * ratio), shortSide)
            : (shortSide, Even(shortSide / ratio));
    }

    /// <summary>Reads <c>1280x720</c> into a size class and an aspect ratio reduced to lowest terms.</summary>
    public static bool TryParsePixels(string value, out string size, out string aspectRatio)
    {
        size = aspectRatio = "";
        var x = value.IndexOfAny(['x', 'X', '*']);
        if (x <= 0
            || !int.TryParse(value.AsSpan(0, x), NumberStyles.None, CultureInfo.InvariantCulture, out var width)
            || !int.TryParse(value.AsSpan(x + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var height)
            || width is <= 0 or > 8192 || height is <= 0 or > 8192)
        {
            return false;
        }

        var shortSide = Math.Min(width, height);
        size = shortSide switch
        {
            <= 540 => "480P",
            <= 900 => "720P",
            <= 1440 => "1080P",
            _ => "4K",
        };
        var divisor = Gcd(width, height);
        aspectRatio = (width / divisor).ToString(CultureInfo.InvariantCulture) + ":" + (height / divisor).ToString(CultureInfo.InvariantCulture);
        return true;
    }

    private static (int Width, int Height) Fit(int shortSide, int ratioWidth, int ratioHeight) =>
        ratioWidth >= ratioHeight
            ? (Even(shortSide * (double)ratioWidth / ratioHeight), shortSide)
            : (shortSide, Even(shortSide * (double)ratioHeight / ratioWidth));

    /// <summary>H.264 with yuv420p needs even dimensions.</summary>
    private static int Even(double value) => (int)Math.Round(value / 2, MidpointRounding.AwayFromZero) * 2;

    private static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);
}
