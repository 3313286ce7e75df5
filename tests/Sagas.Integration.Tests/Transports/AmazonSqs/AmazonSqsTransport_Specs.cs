using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Contracts.Diagnostics;
using Sagas.Hosting;
using Sagas.Hosting.Messaging;
using Sagas.Integration.Tests.Scheduling;
using Sagas.Modules;
using Sagas.Workflows;

namespace Sagas.Integration.Tests.Transports.AmazonSqs;

public sealed record SqsSpecEvent(Guid Id);

/// <summary>Everything the spec consumers saw, by consumer.</summary>
public sealed class SqsSpecDeliveries
{
    public ConcurrentQueue<(string Consumer, Guid Id)> Received { get; } = new();

    public int Count(string consumer, Guid id) => Received.Count(r => r.Consumer == consumer && r.Id == id);
}

public sealed class FirstSqsSpecConsumer(SqsSpecDeliveries deliveries) : IConsumer<SqsSpecEvent>
{
    public Task Consume(ConsumeContext<SqsSpecEvent> context)
    {
        deliveries.Received.Enqueue((nameof(FirstSqsSpecConsumer), context.Message.Id));
        return Task.CompletedTask;
    }
}

public sealed class SecondSqsSpecConsumer(SqsSpecDeliveries deliveries) : IConsumer<SqsSpecEvent>
{
    public Task Consume(ConsumeContext<SqsSpecEvent> context)
    {
        deliveries.Received.Enqueue((nameof(SecondSqsSpecConsumer), context.Message.Id));
        return Task.CompletedTask;
    }
}

public sealed class When_a_worker_is_checked_over_amazon_sqs(AmazonSqsTestTransport sqs) : IClassFixture<AmazonSqsTestTransport>
{
    private static readonly WorkerRoles AllRoles = WorkerRoles.Everything(SagasHostingExtensions.KnownRoles(SagasWorkflows.Catalog));

    [AmazonSqsFact]
    public async Task Should_round_trip_a_request_through_the_queues_and_the_response_queue()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(sqs.HostSettings).Build();
        var services = new ServiceCollection().AddLogging().AddSingleton(TimeProvider.System).AddSingleton(AllRoles);
        services.AddSagasMessaging(configuration, AllRoles, runsScheduler: true);

        await using var provider = services.BuildServiceProvider(validateScopes: true);
        var bus = provider.GetRequiredService<IBusControl>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await bus.StartAsync(timeout.Token);
        try
        {
            Assert.StartsWith("amazonsqs://127.0.0.1:", bus.Address.ToString(), StringComparison.Ordinal);
            await using var scope = provider.CreateAsyncScope();
            var client = scope.ServiceProvider.GetRequiredService<IRequestClient<CheckWorker>>();
            var id = NewId.NextGuid();
            var response = await client.GetResponse<WorkerChecked>(new CheckWorker(id), timeout.Token);
            Assert.Equal(id, response.Message.CorrelationId);
        }
        finally
        {
            await bus.StopAsync(CancellationToken.None);
        }
    }
}

public sealed class When_an_event_is_published_to_two_endpoints(AmazonSqsTestTransport sqs) : IClassFixture<AmazonSqsTestTransport>
{
    [AmazonSqsFact]
    public async Task Should_deliver_it_to_both_through_their_topic_subscriptions()
    {
        var deliveries = new SqsSpecDeliveries();
        await using var bus = await AmazonSqsBus.StartAsync(sqs.Options(), x =>
        {
            x.AddConsumer<FirstSqsSpecConsumer>();
            x.AddConsumer<SecondSqsSpecConsumer>();
        }, services => services.AddSingleton(deliveries));
        var id = NewId.NextGuid();

        await bus.Bus.Publish(new SqsSpecEvent(id));

        await Wait.UntilAsync(
            () => Task.FromResult(deliveries.Count(nameof(FirstSqsSpecConsumer), id) == 1 && deliveries.Count(nameof(SecondSqsSpecConsumer), id) == 1),
            TimeSpan.FromSeconds(30),
            "both endpoints did not get the event");
    }
}
