using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Reelay.IntegrationTests.Api;

/// <summary>One request the fuzzer sends, with the recipe that made it, so a failure can be replayed by hand.</summary>
internal sealed record FuzzRequest(string Route, int Index, string Mutation, HttpMethod Method, string PathAndQuery, byte[]? Body, string? ContentType)
{
    public string Describe() =>
        $"{Route} #{Index} ({Mutation})\n{Method} {PathAndQuery}\nContent-Type: {ContentType ?? "(none)"}\nBody ({Body?.Length ?? 0} bytes): {(Body is null ? "(none)" : Escape(Body))}";

    /// <summary>
    /// The bytes as a C#-like string literal: printable ASCII as is, other bytes as \xNN, and runs of one
    /// repeated unit (up to 4 bytes) as «unit×count», so an oversized body still prints in a few lines.
    /// </summary>
    public static string Escape(byte[] bytes)
    {
        var text = new StringBuilder("\"");
        var i = 0;
        while (i < bytes.Length && text.Length < 8000)
        {
            var (unit, repeats) = LongestRun(bytes, i);
            if (unit * repeats >= 32)
            {
                text.Append('«');
                AppendEscaped(text, bytes.AsSpan(i, unit));
                text.Append('×').Append(repeats).Append('»');
                i += unit * repeats;
                continue;
            }

            AppendEscaped(text, bytes.AsSpan(i, 1));
            i++;
        }

        text.Append('"');
        return i < bytes.Length ? text.Append($" … and {bytes.Length - i} more bytes (replay from the seed and index)").ToString() : text.ToString();
    }

    private static (int Unit, int Repeats) LongestRun(byte[] bytes, int start)
    {
        var best = (Unit: 1, Repeats: 1);
        for (var unit = 1; unit <= 4 && start + unit <= bytes.Length; unit++)
        {
            var repeats = 1;
            while (start + (repeats + 1) * unit <= bytes.Length
                && bytes.AsSpan(start + repeats * unit, unit).SequenceEqual(bytes.AsSpan(start, unit)))
            {
                repeats++;
            }

            if (unit * repeats > best.Unit * best.Repeats)
            {
                best = (unit, repeats);
            }
        }

        return best;
    }

    private static void AppendEscaped(StringBuilder text, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            text.Append(b switch
            {
                (byte)'"' => "\\\"",
                (byte)'\\' => "\\\\",
                (byte)'\r' => "\\r",
                (byte)'\n' => "\\n",
                (byte)'\t' => "\\t",
                >= 0x20 and < 0x7F => ((char)b).ToString(),
                _ => $"\\x{b:X2}",
            });
        }
    }
}

/// <summary>
/// Deterministic generator of hostile variants of valid requests: one <see cref="Random"/> with a fixed
/// seed per route, so run N always sends the same bytes in the same order.
/// </summary>
internal sealed class Mutator(int seed)
{
    private readonly Random _random = new(seed);

    /// <summary>Oversized values, made once: leaves are never changed in place, only replaced.</summary>
    private readonly Dictionary<string, byte[]> _oversized = [];

    /// <summary>Text that is not what a field wants: empty, blank, control characters, numbers as strings, URLs, and so on.</summary>
    private static readonly string[] OddStrings =
    [
        "", " ", "\t\n", "x", "0", "-1", "8", "4", "99999999999999999999", "1e3", " 4 ", "2.5", "true", "null",
        "16:9", "9:16", "21:9", "720P", "1080P", "8K", "1280x720", "720x1280", "1280*720", "0x0", "99999x99999",
        "reelay-preview", "grok-video-3", "sora-2", "veo3.1", "VEO3.1-FAST", "live", "test", "xai", "unified", "local",
        "https://example.com/a.png", "http://127.0.0.1:1/x", "ftp://example.com/a", "file:///etc/passwd", "/relative.png",
        "data:image/png;base64,", "data:image/png;base64,@@@@", "data:text/plain;base64,aGk=", "data:image/png,abc",
        "--mode=custom", "a\u0000b", "é", "😀", "\u202Eevil", "'; DROP TABLE tasks; --", "<script>", "%FF", "\\",
    ];

    /// <summary>String bodies as raw JSON text between the quotes (escapes kept), including lone surrogates.</summary>
    private static readonly string[] EscapedStringBodies =
    [
        "\\ud800", "\\udc00", "\\udbff\\udbff", "\\ude00\\ud83d", "a\\ud800b", "\\ud83d\\ude00", "\\u0000", "\\u0070rompt",
        "\\\"", "\\/", "\\n", "\\x41", "\\u12", "\\", "\\uD800\\u0041",
    ];

    /// <summary>Byte sequences that are not UTF-8: a lone continuation, a stray lead, overlong forms, a surrogate, beyond U+10FFFF, a cut sequence.</summary>
    private static readonly byte[][] InvalidUtf8 =
    [
        [0xFF], [0xFE], [0x80], [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF],
        [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xC3], [0xF8, 0x88, 0x80, 0x80, 0x80],
    ];

    private static readonly string[] Numbers =
    [
        "0", "-0", "1", "-1", "4", "8", "12", "15", "16", "600", "601", "2.5", "1e2", "1E400", "-1e400", "0.0000001",
        "4294967295", "4294967296", "2147483648", "-2147483649", "9223372036854775807", "9223372036854775808",
        "123456789012345678901234567890", "1.0", "8.000",
    ];

    private static readonly string[] FieldNames =
    [
        "model", "prompt", "aspect_ratio", "size", "duration", "seconds", "images", "seed", "negative_prompt", "callback_url",
        "enhance_prompt", "enable_upsample", "orientation", "watermark", "private", "style", "input_reference", "image_url", "file_id", "name", "mode", "provider", "base_url",
        "api_key", "models", "priority", "weight", "enabled", "submits_per_minute", "polls_per_minute", "poll_interval_ms",
        "public_callback_base_url", "service_account_key", "retired_models", "retired", "on", "replaced_by", "redirect",
        "PROMPT", "Model", "prompt ", "", "__proto__", "constructor", "id", "status",
    ];

    private static readonly byte[] StructuralBytes = "{}[]\",:\\ \n\r\t0-+.eE/u"u8.ToArray();

    public int Next(int max) => _random.Next(max);

    public bool Chance(double probability) => _random.NextDouble() < probability;

    public T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];

    /// <summary>A valid JSON object template, mutated: the body and what was done to it.</summary>
    public (byte[] Body, string Mutation) Json(string template)
    {
        var root = JsonTree.Parse(template);
        var steps = new List<string>();
        var byteLevel = Chance(0.3);
        if (!byteLevel || Chance(0.3))
        {
            root = MutateTree(root, steps);
            if (Chance(0.15))
            {
                root = MutateTree(root, steps);
            }
        }

        var bytes = JsonTree.Serialize(root);
        if (byteLevel)
        {
            bytes = MutateBytes(bytes, steps);
        }

        return (bytes, string.Join("; ", steps));
    }

    /// <summary>Byte-level damage to any body: cut, flipped, inserted, deleted or repeated bytes.</summary>
    public byte[] MutateBytes(byte[] bytes, List<string> steps)
    {
        var list = new List<byte>(bytes);
        switch (Next(6))
        {
            case 0:
                var cut = list.Count == 0 ? 0 : Next(list.Count);
                steps.Add($"truncated to {cut} bytes");
                return bytes.AsSpan(0, cut).ToArray();
            case 1:
                var flips = 1 + Next(3);
                for (var i = 0; i < flips && list.Count > 0; i++)
                {
                    var at = Next(list.Count);
                    var old = list[at];
                    list[at] = Chance(0.5) ? (byte)(old ^ (1 << Next(8))) : (byte)Next(256);
                    steps.Add($"byte {at} 0x{old:X2}→0x{list[at]:X2}");
                }

                return [.. list];
            case 2:
                var insertAt = Next(list.Count + 1);
                byte[] inserted = Chance(0.5) ? Pick(InvalidUtf8) : [Pick(StructuralBytes), Pick(StructuralBytes)];
                list.InsertRange(insertAt, inserted);
                steps.Add($"inserted {Convert.ToHexString(inserted)} at {insertAt}");
                return [.. list];
            case 3:
                if (list.Count == 0)
                {
                    return [];
                }

                var from = Next(list.Count);
                var length = 1 + Next(Math.Min(16, list.Count - from));
                list.RemoveRange(from, length);
                steps.Add($"deleted {length} bytes at {from}");
                return [.. list];
            case 4:
                if (list.Count == 0)
                {
                    return [];
                }

                var start = Next(list.Count);
                var slice = bytes.AsSpan(start, Math.Min(1 + Next(24), bytes.Length - start)).ToArray();
                var times = 1 + Next(Chance(0.1) ? 5000 : 4);
                list.InsertRange(start, Enumerable.Repeat(slice, times).SelectMany(copy => copy));

                steps.Add($"repeated {slice.Length} bytes at {start} {times} more times");
                return [.. list];
            default:
                var replaced = Next(list.Count + 1);
                var raw = Pick(InvalidUtf8);
                list.InsertRange(replaced, raw);
                if (replaced + raw.Length < list.Count)
                {
                    list.RemoveAt(replaced + raw.Length);
                }

                steps.Add($"invalid UTF-8 {Convert.ToHexString(raw)} over byte {replaced}");
                return [.. list];
        }
    }

    /// <summary>Raw text for a form field or query: odd strings, invalid UTF-8, long runs.</summary>
    public byte[] OddText()
    {
        return Next(5) switch
        {
            0 => Encoding.UTF8.GetBytes(Pick(OddStrings)),
            1 => [.. "a c"u8, .. Pick(InvalidUtf8), .. "t"u8],
            2 => Encoding.UTF8.GetBytes(new string('a', Pick((int[])[8001, 9000, 70_000]))),
            3 => Encoding.UTF8.GetBytes(Pick(Numbers)),
            _ => Encoding.UTF8.GetBytes(Pick(OddStrings) + Pick(OddStrings)),
        };
    }

    /// <summary>Content-Type for a JSON body: nearly always JSON, sometimes a near miss.</summary>
    public string? JsonContentType() => Chance(0.94)
        ? "application/json"
        : Pick((string?[])[null, "application/json; charset=utf-8", "application/json; charset=utf-16", "application/merge-patch+json",
            "text/plain", "multipart/form-data", "application/x-www-form-urlencoded", "application/jsonx", "*/*"]);

    /// <summary>A multipart/form-data body from valid parts, mutated in its parts, its framing or its bytes.</summary>
    public (byte[] Body, string? ContentType, string Mutation) Multipart(IReadOnlyList<FormPart> template)
    {
        var parts = template.ToList();
        var steps = new List<string>();
        var boundary = "fuzz-" + Next(1_000_000).ToString("D6", System.Globalization.CultureInfo.InvariantCulture);
        string? contentType = $"multipart/form-data; boundary={boundary}";
        var closing = true;
        var newline = "\r\n"u8.ToArray();
        byte[] preamble = [];
        var byteLevel = false;
        var part = Next(parts.Count);
        switch (Next(13))
        {
            case 0:
            case 1:
                var text = OddText();
                parts[part] = parts[part] with { Value = text };
                steps.Add($"part {Encoding.UTF8.GetString(parts[part].Name)} = {FuzzRequest.Escape(text[..Math.Min(60, text.Length)])}{(text.Length > 60 ? $" ({text.Length} bytes)" : "")}");
                break;
            case 2:
                steps.Add($"removed part {Encoding.UTF8.GetString(parts[part].Name)}");
                parts.RemoveAt(part);
                break;
            case 3:
                parts.Insert(Next(parts.Count + 1), parts[part] with { Value = OddText() });
                steps.Add($"duplicated part {Encoding.UTF8.GetString(parts[part].Name)}");
                break;
            case 4:
                byte[] name = Chance(0.5) ? [.. "pro"u8, .. Pick(InvalidUtf8), .. "mpt"u8] : Encoding.UTF8.GetBytes(Pick(FieldNames) + Pick((string[])["", "\"", "[image_url]", "[]", "\\"]));
                parts[part] = parts[part] with { Name = name };
                steps.Add($"part #{part} named {FuzzRequest.Escape(name)}");
                break;
            case 5:
                var disposition = Pick((string[])["form-data", "form-data; name=", "attachment; name=\"prompt\"", "form-data; name=\"prompt", "form-data; filename=\"a.png\"",
                    "form-data; name=\"input_reference\"; filename*=UTF-8''%FF%FE.png", "form-data; name=\"input_reference\"; filename=\"\"", "", "form-data; name=\"a\"; name=\"b\""]);
                parts[part] = parts[part] with { Disposition = disposition };
                steps.Add($"part #{part} Content-Disposition: {disposition}");
                break;
            case 6:
                var files = parts.Select((p, i) => (p, i)).Where(x => x.p.FileName is not null).ToList();
                var (file, at) = files.Count > 0 ? Pick(files) : (parts[part], part);
                byte[] bytes = Next(5) switch
                {
                    0 => [],
                    1 => file.Value.AsSpan(0, Next(file.Value.Length + 1)).ToArray(),
                    2 => [.. Enumerable.Range(0, 1 + Next(2000)).Select(_ => (byte)Next(256))],
                    3 => [.. "GIF89a"u8, .. new byte[64]],
                    _ => [.. file.Value, .. new byte[70 * 1024]],
                };
                parts[at] = file with { Value = bytes, FileName = file.FileName ?? "x.png"u8.ToArray(), ContentType = Pick((string?[])[file.ContentType, "text/plain", null, "image/gif"]) };
                steps.Add($"file part #{at}: {bytes.Length} bytes");
                break;
            case 7:
                contentType = Pick((string?[])[$"multipart/form-data; boundary=other", "multipart/form-data", $"multipart/form-data; boundary=\"{boundary}\"",
                    $"multipart/form-data; boundary={new string('b', 71)}", $"multipart/form-data; boundary={boundary}; boundary=x", $"multipart/mixed; boundary={boundary}",
                    null, $"multipart/form-data; boundary={boundary}; charset=utf-16"]);
                steps.Add($"Content-Type: {contentType ?? "(none)"}");
                break;
            case 8:
                closing = false;
                steps.Add("no closing boundary");
                break;
            case 9:
                newline = "\n"u8.ToArray();
                steps.Add("LF line ends");
                break;
            case 10:
                preamble = [.. OddText(), .. "\r\n"u8];
                steps.Add("preamble");
                break;
            default:
                byteLevel = true;
                break;
        }

        var body = new List<byte>(preamble);
        var dash = Encoding.ASCII.GetBytes("--" + boundary);
        foreach (var p in parts)
        {
            body.AddRange(dash);
            body.AddRange(newline);
            body.AddRange(Encoding.ASCII.GetBytes("Content-Disposition: "));
            if (p.Disposition is { } given)
            {
                body.AddRange(Encoding.UTF8.GetBytes(given));
            }
            else
            {
                body.AddRange("form-data; name=\""u8);
                body.AddRange(p.Name);
                body.Add((byte)'"');
                if (p.FileName is { } fileName)
                {
                    body.AddRange("; filename=\""u8);
                    body.AddRange(fileName);
                    body.Add((byte)'"');
                }
            }

            body.AddRange(newline);
            if (p.ContentType is { } type)
            {
                body.AddRange(Encoding.ASCII.GetBytes("Content-Type: " + type));
                body.AddRange(newline);
            }

            body.AddRange(newline);
            body.AddRange(p.Value);
            body.AddRange(newline);
        }

        if (closing)
        {
            body.AddRange(dash);
            body.AddRange("--"u8);
            body.AddRange(newline);
        }

        var result = body.ToArray();
        if (byteLevel)
        {
            result = MutateBytes(result, steps);
        }

        return (result, contentType, string.Join("; ", steps));
    }

    /// <summary>An application/x-www-form-urlencoded body: the other form a create may arrive in.</summary>
    public (byte[] Body, string Mutation) UrlEncoded(string valid)
    {
        var steps = new List<string>();
        var bytes = Encoding.ASCII.GetBytes(valid);
        if (Chance(0.5))
        {
            var token = Pick((string[])["%FF", "%ED%A0%80", "%", "%G0", "&&", "==", "=", "&prompt=", "&seconds=x", "+", "%00", new string('a', 3000)]);
            var at = Next(bytes.Length + 1);
            bytes = [.. bytes.AsSpan(0, at), .. Encoding.ASCII.GetBytes(token), .. bytes.AsSpan(at)];
            steps.Add($"inserted {token[..Math.Min(token.Length, 20)]} at {at}");
        }
        else
        {
            bytes = MutateBytes(bytes, steps);
        }

        return (bytes, string.Join("; ", steps));
    }

    /// <summary>Query parameters from valid ones: each kept, dropped, made hostile or repeated. Values come back percent-encoded.</summary>
    public (string Query, string Mutation) Query(IReadOnlyList<(string Name, string Value)> valid)
    {
        var pairs = new List<string>();
        var steps = new List<string>();
        foreach (var (name, value) in valid)
        {
            switch (Next(20))
            {
                case < 9:
                    pairs.Add($"{name}={Uri.EscapeDataString(value)}");
                    break;
                case < 12:
                    steps.Add($"no {name}");
                    break;
                case < 18:
                    var hostile = HostileQueryValue();
                    pairs.Add($"{name}={hostile}");
                    steps.Add($"{name}={(hostile.Length > 40 ? hostile[..40] + "…" : hostile)}");
                    break;
                default:
                    pairs.Add($"{name}={Uri.EscapeDataString(value)}");
                    pairs.Add($"{name}={HostileQueryValue()}");
                    steps.Add($"{name} twice");
                    break;
            }
        }

        if (Chance(0.05))
        {
            pairs.Add(HostileQueryValue() + "=" + HostileQueryValue());
            steps.Add("unknown parameter");
        }

        return (pairs.Count == 0 ? "" : "?" + string.Join('&', pairs), string.Join("; ", steps));
    }

    /// <summary>A path segment: the valid one, or a hostile one, percent-encoded.</summary>
    public (string Segment, string Mutation) Segment(string valid, double hostileShare)
    {
        if (!Chance(hostileShare))
        {
            return (Uri.EscapeDataString(valid), "");
        }

        var hostile = HostileQueryValue();
        // Kestrel refuses a NUL in the path itself, with an empty 400, before any middleware runs:
        // not an answer Reelay gives, so not one to judge here.
        hostile = hostile == "%00" ? "%01" : hostile;
        var segment = Chance(0.3) ? Uri.EscapeDataString(valid) + hostile : hostile;
        return (segment.Length == 0 ? "%20" : segment, $"segment {(segment.Length > 40 ? segment[..40] + "…" : segment)}");
    }

    /// <summary>Percent-encoded values no client should send: invalid UTF-8, NUL, numbers out of range, traversal, long runs.</summary>
    private string HostileQueryValue() => Pick((string[])[
        "", "%FF", "%ED%A0%80", "%C0%AF", "%00", "%25", "%F0%9F%98%80", "%E2%80%AE", "a%20b", "+", "%2B5", "%205", "-1", "0", "1", "100", "101",
        "2147483648", "99999999999999999999", "1e2", "0x10", "asc", "desc", "ASC", "video", "thumbnail", "spritesheet", "%27%3B--",
        "..%2F..%2Fetc%2Fpasswd", "%3Cscript%3E", "grok%3Aabc", "sora-2%3A00000000-0000-0000-0000-000000000000", new string('a', 3000),
    ]);

    private TreeNode MutateTree(TreeNode root, List<string> steps)
    {
        var slots = new List<Slot>();
        JsonTree.CollectSlots(root, "$", slots);
        switch (Next(10))
        {
            case 0 when slots.Count > 0:
            case 1 when slots.Count > 0:
                var swapped = Pick(slots);
                var value = RandomValue(out var what);
                swapped.Set(value);
                steps.Add($"{swapped.Path} → {what}");
                return root;
            case 2 when slots.Count > 0:
                var removed = Pick(slots);
                removed.Remove();
                steps.Add($"removed {removed.Path}");
                return root;
            case 3:
                var objects = JsonTree.Objects(root).ToList();
                if (objects.Count == 0)
                {
                    goto default;
                }

                var target = Pick(objects);
                if (target.Properties.Count > 0 && Chance(0.7))
                {
                    var copy = Pick(target.Properties);
                    target.Properties.Insert(Next(target.Properties.Count + 1), new TreeProperty(copy.Name, RandomValue(out var dupWhat)));
                    steps.Add($"duplicated \"{Encoding.UTF8.GetString(copy.Name)}\" as {dupWhat}");
                }
                else
                {
                    var name = Pick(FieldNames);
                    target.Properties.Add(new TreeProperty(Encoding.UTF8.GetBytes(name), RandomValue(out var addWhat)));
                    steps.Add($"added \"{name}\" = {addWhat}");
                }

                return root;
            case 4:
                var owners = JsonTree.Objects(root).Where(o => o.Properties.Count > 0).ToList();
                if (owners.Count == 0)
                {
                    goto default;
                }

                var owner = Pick(owners);
                var index = Next(owner.Properties.Count);
                var hostileName = HostileStringBody(out var nameWhat);
                owner.Properties[index] = owner.Properties[index] with { Name = hostileName };
                steps.Add($"property name #{index} → {nameWhat}");
                return root;
            case 5:
            case 6:
                var strings = slots.Where(s => s.Get() is TreeScalar { IsString: true }).ToList();
                if (strings.Count == 0)
                {
                    goto default;
                }

                var text = Pick(strings);
                var scalar = (TreeScalar)text.Get();
                var inner = scalar.Raw.AsSpan(1, scalar.Raw.Length - 2).ToArray();
                var at = Next(inner.Length + 1);
                var hostile = HostileStringBody(out var textWhat);
                text.Set(new TreeScalar([(byte)'"', .. inner.AsSpan(0, at), .. hostile, .. inner.AsSpan(at), (byte)'"']));
                steps.Add($"{text.Path}: {textWhat} inserted at {at}");
                return root;
            case 7 when slots.Count > 0:
                var grown = Pick(slots);
                grown.Set(Oversized(out var bigWhat));
                steps.Add($"{grown.Path} → {bigWhat}");
                return root;
            case 8:
                steps.Add("root replaced");
                return Chance(0.5) ? RandomValue(out _) : new TreeArray([root]);
            default:
                var any = RandomValue(out var anyWhat);
                var top = JsonTree.Objects(root).FirstOrDefault();
                if (top is null)
                {
                    return any;
                }

                top.Properties.Add(new TreeProperty("extra"u8.ToArray(), any));
                steps.Add($"added \"extra\" = {anyWhat}");
                return root;
        }
    }

    /// <summary>Any JSON value, of any type, often one a field does not accept.</summary>
    private TreeNode RandomValue(out string what)
    {
        switch (Next(9))
        {
            case 0:
            case 1:
                var text = Pick(OddStrings);
                what = $"string {JsonSerializer.Serialize(text)}";
                return new TreeScalar(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(text)));
            case 2:
                var body = HostileStringBody(out what);
                return new TreeScalar([(byte)'"', .. body, (byte)'"']);
            case 3:
                var number = Pick(Numbers);
                what = "number " + number;
                return new TreeScalar(Encoding.ASCII.GetBytes(number));
            case 4:
                var literal = Pick((string[])["true", "false", "null"]);
                what = literal;
                return new TreeScalar(Encoding.ASCII.GetBytes(literal));
            case 5:
                what = "array";
                return new TreeArray([.. Enumerable.Range(0, Next(4)).Select(n => RandomValue(out _))]);
            case 6:
                what = "object";
                var properties = Enumerable.Range(0, Next(3))
                    .Select(n => new TreeProperty(Encoding.UTF8.GetBytes(Pick(FieldNames)), RandomValue(out _)))
                    .ToList();
                return new TreeObject(properties);
            case 7:
                what = "empty container";
                return Chance(0.5) ? new TreeArray([]) : new TreeObject([]);
            default:
                return Oversized(out what);
        }
    }

    /// <summary>The text between a string's quotes: an escape that decodes to a lone surrogate, raw bytes that are not UTF-8, or another odd escape.</summary>
    private byte[] HostileStringBody(out string what)
    {
        if (Chance(0.5))
        {
            var raw = Pick(InvalidUtf8);
            what = "raw bytes " + Convert.ToHexString(raw);
            return raw;
        }

        var escaped = Pick(EscapedStringBodies);
        what = "escape " + escaped;
        return Encoding.ASCII.GetBytes(escaped);
    }

    private byte[] Cached(string key, Func<byte[]> make)
    {
        if (!_oversized.TryGetValue(key, out var bytes))
        {
            _oversized[key] = bytes = make();
        }

        return bytes;
    }

    private TreeNode Oversized(out string what)
    {
        switch (Next(4))
        {
            case 0:
                var length = Pick((int[])[2001, 4097, 8001, 70_000, 300_000]);
                what = $"string of {length} chars";
                return new TreeScalar(Cached($"s{length}", () => Encoding.ASCII.GetBytes("\"" + new string('a', length) + "\"")));
            case 1:
                var depth = Pick((int[])[15, 17, 200, 5000]);
                what = $"nesting {depth} deep";
                return new TreeScalar(Cached($"n{depth}", () => Encoding.ASCII.GetBytes(new string('[', depth) + new string(']', depth))));
            case 2:
                var count = Pick((int[])[17, 501, 2000]);
                what = $"array of {count} URLs";
                return new TreeArray([.. Enumerable.Repeat<TreeNode>(new TreeScalar("\"https://example.com/a.png\""u8.ToArray()), count)]);
            default:
                var digits = Pick((int[])[30, 400, 100_000]);
                what = $"number of {digits} digits";
                return new TreeScalar(Cached($"d{digits}", () => Encoding.ASCII.GetBytes(new string('9', digits))));
        }
    }
}

/// <summary>One part of a multipart body; <paramref name="Disposition"/> replaces the whole Content-Disposition value when set.</summary>
internal sealed record FormPart(byte[] Name, byte[] Value, byte[]? FileName = null, string? ContentType = null, string? Disposition = null);

/// <summary>A JSON value kept as raw bytes where it is a leaf, so mutations can write what no serializer would.</summary>
internal abstract class TreeNode;

internal sealed class TreeScalar(byte[] raw) : TreeNode
{
    public byte[] Raw { get; } = raw;

    public bool IsString => Raw.Length >= 2 && Raw[0] == '"' && Raw[^1] == '"';
}

internal sealed class TreeArray(List<TreeNode> items) : TreeNode
{
    public List<TreeNode> Items { get; } = items;
}

internal sealed class TreeObject(List<TreeProperty> properties) : TreeNode
{
    public List<TreeProperty> Properties { get; } = properties;
}

/// <param name="Name">The name's raw bytes between the quotes, escapes kept.</param>
internal sealed record TreeProperty(byte[] Name, TreeNode Value);

/// <summary>A place in the tree that holds a value: a property of an object or an item of an array.</summary>
internal sealed class Slot(string path, Func<TreeNode> get, Action<TreeNode> set, Action remove)
{
    public string Path { get; } = path;

    public TreeNode Get() => get();

    public void Set(TreeNode value) => set(value);

    public void Remove() => remove();
}

internal static class JsonTree
{
    public static TreeNode Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return From(document.RootElement);
    }

    public static byte[] Serialize(TreeNode node)
    {
        var output = new List<byte>();
        Write(node, output);
        return [.. output];
    }

    public static IEnumerable<TreeObject> Objects(TreeNode node)
    {
        switch (node)
        {
            case TreeObject obj:
                yield return obj;
                foreach (var inner in obj.Properties.SelectMany(p => Objects(p.Value)))
                {
                    yield return inner;
                }

                break;
            case TreeArray array:
                foreach (var inner in array.Items.SelectMany(Objects))
                {
                    yield return inner;
                }

                break;
        }
    }

    public static void CollectSlots(TreeNode node, string path, List<Slot> slots)
    {
        switch (node)
        {
            case TreeObject obj:
                for (var i = 0; i < obj.Properties.Count; i++)
                {
                    var index = i;
                    var property = obj.Properties[i];
                    var here = $"{path}.{Encoding.UTF8.GetString(property.Name)}";
                    slots.Add(new Slot(here, () => obj.Properties[index].Value, v => obj.Properties[index] = obj.Properties[index] with { Value = v }, () => obj.Properties.RemoveAt(index)));
                    CollectSlots(property.Value, here, slots);
                }

                break;
            case TreeArray array:
                for (var i = 0; i < array.Items.Count; i++)
                {
                    var index = i;
                    var here = $"{path}[{i}]";
                    slots.Add(new Slot(here, () => array.Items[index], v => array.Items[index] = v, () => array.Items.RemoveAt(index)));
                    CollectSlots(array.Items[i], here, slots);
                }

                break;
        }
    }

    private static TreeNode From(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => new TreeObject([.. element.EnumerateObject().Select(p => new TreeProperty(JsonMarshal.GetRawUtf8PropertyName(p).ToArray(), From(p.Value)))]),
        JsonValueKind.Array => new TreeArray([.. element.EnumerateArray().Select(From)]),
        _ => new TreeScalar(JsonMarshal.GetRawUtf8Value(element).ToArray()),
    };

    private static void Write(TreeNode node, List<byte> output)
    {
        switch (node)
        {
            case TreeScalar scalar:
                output.AddRange(scalar.Raw);
                break;
            case TreeArray array:
                output.Add((byte)'[');
                for (var i = 0; i < array.Items.Count; i++)
                {
                    if (i > 0)
                    {
                        output.Add((byte)',');
                    }

                    Write(array.Items[i], output);
                }

                output.Add((byte)']');
                break;
            case TreeObject obj:
                output.Add((byte)'{');
                for (var i = 0; i < obj.Properties.Count; i++)
                {
                    if (i > 0)
                    {
                        output.Add((byte)',');
                    }

                    output.Add((byte)'"');
                    output.AddRange(obj.Properties[i].Name);
                    output.AddRange("\":"u8);
                    Write(obj.Properties[i].Value, output);
                }

                output.Add((byte)'}');
                break;
        }
    }
}
