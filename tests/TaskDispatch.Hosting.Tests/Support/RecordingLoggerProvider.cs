using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace TaskDispatch.Hosting.Tests.Support;

/// <summary>One log line as a provider saw it: its event, level, message, exception and the scopes it was logged in.</summary>
internal sealed record LoggedLine(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception, IReadOnlyList<KeyValuePair<string, object?>> Scope);

/// <summary>Keeps every line logged through it, with the scope values around each (as a structured provider records them).</summary>
internal sealed class RecordingLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    internal ConcurrentQueue<LoggedLine> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    private sealed class Logger(RecordingLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => provider._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var scope = new List<KeyValuePair<string, object?>>();
            provider._scopes.ForEachScope(static (value, list) =>
            {
                if (value is IEnumerable<KeyValuePair<string, object?>> pairs)
                {
                    list.AddRange(pairs);
                }
            }, scope);
            provider.Lines.Enqueue(new LoggedLine(category, logLevel, eventId, formatter(state, exception), exception, scope));
        }
    }
}
