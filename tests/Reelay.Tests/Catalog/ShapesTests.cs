using Reelay.Catalog;

namespace Reelay.Tests.Catalog;

public sealed class ShapesTests
{
    [Theory]
    [InlineData("720P", "3:2", 1080, 720)]
    [InlineData("720P", "2:3", 720, 1080)]
    [InlineData("720P", "1:1", 720, 720)]
    [InlineData("720P", "16:9", 1280, 720)]
    [InlineData("720P", "9:16", 720, 1280)]
    [InlineData("1080P", "3:2", 1620, 1080)]
    [InlineData("1080P", "2:3", 1080, 1620)]
    [InlineData("1080P", "1:1", 1080, 1080)]
    [InlineData("1080P", "16:9", 1920, 1080)]
    [InlineData("1080P", "9:16", 1080, 1920)]
    [InlineData("480P", "16:9", 854, 480)]
    [InlineData("720p", "4:3", 960, 720)]
    public void For_SizeAndRatio_ShortSideIsSizeClass(string size, string ratio, int width, int height)
    {
        Assert.Equal((width, height), Shapes.For(size, ratio));
    }

    [Theory]
    [InlineData("1792x1024", "16:9", 1792, 1024)]
    [InlineData("1024X1792", "9:16", 1024, 1792)]
    public void For_ExactPixelSize_IsThatSize(string size, string ratio, int width, int height)
    {
        Assert.Equal((width, height), Shapes.For(size, ratio));
        Assert.Equal(Math.Min(width, height), Shapes.ShortSide(size));
        Assert.Equal("1080P", Shapes.ClassOf(size));
    }

    [Theory]
    [InlineData(1792, 1024, "16:9")]
    [InlineData(1024, 1792, "9:16")]
    [InlineData(1000, 1010, "1:1")]
    [InlineData(1620, 1080, "3:2")]
    public void Nearest_PixelSize_PicksTheClosestRatio(int width, int height, string expected)
    {
        Assert.Equal(expected, Shapes.Nearest(["16:9", "9:16", "1:1", "3:2", "2:3"], width, height).Ratio);
    }

    [Theory]
    [InlineData("9:16", "portrait")]
    [InlineData("2:3", "portrait")]
    [InlineData("16:9", "landscape")]
    [InlineData("1:1", "square")]
    public void Orientation_OfRatio_IsItsShape(string ratio, string orientation)
    {
        Assert.Equal(orientation, Shapes.Orientation(ratio));
    }

    [Theory]
    [InlineData("8K", "16:9")]
    [InlineData("720P", "wide")]
    [InlineData("720P", "0:1")]
    public void For_UnknownSizeOrRatio_Throws(string size, string ratio)
    {
        Assert.Throws<ArgumentException>(() => Shapes.For(size, ratio));
    }

    [Theory]
    [InlineData("720P", 1920, 1080, 1280, 720)]
    [InlineData("720P", 1080, 1920, 720, 1280)]
    [InlineData("720P", 500, 500, 720, 720)]
    [InlineData("1080P", 3000, 2000, 1620, 1080)]
    [InlineData("720P", 801, 601, 960, 720)]
    public void ForImage_ShapeFollowsImage(string size, int imageWidth, int imageHeight, int width, int height)
    {
        Assert.Equal((width, height), Shapes.ForImage(size, imageWidth, imageHeight));
    }

    [Theory]
    [InlineData("720P", 5000, 100, 2160, 720)]
    [InlineData("720P", 100, 5000, 720, 2160)]
    public void ForImage_ExtremeShape_ClampedToThreeToOne(string size, int imageWidth, int imageHeight, int width, int height)
    {
        Assert.Equal((width, height), Shapes.ForImage(size, imageWidth, imageHeight));
    }

    [Theory]
    [InlineData("1280x720", "720P", "16:9")]
    [InlineData("720x1280", "720P", "9:16")]
    [InlineData("1920X1080", "1080P", "16:9")]
    [InlineData("1024*1024", "1080P", "1:1")]
    [InlineData("854x480", "480P", "427:240")]
    [InlineData("3840x2160", "4K", "16:9")]
    public void TryParsePixels_WidthByHeight_ReadsSizeClassAndRatio(string value, string size, string ratio)
    {
        Assert.True(Shapes.TryParsePixels(value, out var parsedSize, out var parsedRatio));
        Assert.Equal(size, parsedSize);
        Assert.Equal(ratio, parsedRatio);
    }

    [Theory]
    [InlineData("720P")]
    [InlineData("x720")]
    [InlineData("1280x")]
    [InlineData("0x720")]
    [InlineData("-1280x720")]
    [InlineData("99999x720")]
    [InlineData("1280 x 720")]
    public void TryParsePixels_NotPixels_ReturnsFalse(string value)
    {
        Assert.False(Shapes.TryParsePixels(value, out _, out _));
    }

    [Theory]
    [InlineData("480P", 480)]
    [InlineData("720p", 720)]
    [InlineData("1080P", 1080)]
    [InlineData("4K", 2160)]
    [InlineData("2160P", 2160)]
    [InlineData("8K", null)]
    public void ShortSide_SizeClass_InPixels(string size, int? pixels)
    {
        Assert.Equal(pixels, Shapes.ShortSide(size));
    }
}
