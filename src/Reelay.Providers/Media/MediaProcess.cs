using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace Reelay.Providers.Media;

/// <summary>How one tool run ended.</summary>
/// <param name="ExitCode">The process exit code.</param>
/// <param name="StandardOutput">Everything written to stdout, unless lines were handed to a callback.</param>
/// <param name="StandardErrorTail">The last lines of stderr: enough to say why ffmpeg failed, small enough for a message.</param>
internal sealed record MediaProcessResult(int ExitCode, string StandardOutput, string StandardErrorTail);

/// <summary>Runs ffmpeg and ffprobe: arguments as a list (never a shell string), stderr tail kept, cancellation kills the process.</summary>
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
        var startInfo = new ProcessStartInfo(tool.Executable)
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
            throw new MediaException(
                $"{tool.Name} not found at '{tool.Executable}': install ffmpeg (apt-get install -y ffmpeg) or set {tool.SettingName}.", ex);
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

/// <summary>A tool to run, with the setting that names it (for the "not found" message).</summary>
internal sealed record MediaTool(string Name, string Executable, string SettingName);
