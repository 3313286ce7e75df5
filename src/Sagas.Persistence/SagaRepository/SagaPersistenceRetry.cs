using MassTransit;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Sagas.Persistence.SagaRepository;

/// <summary>Tuning of <see cref="SagaPersistenceRetryExtensions.UseSagaPersistenceRetry"/>; the defaults suit a saga endpoint.</summary>
public sealed class SagaPersistenceRetryOptions
{
    /// <summary>
    /// Attempts after the first. Optimistic mode under fan-in (many events for one instance at once) loses one race per
    /// winner, so this is generous; pessimistic mode rarely uses more than one.
    /// </summary>
    public int RetryLimit { get; set; } = 30;

    public TimeSpan MinInterval { get; set; } = TimeSpan.FromMilliseconds(5);

    public TimeSpan MaxInterval { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan IntervalDelta { get; set; } = TimeSpan.FromMilliseconds(10);
}

public static class SagaPersistenceRetryExtensions
{
    /// <summary>
    /// The endpoint pipe every saga endpoint on the EF Core repository uses: transient persistence failures (see
    /// <see cref="SagaTransientErrors.IsTransient"/>) are retried, each attempt on a fresh DbContext and transaction, and
    /// MassTransit's in-memory outbox inside the retry holds back everything the saga publishes, sends or schedules until
    /// the attempt's transaction has committed. Anything else fails at once and goes to the <c>_error</c> queue.
    /// Call it from a saga definition's <c>ConfigureSaga</c>.
    /// </summary>
    public static void UseSagaPersistenceRetry(
        this IReceiveEndpointConfigurator endpoint,
        IRegistrationContext context,
        Action<SagaPersistenceRetryOptions>? configure = null)
    {
        var options = new SagaPersistenceRetryOptions();
        configure?.Invoke(options);

        endpoint.UseMessageRetry(retry =>
        {
            retry.Handle<Exception>(SagaTransientErrors.IsTransient);
            retry.Exponential(options.RetryLimit, options.MinInterval, options.MaxInterval, options.IntervalDelta);
        });
        endpoint.UseInMemoryOutbox(context);
    }
}

/// <summary>Which persistence failures a new attempt can cure.</summary>
public static class SagaTransientErrors
{
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
}
