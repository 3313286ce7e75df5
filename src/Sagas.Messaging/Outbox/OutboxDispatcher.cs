using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Diagnostics.Metrics;
using System.Text;
using System.Text.Json;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sagas.Core.Configuration;
using Sagas.Core.Telemetry;
using Sagas.Messaging.FailedMessages;
using Sagas.Persistence;

namespace Sagas.Messaging.Outbox;

public sealed class OutboxOptions
{
    public const string SectionName = "Outbox";

    /// <summary>How often the table is checked when nothing woke the dispatcher (rows left by a crashed process).</summary>
    [Positive]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    [Positive]
    public int BatchSize { get; set; } = 200;

    /// <summary>
    /// Publishes of one batch in flight at once. Each publish waits for the broker's confirm, so one at a time spends a
    /// round trip per row; a bound keeps one dispatcher from flooding the broker's channel.
    /// </summary>
    [Range(1, 1024)]
    public int PublishConcurrency { get; set; } = 32;
}

/// <summary>
/// Publishes outbox rows and deletes them in the same transaction. Several processes may run it: on PostgreSQL rows
/// are claimed with FOR UPDATE SKIP LOCKED, so each row is published by one dispatcher. A batch is published
/// concurrently (bounded by <see cref="OutboxOptions.PublishConcurrency"/>); only the rows whose publish succeeded are
/// deleted, so a broker failure in the middle of a batch publishes none of the others twice. A row that cannot be read
/// (a type this build does not know, a body that is not the type's JSON) is set aside: moved to <c>failed_messages</c>
/// under the queue name <see cref="Queue"/>, counted by <c>sagas.outbox.set_aside</c>, redeliverable from there, and it
/// never holds back the rows around it. A crash between publish and commit publishes the row again later with the same
/// message id: receivers recognise it (docs/reliability.md).
/// </summary>
public sealed class OutboxDispatcher(
    IServiceScopeFactory scopes,
    IBus bus,
    OutboxSignal signal,
    OutboxOptions options,
    OutboxMessageTypes types,
    ILogger<OutboxDispatcher> logger) : BackgroundService
{
    /// <summary>The <c>failed_messages</c> queue name of set-aside rows; redelivering one puts it back into the outbox.</summary>
    public const string Queue = "outbox";

    /// <summary>The content type of a set-aside row's body: the outbox's JSON of the message, not a MassTransit envelope.</summary>
    public const string ContentType = "application/vnd.sagas.outbox+json";

    private static readonly Counter<long> SetAside = SagasTelemetry.Meter.CreateCounter<long>(
        "sagas.outbox.set_aside", "{message}", "Outbox rows that could not be published and were moved to failed_messages.");

    private static readonly Counter<long> Published = SagasTelemetry.Meter.CreateCounter<long>(
        "sagas.outbox.published", "{message}", "Outbox rows published.");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                while (await DispatchBatchAsync(stoppingToken) == options.BatchSize)
                {
                }
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(exception, "Outbox dispatch failed; retrying after {Interval}", options.PollInterval);
            }

            try
            {
                await signal.WaitAsync(options.PollInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <returns>How many rows the batch claimed (published, set aside or left for a retry).</returns>
    /// <exception cref="OutboxPublishException">Some rows could not be published; the others were and are gone.</exception>
    public async Task<int> DispatchBatchAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var rows = db.Database.IsNpgsql()
            ? await db.Set<OutboxMessage>()
                .FromSqlRaw("SELECT * FROM outbox_messages ORDER BY id LIMIT {0} FOR UPDATE SKIP LOCKED", options.BatchSize)
                .ToListAsync(cancellationToken)
            : await db.Set<OutboxMessage>().OrderBy(m => m.Id).Take(options.BatchSize).ToListAsync(cancellationToken);
        if (rows.Count == 0)
            return 0;

        var readable = new List<(OutboxMessage Row, Type Type, object Message)>(rows.Count);
        var unreadable = new List<(OutboxMessage Row, Exception Problem)>();
        foreach (var row in rows)
        {
            if (TryRead(row, out var type, out var message, out var problem))
                readable.Add((row, type, message));
            else
                unreadable.Add((row, problem));
        }

        var failures = new ConcurrentBag<(OutboxMessage Row, Exception Problem)>();
        await Parallel.ForEachAsync(
            readable,
            new ParallelOptions { MaxDegreeOfParallelism = options.PublishConcurrency, CancellationToken = cancellationToken },
            async (item, token) =>
            {
                try
                {
                    await bus.Publish(item.Message, item.Type, context => context.MessageId = item.Row.MessageId, token);
                }
                catch (Exception exception) when (exception is not OperationCanceledException || !token.IsCancellationRequested)
                {
                    failures.Add((item.Row, exception));
                }
            });

        // Set aside first: the recorder saves as it goes, inside this transaction, before the deletes are added.
        var recorder = new FailedMessageRecorder(db);
        var now = (scope.ServiceProvider.GetService<TimeProvider>() ?? TimeProvider.System).GetUtcNow();
        foreach (var (row, problem) in unreadable)
            await recorder.RecordAsync(Fault(row, problem, now), cancellationToken);
        var failed = failures.Select(f => f.Row.Id).ToHashSet();
        // One DELETE for the batch rather than one statement per row: the dispatcher runs for every event a saga or a
        // ledger publishes, and the rows are locked by this transaction, so nothing else can have removed them.
        var done = rows.Where(row => !failed.Contains(row.Id)).Select(row => row.Id).ToList();
        await db.SaveChangesAsync(cancellationToken);
        if (done.Count > 0)
            await db.Set<OutboxMessage>().Where(m => done.Contains(m.Id)).ExecuteDeleteAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);

        Published.Add(readable.Count - failed.Count);
        foreach (var (row, problem) in unreadable)
        {
            SetAside.Add(1, new KeyValuePair<string, object?>("type", row.MessageType));
            logger.LogError("Outbox row {RowId} (message {MessageId}, {MessageType}) cannot be published and was moved to failed_messages: {Problem}",
                row.Id, row.MessageId, row.MessageType, problem.Message);
        }

        if (!failures.IsEmpty)
            throw new OutboxPublishException(failures.Count, rows.Count, failures.First().Problem);
        return rows.Count;
    }

    private bool TryRead(OutboxMessage row, out Type type, out object message, out Exception problem)
    {
        type = typeof(object);
        message = null!;
        problem = null!;
        try
        {
            type = types.Resolve(row.MessageType);
            message = JsonSerializer.Deserialize(row.Body, type, OutboxMessageTypes.JsonOptions)
                ?? throw new InvalidOperationException($"Outbox row {row.Id} holds an empty {row.MessageType}.");
            return true;
        }
        catch (Exception exception) when (exception is InvalidOperationException or JsonException or NotSupportedException or ArgumentException)
        {
            problem = exception;
            return false;
        }
    }

    private static FailedMessageFault Fault(OutboxMessage row, Exception problem, DateTimeOffset now) => new(
        row.MessageId,
        [row.MessageType],
        Queue,
        problem.GetType().FullName ?? problem.GetType().Name,
        problem.Message,
        problem.StackTrace,
        now,
        Encoding.UTF8.GetBytes(row.Body),
        ContentType,
        "{}");
}

/// <summary>Part of a batch could not be published (the broker refused or was gone); those rows stay for the next pass.</summary>
public sealed class OutboxPublishException(int failed, int claimed, Exception first)
    : Exception($"{failed} of {claimed} outbox rows could not be published; they stay in the outbox.", first);
