using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Sagas.Benchmarks.LlmPolling;

/// <summary>One poll cycle as the poller logged it: when it was logged (after its ledger transaction) and its phases.</summary>
internal sealed record PollCycleRecord(DateTimeOffset LoggedAt, Guid JobId, int ItemsPolled, int ItemsUpdated, bool Resolved, bool FollowedAtOnce, long? QueuedMs, long PollMs, long LedgerMs)
{
    public DateTimeOffset LedgerStart => LoggedAt.AddMilliseconds(-LedgerMs);

    public DateTimeOffset PollStart => LedgerStart.AddMilliseconds(-PollMs);
}

/// <summary>
/// Keeps the poller's per-cycle log lines (its structured values) while <see cref="Recording"/> is on, so that the lag
/// after the flip can be split into the cycles that make it: waiting in the queue, polling, applying.
/// </summary>
internal sealed class PollCycleRecorder : ILoggerProvider, ILogger
{
    public const string Category = "Sagas.LlmJobs.Consumers.PollLlmJobConsumer";

    private readonly ConcurrentQueue<PollCycleRecord> _cycles = new();

    public volatile bool Recording;

    public IReadOnlyCollection<PollCycleRecord> Cycles => _cycles;

    public ILogger CreateLogger(string categoryName) => categoryName == Category ? this : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!Recording || state is not IReadOnlyList<KeyValuePair<string, object?>> values)
            return;
        var at = DateTimeOffset.UtcNow;
        object? Value(string key) => values.FirstOrDefault(v => v.Key == key).Value;
        if (Value("JobId") is not Guid job || Value("PollMs") is not long poll || Value("LedgerMs") is not long ledger)
            return;
        _cycles.Enqueue(new PollCycleRecord(at, job, Convert.ToInt32(Value("ItemsPolled"), CultureInfo.InvariantCulture), Convert.ToInt32(Value("ItemsUpdated"), CultureInfo.InvariantCulture),
            Value("JobsResolved") is string resolved && resolved.Length > 0, Value("FollowedAtOnce") is true, Value("QueuedMs") as long?, poll, ledger));
    }

    public void Dispose()
    {
    }
}

/// <summary>
/// EF Core's commands while <see cref="Recording"/> is on, grouped by the statement's first words: count and total
/// time until the command returned (server time plus the round trip, and any lock wait).
/// </summary>
internal sealed class EfCommandRecorder : IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>, IDisposable
{
    private readonly ConcurrentDictionary<string, (int Count, double Ms, long Rows, int Statements)> _commands = new(StringComparer.Ordinal);
    private readonly List<IDisposable> _subscriptions = [];
    private readonly IDisposable _all;

    public volatile bool Recording;

    public EfCommandRecorder() => _all = DiagnosticListener.AllListeners.Subscribe(this);

    public void OnNext(DiagnosticListener value)
    {
        if (value.Name == DbLoggerCategory.Name)
        {
            lock (_subscriptions)
                _subscriptions.Add(value.Subscribe(this, name => name == RelationalEventId.CommandExecuted.Name));
        }
    }

    public void OnNext(KeyValuePair<string, object?> value)
    {
        if (!Recording || value.Value is not CommandExecutedEventData executed)
            return;
        var (key, statements) = Shape(executed.Command.CommandText);
        var rows = executed.Result is int affected ? affected : 0;
        _commands.AddOrUpdate(key, (1, executed.Duration.TotalMilliseconds, rows, statements),
            (_, c) => (c.Count + 1, c.Ms + executed.Duration.TotalMilliseconds, c.Rows + rows, c.Statements + statements));
    }

    public string Summary(int top)
    {
        var text = new StringBuilder();
        foreach (var (shape, (count, ms, rows, statements)) in _commands.OrderByDescending(c => c.Value.Ms).Take(top))
            text.AppendLine(CultureInfo.InvariantCulture, $"  {ms,8:F0} ms  {count,6} commands  {statements,7} statements  {rows,7} rows affected  {shape}");
        return text.ToString();
    }

    // The statement's kind and table, enough to tell the ledger's steps apart; a batch is named by its first statement.
    private static (string Shape, int Statements) Shape(string sql)
    {
        var lines = sql.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Where(l => !l.StartsWith("--", StringComparison.Ordinal)).ToList();
        var first = lines.FirstOrDefault() ?? "";
        var statements = sql.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Length;
        var words = string.Join(' ', first.Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(6));
        return (statements > 1 ? $"{words} … (batched)" : words, statements);
    }

    public void OnCompleted()
    {
    }

    public void OnError(Exception error)
    {
    }

    public void Dispose()
    {
        _all.Dispose();
        lock (_subscriptions)
        {
            foreach (var subscription in _subscriptions)
                subscription.Dispose();
        }
    }
}
