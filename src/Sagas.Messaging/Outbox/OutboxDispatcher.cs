using System.Text.Json;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sagas.Core.Configuration;
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
}

/// <summary>
/// Publishes outbox rows in id order and deletes them in the same transaction. Several processes may run it:
/// on PostgreSQL rows are claimed with FOR UPDATE SKIP LOCKED. A crash between publish and commit publishes the
/// row again later with the same message id: receivers are idempotent.
/// </summary>
public sealed class OutboxDispatcher(
    IServiceScopeFactory scopes,
    IBus bus,
    OutboxSignal signal,
    OutboxOptions options,
    OutboxMessageTypes types,
    ILogger<OutboxDispatcher> logger) : BackgroundService
{
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

        foreach (var row in rows)
        {
            var type = types.Resolve(row.MessageType);
            var message = JsonSerializer.Deserialize(row.Body, type, OutboxMessageTypes.JsonOptions)
                ?? throw new InvalidOperationException($"Outbox row {row.Id} holds an empty {row.MessageType}.");
            await bus.Publish(message, type, context => context.MessageId = row.MessageId, cancellationToken);
        }

        db.RemoveRange(rows);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return rows.Count;
    }
}
