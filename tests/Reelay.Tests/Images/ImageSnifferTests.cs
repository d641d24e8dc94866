using System.Text;
using Reelay.Images;
using Reelay.Testing;

namespace Reelay.Tests.Images;

public sealed class ImageSnifferTests
{
    [Theory]
    [InlineData("png", "image/png", 321, 123)]
    [InlineData("jpg", "image/jpeg", 640, 360)]
    [InlineData("gif", "image/gif", 99, 201)]
    [InlineData("webp", "image/webp", 300, 170)]
    public async Task Sniff_RealImage_ReadsTypeAndSize(string extension, string mediaType, int width, int height)
    {
        var bytes = await TestMedia.ImageAsync(width, height, extension);

        var header = ImageSniffer.Sniff(bytes);

        Assert.Equal(new ImageHeader(mediaType, width, height), header);
    }

    [Fact]
    public async Task Sniff_LosslessWebP_ReadsSize()
    {
        var bytes = await TestMedia.ImageAsync(257, 129, "webp", "-lossless", "1");

        Assert.Equal(new ImageHeader("image/webp", 257, 129), ImageSniffer.Sniff(bytes));
    }

    [Fact]
    public async Task Sniff_WebPWithAlpha_ReadsSizeFromExtendedHeader()
    {
        var bytes = await TestMedia.ImageAsync(200, 100, "webp", "-vf", "format=rgba");

        Assert.Equal(new ImageHeader("image/webp", 200, 100), ImageSniffer.Sniff(bytes));
    }

    [Fact]
    public async Task Sniff_ProgressiveJpeg_ReadsSize()
    {
        var bytes = await TestMedia.ImageAsync(480, 272, "jpg", "-c:v", "mjpeg", "-huffman", "optimal");

        Assert.Equal(new ImageHeader("image/jpeg", 480, 272), ImageSniffer.Sniff(bytes));
    }

    [Theory]
    [InlineData("hello, this is plain text and not an image at all")]
    [InlineData("<html><body>404</body></html>")]
    [InlineData("")]
    [InlineData("\u0089PNG")]
    public void Sniff_NotAnImage_ReturnsNull(string text)
    {
        Assert.Null(ImageSniffer.Sniff(Encoding.Latin1.GetBytes(text)));
    }

    [Fact]
    public async Task Sniff_Mp4_ReturnsNull()
    {
        Assert.Null(ImageSniffer.Sniff(await TestMedia.SampleMp4Async()));
    }
}
