using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Reelay.Providers.Local;

/// <summary>An ffmpeg command line for one job, plus the text files its filters read (relative to the job directory).</summary>
internal sealed record LocalRenderCommand(IReadOnlyList<string> Arguments, IReadOnlyDictionary<string, string> TextFiles);

/// <summary>
/// Builds the ffmpeg command for a job. Every visual choice comes from the job's seed through
/// <see cref="SeededChoices"/>, and the encoder runs in bit-exact mode, so one request renders to the same bytes every time.
/// </summary>
internal static class LocalRenderPlan
{
    public const string Label = "Reelay preview · local renderer";

    // Caption block: at most this many lines, across at most this share of the width.
    private const int MaxCaptionLines = 5;
    private const double CaptionWidthShare = 0.86;

    // Rough advance widths in em for DejaVu Sans / WenQuanYi: wrapping needs "fits or not", not typesetting.
    private const double NarrowGlyphEm = 0.62;
    private const double WideGlyphEm = 1.0;

    /// <summary>The request's seed, or a stable one from what the video shows, so retries of one prompt look alike.</summary>
    public static long SeedFor(VideoJobRequest request)
    {
        if (request.Seed is { } seed)
        {
            return seed;
        }
        var key = $"{request.Prompt}\n{request.Model}\n{request.Width}x{request.Height}\n{request.DurationSeconds}";
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(key));
        return BitConverter.ToInt64(hash, 0) & long.MaxValue;
    }

    public static LocalRenderCommand Build(LocalJobInputs inputs, int framesPerSecond, string? fontFile, string outputFileName)
    {
        var totalFrames = inputs.DurationSeconds * framesPerSecond;
        var choices = new SeededChoices(inputs.Seed);
        var textFiles = new Dictionary<string, string>(StringComparer.Ordinal);
        List<string> arguments = ["-nostdin", "-hide_banner", "-v", "error", "-y"];
        string filterGraph;
        if (inputs.Images.Count == 0)
        {
            arguments.AddRange(["-f", "lavfi", "-i", Backdrop(inputs, framesPerSecond, ref choices)]);
            filterGraph = "[0:v]" + CaptionFilters(inputs, fontFile, textFiles) + "," + LabelFilter(inputs, fontFile, textFiles) + ",format=yuv420p[out]";
        }
        else
        {
            foreach (var image in inputs.Images)
            {
                arguments.AddRange(["-i", image.FileName]);
            }

            filterGraph = ImageSequence(inputs, framesPerSecond, totalFrames, ref choices)
                + ";[seq]" + LabelFilter(inputs, fontFile, textFiles) + ",format=yuv420p[out]";
        }

        arguments.AddRange(
        [
            "-filter_complex", filterGraph,
            "-map", "[out]",
            "-frames:v", Invariant(totalFrames),
            "-r", Invariant(framesPerSecond),
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
            // A fixed thread count keeps x264's frame threading, and so its output bytes, the same on every machine.
            "-threads", "2",
            "-pix_fmt", "yuv420p",
            "-movflags", "+faststart",
            "-fflags", "+bitexact", "-flags:v", "+bitexact", "-map_metadata", "-1",
            "-an",
            "-progress", "pipe:1", "-nostats",
            "-f", "mp4", outputFileName,
        ]);
        return new LocalRenderCommand(arguments, textFiles);
    }

    /// <summary>Wraps text into lines no wider than <paramref name="maxWidth"/> pixels at <paramref name="fontSize"/>; CJK breaks anywhere, other scripts at spaces.</summary>
    public static IReadOnlyList<string> WrapCaption(string text, double maxWidth, int fontSize, int maxLines)
    {
        var maxEm = maxWidth / fontSize;
        var lines = new List<string>();
        var line = new StringBuilder();
        var lineEm = 0.0;
        var pendingSpace = false;
        foreach (var (token, isSpace) in Tokens(text))
        {
            if (isSpace)
            {
                pendingSpace = line.Length > 0;
                continue;
            }
            var tokenEm = WidthEm(token);
            var spaceEm = pendingSpace ? NarrowGlyphEm : 0;
            if (lineEm + spaceEm + tokenEm <= maxEm)
            {
                line.Append(pendingSpace ? " " : "").Append(token);
                lineEm += spaceEm + tokenEm;
            }
            else
            {
                if (line.Length > 0)
                {
                    lines.Add(line.ToString());
                    line.Clear();
                    lineEm = 0;
                }
                // A word longer than a whole line is cut where it overflows.
                foreach (var element in TextElements(token))
                {
                    var elementEm = WidthEm(element);
                    if (lineEm + elementEm > maxEm && line.Length > 0)
                    {
                        lines.Add(line.ToString());
                        line.Clear();
                        lineEm = 0;
                    }
                    line.Append(element);
                    lineEm += elementEm;
                }
            }
            pendingSpace = false;
        }
        if (line.Length > 0)
        {
            lines.Add(line.ToString());
        }
        if (lines.Count > maxLines)
        {
            lines.RemoveRange(maxLines, lines.Count - maxLines);
            var last = TextElements(lines[^1]).ToList();
            while (last.Count > 0 && WidthEm(string.Concat(last)) + WideGlyphEm > maxEm)
            {
                last.RemoveAt(last.Count - 1);
            }
            lines[^1] = string.Concat(last).TrimEnd() + "…";
        }
        return lines;
    }

    private static string Backdrop(LocalJobInputs inputs, int framesPerSecond, ref SeededChoices choices)
    {
        // Darkish, moderately saturated colours around one hue keep a white caption readable.
        var hue = choices.NextDouble() * 360;
        var spread = 40 + (choices.NextDouble() * 80);
        var colors = new string[3];
        for (var i = 0; i < colors.Length; i++)
        {
            colors[i] = HsvToHex(hue + (i * spread), 0.55 + (choices.NextDouble() * 0.2), 0.3 + (choices.NextDouble() * 0.25));
        }
        var type = choices.Next(3); // linear, radial or circular; spiral is too busy behind text
        var speed = 0.006 + (choices.NextDouble() * 0.02);
        var gradientSeed = choices.Next(int.MaxValue);
        return $"gradients=s={inputs.Width}x{inputs.Height}:r={Invariant(framesPerSecond)}"
            + $":c0={colors[0]}:c1={colors[1]}:c2={colors[2]}:n=3:type={Invariant(type)}"
            + $":speed={Invariant(speed)}:seed={Invariant(gradientSeed)}";
    }

    private static string CaptionFilters(LocalJobInputs inputs, string? fontFile, Dictionary<string, string> textFiles)
    {
        var shortSide = Math.Min(inputs.Width, inputs.Height);
        var fontSize = Math.Max(12, (int)Math.Round(shortSide * 0.065));
        var lines = WrapCaption(Normalize(inputs.Prompt), inputs.Width * CaptionWidthShare, fontSize, MaxCaptionLines);
        var lineHeight = (int)Math.Round(fontSize * 1.35);
        var top = (inputs.Height - (lines.Count * lineHeight)) / 2;
        var border = Math.Max(1, fontSize / 16);
        var filters = new List<string>();
        for (var i = 0; i < lines.Count; i++)
        {
            // One drawtext per line centres each line; textfile= spares the prompt from filtergraph escaping.
            var fileName = $"caption-{i}.txt";
            textFiles[fileName] = lines[i];
            filters.Add($"drawtext={Font(fontFile)}textfile={fileName}:expansion=none:fontsize={Invariant(fontSize)}"
                + $":fontcolor=white:borderw={Invariant(border)}:bordercolor=black@0.45"
                + $":x=(w-text_w)/2:y={Invariant(top + (i * lineHeight))}");
        }
        return filters.Count == 0 ? "null" : string.Join(',', filters);
    }

    private static string LabelFilter(LocalJobInputs inputs, string? fontFile, Dictionary<string, string> textFiles)
    {
        var shortSide = Math.Min(inputs.Width, inputs.Height);
        var fontSize = Math.Max(10, (int)Math.Round(shortSide * 0.028));
        textFiles["label.txt"] = Label;
        return $"drawtext={Font(fontFile)}textfile=label.txt:expansion=none:fontsize={Invariant(fontSize)}"
            + $":fontcolor=white@0.8:borderw=1:bordercolor=black@0.4"
            + $":x=(w-text_w)/2:y=h-{Invariant(fontSize * 2)}";
    }

    private static string ImageSequence(LocalJobInputs inputs, int framesPerSecond, int totalFrames, ref SeededChoices choices)
    {
        var count = inputs.Images.Count;
        // Crossfades overlap neighbours, so the segments add up to the duration plus every overlap.
        var transition = count == 1 ? 0 : Math.Max(1, Math.Min((int)Math.Round(framesPerSecond * 0.75), totalFrames / (2 * count)));
        var sum = totalFrames + ((count - 1) * transition);
        var lengths = Enumerable.Range(0, count).Select(i => (sum / count) + (i < sum % count ? 1 : 0)).ToArray();

        // Zoompan moves its window in whole source pixels; a source at twice the output size halves the visible jitter.
        var coverWidth = inputs.Width * 2;
        var coverHeight = inputs.Height * 2;
        var parts = new List<string>();
        for (var i = 0; i < count; i++)
        {
            parts.Add($"[{Invariant(i)}:v]trim=end_frame=1,setpts=PTS-STARTPTS"
                + $",scale={Invariant(coverWidth)}:{Invariant(coverHeight)}:force_original_aspect_ratio=increase:flags=bicubic"
                + $",crop={Invariant(coverWidth)}:{Invariant(coverHeight)},setsar=1"
                + "," + Move(lengths[i], inputs.Width, inputs.Height, framesPerSecond, ref choices)
                + $",format=yuv420p[s{Invariant(i)}]");
        }
        if (count == 1)
        {
            parts.Add("[s0]null[seq]");
            return string.Join(';', parts);
        }

        string[] transitions = ["fade", "dissolve", "smoothleft", "smoothright", "smoothup", "smoothdown"];
        var previous = "s0";
        var shown = lengths[0];
        for (var i = 1; i < count; i++)
        {
            var offset = (shown - transition) / (double)framesPerSecond;
            var label = i == count - 1 ? "seq" : $"x{Invariant(i)}";
            parts.Add($"[{previous}][s{Invariant(i)}]xfade=transition={transitions[choices.Next(transitions.Length)]}"
                + $":duration={Invariant(transition / (double)framesPerSecond)}:offset={Invariant(offset)}[{label}]");
            previous = label;
            shown += lengths[i] - transition;
        }
        return string.Join(';', parts);
    }

    /// <summary>A slow zoom with a pan across the image over <paramref name="frames"/> frames; the seed picks the direction.</summary>
    private static string Move(int frames, int width, int height, int framesPerSecond, ref SeededChoices choices)
    {
        // The window always stays zoomed in a little, so there is room to pan without showing an edge.
        var zoomSmall = 1.06;
        var zoomLarge = zoomSmall + 0.08 + (choices.NextDouble() * 0.1);
        var (zoomFrom, zoomTo) = choices.Next(2) == 0 ? (zoomSmall, zoomLarge) : (zoomLarge, zoomSmall);
        (double X0, double Y0, double X1, double Y1)[] paths =
        [
            (0.15, 0.5, 0.85, 0.5), (0.85, 0.5, 0.15, 0.5), (0.5, 0.15, 0.5, 0.85),
            (0.5, 0.85, 0.5, 0.15), (0.2, 0.2, 0.8, 0.8), (0.8, 0.8, 0.2, 0.2), (0.5, 0.5, 0.5, 0.5),
        ];
        var path = paths[choices.Next(paths.Length)];
        var progress = $"on/{Invariant(Math.Max(1, frames - 1))}";
        return $"zoompan=z='{Invariant(zoomFrom)}+{Invariant(zoomTo - zoomFrom)}*{progress}'"
            + $":x='(iw-iw/zoom)*({Invariant(path.X0)}+{Invariant(path.X1 - path.X0)}*{progress})'"
            + $":y='(ih-ih/zoom)*({Invariant(path.Y0)}+{Invariant(path.Y1 - path.Y0)}*{progress})'"
            + $":d={Invariant(frames)}:s={Invariant(width)}x{Invariant(height)}:fps={Invariant(framesPerSecond)}";
    }

    private static string Font(string? fontFile) =>
        fontFile is null ? "" : $"fontfile={EscapeFilterValue(fontFile)}:";

    /// <summary>Escapes a value for a filter option inside a filtergraph: once for the option parser, once for the graph parser.</summary>
    private static string EscapeFilterValue(string value)
    {
        var option = new StringBuilder();
        foreach (var c in value)
        {
            if (c is '\\' or '\'' or ':')
            {
                option.Append('\\');
            }
            option.Append(c);
        }
        var graph = new StringBuilder();
        foreach (var c in option.ToString())
        {
            if (c is '\\' or '\'' or '[' or ']' or ',' or ';')
            {
                graph.Append('\\');
            }
            graph.Append(c);
        }
        return graph.ToString();
    }

    private static string Normalize(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            builder.Append(char.IsControl(c) || char.IsWhiteSpace(c) ? ' ' : c);
        }
        return builder.ToString().Trim();
    }

    private static IEnumerable<(string Token, bool IsSpace)> Tokens(string text)
    {
        var word = new StringBuilder();
        foreach (var element in TextElements(text))
        {
            if (string.IsNullOrWhiteSpace(element) || IsWide(element))
            {
                if (word.Length > 0)
                {
                    yield return (word.ToString(), false);
                    word.Clear();
                }
                yield return (element, string.IsNullOrWhiteSpace(element));
            }
            else
            {
                word.Append(element);
            }
        }
        if (word.Length > 0)
        {
            yield return (word.ToString(), false);
        }
    }

    private static IEnumerable<string> TextElements(string text)
    {
        var enumerator = StringInfo.GetTextElementEnumerator(text);
        while (enumerator.MoveNext())
        {
            yield return enumerator.GetTextElement();
        }
    }

    private static double WidthEm(string text) => TextElements(text).Sum(e => IsWide(e) ? WideGlyphEm : NarrowGlyphEm);

    // East Asian wide ranges (CJK, kana, hangul, full-width forms) plus anything outside the BMP (emoji).
    private static bool IsWide(string element)
    {
        var c = element[0];
        return char.IsHighSurrogate(c)
            || c is (>= '\u1100' and <= '\u115F') or (>= '\u2E80' and <= '\uA4CF') or (>= '\uAC00' and <= '\uD7A3')
                or (>= '\uF900' and <= '\uFAFF') or (>= '\uFE30' and <= '\uFE4F') or (>= '\uFF00' and <= '\uFF60')
                or (>= '\uFFE0' and <= '\uFFE6');
    }

    private static string HsvToHex(double hue, double saturation, double value)
    {
        hue = ((hue % 360) + 360) % 360;
        var chroma = value * saturation;
        var x = chroma * (1 - Math.Abs((hue / 60 % 2) - 1));
        var m = value - chroma;
        var (r, g, b) = (int)(hue / 60) switch
        {
            0 => (chroma, x, 0.0),
            1 => (x, chroma, 0.0),
            2 => (0.0, chroma, x),
            3 => (0.0, x, chroma),
            4 => (x, 0.0, chroma),
            _ => (chroma, 0.0, x),
        };
        static int Byte(double channel) => (int)Math.Round(channel * 255);
        return string.Create(CultureInfo.InvariantCulture, $"0x{Byte(r + m):X2}{Byte(g + m):X2}{Byte(b + m):X2}");
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Invariant(double value) => value.ToString("0.######", CultureInfo.InvariantCulture);
}

/// <summary>SplitMix64: a tiny generator whose sequence is fixed by its seed on every runtime, unlike <see cref="Random"/>'s contract.</summary>
internal struct SeededChoices(long seed)
{
    private ulong _state = unchecked((ulong)seed);

    public ulong NextUInt64()
    {
        var z = _state += 0x9E3779B97F4A7C15;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }

    public int Next(int exclusiveMax) => (int)(NextUInt64() % (ulong)exclusiveMax);

    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));
}
