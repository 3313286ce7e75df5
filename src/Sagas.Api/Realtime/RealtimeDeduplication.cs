using MassTransit;

namespace Sagas.Api.Realtime;

/// <summary>
/// The message ids this API instance has forwarded to its sockets, per relaying consumer, the most recent
/// <see cref="RealtimeOptions.DeduplicationWindow"/> of them. An event reaches an instance again with the same id when
/// the outbox publishes a row again after a crash between publish and delete, or when the broker redelivers; each
/// instance has its own queue, so each keeps its own memory, and a socket on any instance sees an event once.
/// </summary>
public sealed class RealtimeDeduplicator(RealtimeOptions options)
{
    private readonly Lock _gate = new();
    private readonly HashSet<(Type Consumer, Guid MessageId)> _forwarded = [];
    private readonly Queue<(Type Consumer, Guid MessageId)> _order = new();

    public bool WasForwarded(Type consumer, Guid messageId)
    {
        lock (_gate)
            return _forwarded.Contains((consumer, messageId));
    }

    public void Forwarded(Type consumer, Guid messageId)
    {
        lock (_gate)
        {
            if (!_forwarded.Add((consumer, messageId)))
                return;
            _order.Enqueue((consumer, messageId));
            while (_order.Count > options.DeduplicationWindow)
                _forwarded.Remove(_order.Dequeue());
        }
    }
}

/// <summary>
/// Skips a message its consumer has already relayed (same message id). The message counts as consumed, so nothing
/// goes to a <c>_skipped</c> queue. An id is remembered only once its consumer succeeded: a failed attempt is retried.
/// The realtime endpoint takes one message at a time, so two copies are never checked at once.
/// </summary>
public sealed class RealtimeDeduplicationFilter<TConsumer>(RealtimeDeduplicator forwarded) : IFilter<ConsumerConsumeContext<TConsumer>>
    where TConsumer : class
{
    public async Task Send(ConsumerConsumeContext<TConsumer> context, IPipe<ConsumerConsumeContext<TConsumer>> next)
    {
        if (context.MessageId is not { } id)
        {
            await next.Send(context);
            return;
        }

        if (forwarded.WasForwarded(typeof(TConsumer), id))
            return;
        await next.Send(context);
        forwarded.Forwarded(typeof(TConsumer), id);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("realtimeDeduplication");
}

/// <summary>Puts <see cref="RealtimeDeduplicationFilter{TConsumer}"/> in front of a workflow's realtime consumer.</summary>
public sealed class RealtimeConsumerDefinition<TConsumer> : ConsumerDefinition<TConsumer>
    where TConsumer : class, IConsumer
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<TConsumer> consumerConfigurator, IRegistrationContext context) =>
        consumerConfigurator.UseFilter(new RealtimeDeduplicationFilter<TConsumer>(context.GetRequiredService<RealtimeDeduplicator>()));
}
