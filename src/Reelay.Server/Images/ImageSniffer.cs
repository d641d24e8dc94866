using System.Buffers.Binary;

namespace Reelay.Images;

/// <summary>What the first bytes of an image say it is.</summary>
/// <param name="MediaType">Sniffed type.</param>
/// <param name="Width">Width from the header, or 0 when the header does not say.</param>
/// <param name="Height">Height from the header, or 0.</param>
public readonly record struct ImageHeader(string MediaType, int Width, int Height);

/// <summary>
/// Reads the type (by magic bytes, never by the declared content type) and the pixel size of PNG,
/// JPEG, WebP and GIF images from their headers: enough to refuse what is not an image and to
/// shape the output after the first image, without decoding pixels.
/// </summary>
public static class ImageSniffer
{
    // Spelled as bytes: in a u8 string literal "\x89" is U+0089, which UTF-8 encodes as two bytes (C2 89).
    private static ReadOnlySpan<byte> PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    public static ImageHeader? Sniff(ReadOnlySpan<byte> data)
    {
        if (data.Length >= 24 && data[..8].SequenceEqual(PngSignature))
        {
            return new ImageHeader("image/png", BinaryPrimitives.ReadInt32BigEndian(data[16..]), BinaryPrimitives.ReadInt32BigEndian(data[20..]));
        }

        if (data.Length >= 10 && (data[..6].SequenceEqual("GIF87a"u8) || data[..6].SequenceEqual("GIF89a"u8)))
        {
            return new ImageHeader("image/gif", BinaryPrimitives.ReadUInt16LittleEndian(data[6..]), BinaryPrimitives.ReadUInt16LittleEndian(data[8..]));
        }

        if (data.Length >= 30 && data[..4].SequenceEqual("RIFF"u8) && data[8..12].SequenceEqual("WEBP"u8))
        {
            return SniffWebP(data);
        }

        if (data.Length >= 4 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        {
            return SniffJpeg(data);
        }

        return null;
    }

    private static ImageHeader SniffWebP(ReadOnlySpan<byte> data)
    {
        var chunk = data[12..16];
        if (chunk.SequenceEqual("VP8X"u8))
        {
            var width = 1 + (data[24] | data[25] << 8 | data[26] << 16);
            var height = 1 + (data[27] | data[28] << 8 | data[29] << 16);
            return new ImageHeader("image/webp", width, height);
        }

        if (chunk.SequenceEqual("VP8 "u8))
        {
            return new ImageHeader("image/webp", BinaryPrimitives.ReadUInt16LittleEndian(data[26..]) & 0x3FFF, BinaryPrimitives.ReadUInt16LittleEndian(data[28..]) & 0x3FFF);
        }

        if (chunk.SequenceEqual("VP8L"u8) && data.Length >= 25)
        {
            var bits = BinaryPrimitives.ReadUInt32LittleEndian(data[21..]);
            return new ImageHeader("image/webp", (int)(bits & 0x3FFF) + 1, (int)((bits >> 14) & 0x3FFF) + 1);
        }

        return new ImageHeader("image/webp", 0, 0);
    }

    private static ImageHeader? SniffJpeg(ReadOnlySpan<byte> data)
    {
        // Walk the segments to the first start-of-frame marker, which holds the size.
        var i = 2;
        while (i + 9 < data.Length)
        {
            if (data[i] != 0xFF)
            {
                return new ImageHeader("image/jpeg", 0, 0);
            }

            var marker = data[i + 1];
            if (marker == 0xFF)
            {
                i++;
                continue;
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(data[(i + 2)..]);
            var isFrame = marker is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC;
            if (isFrame)
            {
                return new ImageHeader("image/jpeg", BinaryPrimitives.ReadUInt16BigEndian(data[(i + 7)..]), BinaryPrimitives.ReadUInt16BigEndian(data[(i + 5)..]));
            }

            i += 2 + length;
        }

        return new ImageHeader("image/jpeg", 0, 0);
    }
}
