using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace Reelay.Providers.Media;

/// <summary>How one tool run ended.</summary>
/// <param name="ExitCode">The process exit code.</param>
/// <param name="StandardOutput">Everything written to stdout, unless lines were handed to a callback.</param>
/// <param name="StandardErrorTail">The last lines of stderr: enough to say why ffmpeg failed, small enough for a message.</param>
internal sealed record MediaProcessResult(int ExitCode, string StandardOutput, string StandardErrorTail);

/// <summary>Runs ffmpeg and ffprobe: arguments as a list (never a shell string), at lower CPU priority, stderr tail kept, cancellation kills the process.</summary>
internal static class MediaProcess
{
    // ffmpeg prints its real complaint in the last few lines; the banner and stream maps before it are noise.
    private const int StandardErrorTailLines = 12;

    public static async Task<MediaProcessResult> RunAsync(
        MediaTool tool,
        IReadOnlyList<string> arguments,
        string? workingDirectory,
        Action<string>? onOutputLine,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var executable = Resolve(tool.Executable) ?? throw NotFound(tool, null);
        // Started through nice(1) rather than lowered after the start: Linux keeps a nice value per
        // thread, and ffmpeg's encoder threads created before a later setpriority would keep the old one.
        var nice = tool.Niceness > 0 ? Nice.Value : null;
        var startInfo = new ProcessStartInfo(nice ?? executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            CreateNoWindow = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = workingDirectory ?? "",
        };
        if (nice is not null)
        {
            // nice execs the tool in its own process: the pid, exit code and output are the tool's.
            foreach (var argument in (string[])["-n", tool.Niceness.ToString(System.Globalization.CultureInfo.InvariantCulture), executable])
            {
                startInfo.ArgumentList.Add(argument);
            }
        }

        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            throw NotFound(tool, ex);
        }

        await using var killOnCancel = cancellationToken.Register(static state => Kill((Process)state!), process);
        var standardOutput = new StringBuilder();
        var readOutput = ReadOutputAsync(process.StandardOutput, standardOutput, onOutputLine);
        var readError = ReadTailAsync(process.StandardError);

        // Wait without the token: the registration above kills the process, and returning before it
        // has exited would leave a renderer writing into a directory the caller is about to delete.
        await process.WaitForExitAsync(CancellationToken.None);
        await readOutput;
        var errorTail = await readError;
        cancellationToken.ThrowIfCancellationRequested();
        return new MediaProcessResult(process.ExitCode, standardOutput.ToString(), errorTail);
    }

    /// <summary>nice(1), where there is one (Linux, macOS, the BSDs); without it the tools run at Reelay's priority.</summary>
    private static readonly Lazy<string?> Nice = new(() => OperatingSystem.IsWindows() ? null : Resolve("nice"));

    private static MediaException NotFound(MediaTool tool, Exception? inner)
    {
        var message = $"{tool.Name} not found at '{tool.Executable}': install ffmpeg (apt-get install -y ffmpeg) or set {tool.SettingName}.";
        return inner is null ? new MediaException(message) : new MediaException(message, inner);
    }

    /// <summary>
    /// A path as it is when it names a directory, else the first match on <c>PATH</c>, as the OS would
    /// look it up; null when there is none. Resolved here because nice, not Reelay, would start the tool.
    /// </summary>
    private static string? Resolve(string executable)
    {
        if (executable.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal) || executable.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(executable) ? executable : null;
        }

        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, executable);
            if (File.Exists(candidate))
            {
                return candidate;
            }

            if (OperatingSystem.IsWindows() && File.Exists(candidate + ".exe"))
            {
                return candidate + ".exe";
            }
        }

        return null;
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited: nothing left to stop.
        }
    }

    private static async Task ReadOutputAsync(StreamReader reader, StringBuilder output, Action<string>? onLine)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            if (onLine is null)
            {
                output.AppendLine(line);
            }
            else
            {
                onLine(line);
            }
        }
    }

    private static async Task<string> ReadTailAsync(StreamReader reader)
    {
        var tail = new Queue<string>(StandardErrorTailLines);
        while (await reader.ReadLineAsync() is { } line)
        {
            if (tail.Count == StandardErrorTailLines)
            {
                tail.Dequeue();
            }
            tail.Enqueue(line);
        }
        return string.Join('\n', tail).Trim();
    }
}

/// <summary>A tool to run, with the setting that names it (for the "not found" message) and how far below Reelay's its CPU priority is.</summary>
internal sealed record MediaTool(string Name, string Executable, string SettingName, int Niceness);
