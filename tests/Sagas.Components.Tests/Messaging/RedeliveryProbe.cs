using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using MassTransit;
using Npgsql;
using Sagas.Messaging;

namespace Sagas.Components.Tests.Messaging;

// The probe the redelivery specs of both test assemblies send: the embedded default here, the brokers in Integration.

/// <param name="FailedDeliveries">Deliveries (each with its retries in place) that fail before one succeeds.</param>
/// <param name="Transient">A dropped database connection (what waiting cures), or a bug (what it does not).</param>
public sealed record RedeliveryProbeWork(Guid Id, int FailedDeliveries, bool Transient);

public sealed class RedeliveryProbeLog
{
    public ConcurrentQueue<(Guid Id, int Redelivery, long Ticks, bool ThroughScheduler, Guid? MessageId)> Attempts { get; } = new();

    public ConcurrentQueue<Guid> Consumed { get; } = new();

    public ConcurrentQueue<Guid> Faults { get; } = new();

    /// <summary>The <c>FaultedMessageId</c> of each fault, by the work it was about.</summary>
    public ConcurrentDictionary<Guid, Guid?> FaultedMessageIds { get; } = new();

    public (int Redelivery, long Ticks, bool ThroughScheduler)[] Of(Guid id) =>
        [.. Attempts.Where(a => a.Id == id).Select(a => (a.Redelivery, a.Ticks, a.ThroughScheduler))];

    /// <summary>The message id each attempt at <paramref name="id"/> carried, in order.</summary>
    public Guid?[] MessageIdsOf(Guid id) => [.. Attempts.Where(a => a.Id == id).Select(a => a.MessageId)];

    /// <summary>
    /// Every delivery of <paramref name="id"/> carried the first one's message id, and so does its fault if it faulted:
    /// what claims and fault consumers key on must not change when the message comes back through a redelivery.
    /// </summary>
    public void AssertOneMessage(Guid id)
    {
        var ids = MessageIdsOf(id);
        Assert.NotNull(ids[0]);
        Assert.All(ids, messageId => Assert.Equal(ids[0], messageId));
        if (FaultedMessageIds.TryGetValue(id, out var faulted))
            Assert.Equal(ids[0], faulted);
    }
}

public sealed class RedeliveryProbeConsumer(RedeliveryProbeLog log) : IConsumer<RedeliveryProbeWork>
{
    public Task Consume(ConsumeContext<RedeliveryProbeWork> context)
    {
        var redelivery = context.GetRedeliveryCount();
        log.Attempts.Enqueue((context.Message.Id, redelivery, Stopwatch.GetTimestamp(), context.Headers.TryGetHeader("MT-Quartz-Scheduled", out _), context.MessageId));
        if (redelivery < context.Message.FailedDeliveries)
        {
            throw context.Message.Transient
                ? new NpgsqlException("the database went away (spec)", new SocketException((int)SocketError.ConnectionRefused))
                : new InvalidOperationException("a bug (spec)");
        }

        log.Consumed.Enqueue(context.Message.Id);
        return Task.CompletedTask;
    }
}

public sealed class RedeliveryProbeConsumerDefinition : ConsumerDefinition<RedeliveryProbeConsumer>
{
    public const string Queue = "redelivery-probe";

    /// <summary>Retries in place per delivery.</summary>
    public const int Retries = 1;

    public RedeliveryProbeConsumerDefinition() => EndpointName = Queue;

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<RedeliveryProbeConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.UseDatabaseRetry(context, retry =>
        {
            retry.RetryLimit = Retries;
            retry.MinInterval = TimeSpan.FromMilliseconds(10);
            retry.MaxInterval = TimeSpan.FromMilliseconds(50);
            retry.IntervalDelta = TimeSpan.FromMilliseconds(10);
        });
}

public sealed class RedeliveryProbeFaultConsumer(RedeliveryProbeLog log) : IConsumer<Fault<RedeliveryProbeWork>>
{
    public Task Consume(ConsumeContext<Fault<RedeliveryProbeWork>> context)
    {
        log.FaultedMessageIds[context.Message.Message.Id] = context.Message.FaultedMessageId;
        log.Faults.Enqueue(context.Message.Message.Id);
        return Task.CompletedTask;
    }
}
