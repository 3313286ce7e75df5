using MassTransit;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Sagas.Messaging.SagaRepository;

namespace Sagas.Messaging;

/// <summary>Which database failures a new attempt can cure; the one place every retry policy asks.</summary>
public static class DatabaseErrors
{
    /// <summary>Lock conflicts, serialization failures, dropped connections, a restarting server, a busy SQLite file.</summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        DbUpdateConcurrencyException => true,
        SagaConcurrencyException => true,
        PostgresException { SqlState: PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.LockNotAvailable } => true,
        // Dropped connections, timeouts, a server restarting (57P01/57P03, 08xxx): Npgsql marks those transient.
        NpgsqlException { IsTransient: true } => true,
        SqliteException { SqliteErrorCode: 5 or 6 } => true, // SQLITE_BUSY, SQLITE_LOCKED
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsTransient),
        _ => exception.InnerException is { } inner && IsTransient(inner),
    };

    /// <summary>
    /// An INSERT hit a primary or unique key: someone else wrote the row first. With <paramref name="table"/>, only a
    /// conflict on that table counts.
    /// </summary>
    public static bool IsDuplicateKey(Exception exception, string? table = null, string? schema = null) => exception switch
    {
        PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } postgres =>
            table is null || (postgres.TableName == table && (schema is null || postgres.SchemaName == schema)),
        SqliteException { SqliteErrorCode: 19, SqliteExtendedErrorCode: 1555 or 2067 } sqlite =>
            table is null || sqlite.Message.Contains($"{table}.", StringComparison.Ordinal),
        _ => exception.InnerException is { } inner && IsDuplicateKey(inner, table, schema),
    };
}

/// <summary>Tuning of <see cref="DatabaseRetryExtensions.UseDatabaseRetry"/>; the defaults suit a consumer endpoint.</summary>
public sealed class DatabaseRetryOptions
{
    private readonly List<Func<Exception, bool>> _alsoRetried = [];

    /// <summary>Attempts after the first.</summary>
    public int RetryLimit { get; set; } = 10;

    public TimeSpan MinInterval { get; set; } = TimeSpan.FromMilliseconds(20);

    public TimeSpan MaxInterval { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan IntervalDelta { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>An exception of the endpoint's own that another attempt may cure too (a file that could not be read yet, …).</summary>
    public DatabaseRetryOptions AlsoRetry<TException>(Func<TException, bool>? when = null)
        where TException : Exception
    {
        _alsoRetried.Add(exception => exception is TException typed && (when is null || when(typed)));
        return this;
    }

    /// <summary>The wait before retry <paramref name="attempt"/> (0-based): exponential from the minimum, capped at the maximum.</summary>
    internal TimeSpan IntervalAt(int attempt)
    {
        var grown = MinInterval.TotalMilliseconds + (IntervalDelta.TotalMilliseconds * (Math.Pow(2, Math.Min(attempt, 30)) - 1));
        return TimeSpan.FromMilliseconds(Math.Min(grown, MaxInterval.TotalMilliseconds));
    }

    internal bool ShouldRetry(Exception exception) =>
        DatabaseErrors.IsTransient(exception) || DatabaseErrors.IsDuplicateKey(exception) || _alsoRetried.Any(filter => filter(exception));
}

/// <summary>The endpoint policy's retry, applied to one step inside a consumer instead of to the whole message.</summary>
public static class DatabaseRetry
{
    /// <summary>
    /// Runs <paramref name="step"/> again after a transient database failure, with the back-off of
    /// <see cref="DatabaseRetryExtensions.UseDatabaseRetry"/> (20 attempts, 100 ms to 5 s: about a minute), for a step that
    /// records work which must not be done twice (a billed provider call already made): retrying the whole message would
    /// do that work again. The step must start from a clean unit of work (clear the change tracker) each time.
    /// </summary>
    public static async Task<T> InPlaceAsync<T>(Func<CancellationToken, Task<T>> step, CancellationToken cancellationToken, DatabaseRetryOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(step);
        options ??= new DatabaseRetryOptions
        {
            RetryLimit = 20,
            MinInterval = TimeSpan.FromMilliseconds(100),
            MaxInterval = TimeSpan.FromSeconds(5),
            IntervalDelta = TimeSpan.FromMilliseconds(100),
        };
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await step(cancellationToken);
            }
            catch (Exception exception) when (attempt < options.RetryLimit && DatabaseErrors.IsTransient(exception) && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(options.IntervalAt(attempt), cancellationToken);
            }
        }
    }
}

public static class DatabaseRetryExtensions
{
    /// <summary>
    /// The retry policy of every endpoint that writes the database: transient failures and a lost insert race (a
    /// concurrent duplicate wrote the row first; the next attempt finds it and carries on as a redelivery) are retried
    /// with exponential back-off, each attempt on a fresh service scope, so a fresh DbContext. Anything else fails at
    /// once and goes to the <c>_error</c> queue. When the host registered a <see cref="DatabaseRedelivery"/>, a message
    /// whose retries were spent on a transient database error is then redelivered after minutes instead of going to
    /// <c>_error</c> (an outage longer than the retries), until its redeliveries are spent too.
    /// </summary>
    public static void UseDatabaseRetry(this IReceiveEndpointConfigurator endpoint, IRegistrationContext context, Action<DatabaseRetryOptions>? configure = null)
    {
        var options = new DatabaseRetryOptions();
        configure?.Invoke(options);
        // First, so that it wraps the retry below (and any retry the endpoint adds after this call).
        (context.GetService(typeof(DatabaseRedelivery)) as DatabaseRedelivery)?.Apply(endpoint);
        endpoint.UseMessageRetry(retry =>
        {
            retry.Handle<Exception>(options.ShouldRetry);
            retry.Exponential(options.RetryLimit, options.MinInterval, options.MaxInterval, options.IntervalDelta);
        });
    }

    /// <summary>
    /// <see cref="UseDatabaseRetry"/> with MassTransit's in-memory outbox inside the retry: what the saga or consumer
    /// publishes, sends or schedules leaves only once the attempt's transaction has committed. Every saga endpoint on the
    /// EF Core repository uses it. Generous, because optimistic mode under fan-in (many events for one instance at once)
    /// loses one race per winner; pessimistic mode rarely uses more than one retry.
    /// </summary>
    public static void UseDatabaseRetryWithOutbox(this IReceiveEndpointConfigurator endpoint, IRegistrationContext context)
    {
        endpoint.UseDatabaseRetry(context, retry =>
        {
            retry.RetryLimit = 30;
            retry.MinInterval = TimeSpan.FromMilliseconds(5);
            retry.MaxInterval = TimeSpan.FromSeconds(1);
            retry.IntervalDelta = TimeSpan.FromMilliseconds(10);
        });
        endpoint.UseInMemoryOutbox(context);
    }
}
