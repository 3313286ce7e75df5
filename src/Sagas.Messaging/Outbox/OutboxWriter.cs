using System.Reflection;
using System.Text.Json;
using MassTransit;
using Sagas.Persistence;

namespace Sagas.Messaging.Outbox;

/// <summary>Adds events to the caller's unit of work; they leave when the caller's SaveChanges commits.</summary>
public sealed class OutboxWriter(SagasDbContext db, OutboxSignal signal, OutboxMessageTypes types, TimeProvider clock)
{
    public void Add<T>(T message)
        where T : class =>
        db.Set<OutboxMessage>().Add(types.Row(message, clock));

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
