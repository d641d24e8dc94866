using System.Text.RegularExpressions;

namespace Reelay.Tasks;

/// <summary>
/// Trailing <c>--name=value</c> flags in a prompt (the grok app's <c>--mode=custom</c>): split off
/// into options so they never reach an upstream that would read them as prompt text.
/// </summary>
public static partial class PromptFlags
{
    public static (string Prompt, Dictionary<string, string> Flags) Split(string prompt)
    {
        var flags = new Dictionary<string, string>(StringComparer.Ordinal);
        var rest = prompt.TrimEnd();
        while (TrailingFlag().Match(rest) is { Success: true } match)
        {
            flags.TryAdd(match.Groups["name"].Value.ToLowerInvariant(), match.Groups["value"].Value);
            rest = rest[..match.Index].TrimEnd();
        }

        return (rest.Trim(), flags);
    }

    [GeneratedRegex(@"(?:^|\s)--(?<name>[A-Za-z][A-Za-z0-9_-]{0,31})=(?<value>\S{1,128})$", RegexOptions.CultureInvariant)]
    private static partial Regex TrailingFlag();
}
