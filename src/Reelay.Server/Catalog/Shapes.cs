using System.Globalization;

namespace Reelay.Catalog;

/// <summary>
/// Output geometry: a size class names the short side (720P → 720 px), the aspect ratio the shape.
/// A model may also list exact sizes in pixels (Sora's 1792x1024), which are their own size.
/// With a reference image the shape follows the image instead.
/// </summary>
public static class Shapes
{
    public static readonly IReadOnlyList<string> SizeClasses = ["480P", "720P", "1080P", "4K"];

    /// <summary>The words for <see cref="Orientation"/>.</summary>
    public const string Portrait = "portrait";

    public const string Landscape = "landscape";

    public const string Square = "square";

    public static readonly IReadOnlyList<string> Orientations = [Portrait, Landscape, Square];

    /// <summary>Short side in pixels of a size class or an exact size (<c>1792x1024</c> → 1024), or null if neither.</summary>
    public static int? ShortSide(string size) => size.ToUpperInvariant() switch
    {
        "480P" => 480,
        "720P" => 720,
        "1080P" => 1080,
        "4K" or "2160P" => 2160,
        _ => TryParseExact(size, out var width, out var height) ? Math.Min(width, height) : null,
    };

    /// <summary>The size class of a size: itself for a class, the class of its short side for pixels (<c>1792x1024</c> → <c>1080P</c>).</summary>
    public static string ClassOf(string size) =>
        TryParsePixels(size, out var sizeClass, out _) ? sizeClass : size.ToUpperInvariant();

    /// <summary>Whether a size is exact pixels (<c>1792x1024</c>) rather than a class.</summary>
    public static bool IsPixels(string size) => TryParseExact(size, out _, out _);

    /// <summary><c>1792X1024</c>, <c>1792*1024</c> → <c>1792x1024</c>.</summary>
    public static string CanonicalPixels(string size) => size.Trim().ToLowerInvariant().Replace('*', 'x');

    /// <summary><see cref="Portrait"/> (taller than wide), <see cref="Landscape"/> or <see cref="Square"/> for a W:H ratio.</summary>
    public static string Orientation(string aspectRatio) =>
        TryParseRatio(aspectRatio, out var width, out var height) ? Orientation(width, height) : Square;

    public static string Orientation(int width, int height) => width > height ? Landscape : width < height ? Portrait : Square;

    /// <summary>The ratio among <paramref name="ratios"/> closest in shape to a width and height (<c>1792x1024</c> → <c>16:9</c>), and how far off it is (0 = exact).</summary>
    public static (string? Ratio, double Distance) Nearest(IEnumerable<string> ratios, int width, int height)
    {
        string? best = null;
        var bestDistance = double.MaxValue;
        foreach (var ratio in ratios)
        {
            if (TryParseRatio(ratio, out var w, out var h))
            {
                var distance = Math.Abs(Math.Log((double)w / h) - Math.Log((double)width / height));
                if (distance < bestDistance)
                {
                    best = ratio;
                    bestDistance = distance;
                }
            }
        }

        return (best, bestDistance);
    }

    public static bool TryParseRatio(string ratio, out int width, out int height)
    {
        width = height = 0;
        var colon = ratio.IndexOf(':', StringComparison.Ordinal);
        return colon > 0
            && int.TryParse(ratio.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out width)
            && int.TryParse(ratio.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out height)
            && width is > 0 and <= 100 && height is > 0 and <= 100;
    }

    /// <summary>Pixel size for a size class and aspect ratio: 720P 16:9 → 1280×720, 2:3 → 720×1080. An exact size is itself.</summary>
    public static (int Width, int Height) For(string size, string aspectRatio)
    {
        if (TryParseExact(size, out var exactWidth, out var exactHeight))
        {
            return (exactWidth, exactHeight);
        }

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

    /// <summary>Exact pixels with even sides (what H.264 renders), as catalogs list them.</summary>
    private static bool TryParseExact(string value, out int width, out int height)
    {
        width = height = 0;
        var x = value.IndexOfAny(['x', 'X', '*']);
        return x > 0
            && int.TryParse(value.AsSpan(0, x), NumberStyles.None, CultureInfo.InvariantCulture, out width)
            && int.TryParse(value.AsSpan(x + 1), NumberStyles.None, CultureInfo.InvariantCulture, out height)
            && width is > 0 and <= 8192 && height is > 0 and <= 8192 && width % 2 == 0 && height % 2 == 0;
    }

    private static (int Width, int Height) Fit(int shortSide, int ratioWidth, int ratioHeight) =>
        ratioWidth >= ratioHeight
            ? (Even(shortSide * (double)ratioWidth / ratioHeight), shortSide)
            : (shortSide, Even(shortSide * (double)ratioHeight / ratioWidth));

    /// <summary>H.264 with yuv420p needs even dimensions.</summary>
    private static int Even(double value) => (int)Math.Round(value / 2, MidpointRounding.AwayFromZero) * 2;

    private static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);
}
