using System.Text.Json;
using MassTransit;

namespace Sagas.Persistence.Outbox;

/// <summary>Adds events to the caller's unit of work; they leave when the caller's SaveChanges commits.</summary>
public sealed class Outbox(SagasDbContext db, OutboxSignal signal, TimeProvider clock)
{
    public void Add<T>(T message)
        where T : class
    {
        OutboxMessageTypes.EnsureKnown(typeof(T));
        db.Set<OutboxMessage>().Add(new OutboxMessage
        {
            MessageId = NewId.NextGuid(),
            MessageType = typeof(T).FullName!,
            Body = JsonSerializer.Serialize(message, OutboxMessageTypes.JsonOptions),
            CreatedAt = clock.GetUtcNow(),
        });
    }

    /// <summary>Call after the commit: wakes the dispatcher so events leave at once instead of at its next poll.</summary>
    public void Flush() => signal.Notify();
}

/// <summary>Wakes the dispatcher of this process.</summary>
public sealed class OutboxSignal : IDisposable
{
    private readonly SemaphoreSlim _pending = new(0, 1);

    public void Notify()
    {
        if (_pending.CurrentCount == 0)
        {
            try
            {
                _pending.Release();
            }
            catch (SemaphoreFullException)
            {
                // Another writer woke it first; one wake-up covers both.
            }
        }
    }

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _pending.WaitAsync(timeout, cancellationToken);

    public void Dispose() => _pending.Dispose();
}

/// <summary>Only message contracts may travel through the outbox; their full names identify them in the table.</summary>
public static class OutboxMessageTypes
{
    public static JsonSerializerOptions JsonOptions { get; } = new(JsonSerializerDefaults.Web);

    private static readonly Dictionary<string, Type> Known = typeof(Contracts.Diagnostics.CheckWorker).Assembly
        .GetExportedTypes()
        .Where(type => type is { IsClass: true, IsAbstract: false })
        .ToDictionary(type => type.FullName!, StringComparer.Ordinal);

    public static Type Resolve(string name) =>
        Known.TryGetValue(name, out var type)
            ? type
            : throw new InvalidOperationException($"Outbox row names message type '{name}', which is not a contract of this build.");

    public static void EnsureKnown(Type type)
    {
        if (!Known.ContainsKey(type.FullName!))
            throw new ArgumentException($"{type.FullName} is not a message contract in Sagas.Contracts; only contracts may go through the outbox.", nameof(type));
    }
}
