using System.Reflection;
using System.Text.Json;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Sagas.Persistence;

namespace Sagas.Messaging.Outbox;

/// <summary>Adds events to the caller's unit of work; they leave when the caller's SaveChanges commits.</summary>
public sealed class OutboxWriter(SagasDbContext db, OutboxSignal signal, OutboxMessageTypes types, TimeProvider clock)
{
    public void Add<T>(T message)
        where T : class =>
        db.Set<OutboxMessage>().Add(types.Row(message, clock));

    /// <summary>
    /// Writes the messages' rows now, in the caller's open transaction: on PostgreSQL one statement for all of them
    /// (a result of a thousand items publishes a thousand events, which as tracked rows would cost a thousand inserts
    /// and their change tracking); elsewhere they join the unit of work as <see cref="Add{T}"/> does. They leave when
    /// the transaction commits, before any message added to the unit of work after this call.
    /// </summary>
    public async Task AddNowAsync<T>(IReadOnlyList<T> messages, CancellationToken cancellationToken)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0)
            return;
        if (!db.Database.IsNpgsql() || db.Database.CurrentTransaction is null)
        {
            foreach (var message in messages)
                Add(message);
            return;
        }

        var rows = messages.Select(message => types.Row(message, clock)).ToList();
        // WITH ORDINALITY keeps the caller's order in the identity column the dispatcher publishes by.
        await db.Database.ExecuteSqlRawAsync(
            "INSERT INTO outbox_messages (message_id, message_type, body, created_at) "
            + "SELECT m.message_id, m.message_type, m.body, m.created_at FROM unnest(@ids, @types, @bodies, @created) "
            + "WITH ORDINALITY AS m(message_id, message_type, body, created_at, position) ORDER BY m.position",
            [
                new NpgsqlParameter<Guid[]>("ids", [.. rows.Select(r => r.MessageId)]),
                new NpgsqlParameter<string[]>("types", [.. rows.Select(r => r.MessageType)]),
                new NpgsqlParameter<string[]>("bodies", [.. rows.Select(r => r.Body)]),
                new NpgsqlParameter<DateTimeOffset[]>("created", [.. rows.Select(r => r.CreatedAt)]),
            ],
            cancellationToken);
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

/// <summary>
/// The message types that may travel through the outbox: the contracts (classes in a <c>Sagas.Contracts.*</c> namespace)
/// of the shared contracts assembly and of the workflow assemblies this process was given. Their full names identify them in the table, so a renamed or moved
/// contract namespace would strand rows written before the change.
/// </summary>
public sealed class OutboxMessageTypes
{
    public const string ContractNamespace = "Sagas.Contracts";

    private readonly Dictionary<string, Type> _known;

    public OutboxMessageTypes(IEnumerable<Assembly> workflowAssemblies)
    {
        _known = workflowAssemblies.Prepend(typeof(Contracts.Diagnostics.CheckWorker).Assembly).Distinct()
            .SelectMany(assembly => assembly.GetExportedTypes())
            .Where(type => type is { IsClass: true, IsAbstract: false, Namespace: { } ns } && (ns == ContractNamespace || ns.StartsWith(ContractNamespace + ".", StringComparison.Ordinal)))
            .ToDictionary(type => type.FullName!, StringComparer.Ordinal);
    }

    public static JsonSerializerOptions JsonOptions { get; } = new(JsonSerializerDefaults.Web);

    public Type Resolve(string name) =>
        _known.TryGetValue(name, out var type)
            ? type
            : throw new InvalidOperationException($"Outbox row names message type '{name}', which is not a contract of this build.");

    /// <summary>The row that publishes <paramref name="message"/> once the caller's transaction commits.</summary>
    public OutboxMessage Row<T>(T message, TimeProvider clock)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(clock);
        EnsureKnown(typeof(T));
        return new OutboxMessage
        {
            MessageId = NewId.NextGuid(),
            MessageType = typeof(T).FullName!,
            Body = JsonSerializer.Serialize(message, JsonOptions),
            CreatedAt = clock.GetUtcNow(),
        };
    }

    public void EnsureKnown(Type type)
    {
        if (!_known.ContainsKey(type.FullName!))
            throw new ArgumentException($"{type.FullName} is not a message contract (a class in a {ContractNamespace} namespace of a registered assembly); only contracts may go through the outbox.", nameof(type));
    }
}
