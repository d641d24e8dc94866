using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Reelay.Testing;

/// <summary>
/// Every log line an in-process Reelay writes, at every level its configuration lets through: category,
/// level, the formatted message, each structured value and any exception in full. For tests that read
/// what the logs said, or that make sure something never appears in them.
/// </summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    /// <summary>Everything captured so far, one entry a line.</summary>
    public string Text => string.Join('\n', _lines);

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull
        {
            lines.Enqueue($"{category} scope: {state}");
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(", ", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
            lines.Enqueue($"{logLevel} {category}[{eventId.Id}]: {formatter(state, exception)} {{{values}}}{(exception is null ? "" : "\n" + exception)}");
        }
    }
}
