using System.Collections.Concurrent;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Sagas.Hosting;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Integration.Tests.Transports;
using Sagas.Integration.Tests.Transports.AmazonSqs;
using Sagas.Messaging.FailedMessages;
using Sagas.Persistence;
using Sagas.Workflows;

namespace Sagas.Integration.Tests.FailedMessages;

public sealed record FailedMessageSpecsOrder(Guid OrderId);

/// <summary>Throws while <see cref="Failing"/> is set; counts every attempt and every success.</summary>
public sealed class FailedMessageSpecsSwitch
{
    private int _attempts;
    private volatile bool _failing = true;

    public bool Failing
    {
        get => _failing;
        set => _failing = value;
    }

    public int Attempts => Volatile.Read(ref _attempts);

    public ConcurrentQueue<Guid> Consumed { get; } = new();

    public void Attempted() => Interlocked.Increment(ref _attempts);
}

public sealed class FailedMessageSpecsConsumer(FailedMessageSpecsSwitch state) : IConsumer<FailedMessageSpecsOrder>
{
    public Task Consume(ConsumeContext<FailedMessageSpecsOrder> context)
    {
        state.Attempted();
        if (state.Failing)
            throw new InvalidOperationException($"order {context.Message.OrderId} cannot be handled yet");
        state.Consumed.Enqueue(context.Message.OrderId);
        return Task.CompletedTask;
    }
}

public sealed class FailedMessageSpecsConsumerDefinition : ConsumerDefinition<FailedMessageSpecsConsumer>
{
    public const string Queue = "failed-message-specs";
    public const int Retries = 2;

    public FailedMessageSpecsConsumerDefinition() => EndpointName = Queue;

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<FailedMessageSpecsConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.UseMessageRetry(retry => retry.Immediate(Retries));
}

public sealed class When_a_message_keeps_failing_on_rabbitmq(TransportServers<RabbitMqTestTransport> servers)
    : FailedMessageSpecs<RabbitMqTestTransport>(servers);

public sealed class When_a_message_keeps_failing_on_amazon_sqs(TransportServers<AmazonSqsTestTransport> servers)
    : FailedMessageSpecs<AmazonSqsTestTransport>(servers);

/// <summary>
/// A message that keeps failing, as production hosts it (AddSagas, a broker, PostgreSQL with its migrations): after
/// its retries it is in the endpoint's _error queue (with the fault as transport headers, and no credential) and in
/// failed_messages once; redelivered while the cause persists it fails again onto the same row; redelivered after the
/// cause is gone it is consumed. One body for every transport (a class per transport above).
/// </summary>
public abstract class FailedMessageSpecs<TTransport> : IClassFixture<TransportServers<TTransport>>
    where TTransport : class, ITestTransport, new()
{
    private const string ErrorQueue = FailedMessageSpecsConsumerDefinition.Queue + "_error";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private readonly PostgresDatabase _database;
    private readonly TTransport _broker;

    protected FailedMessageSpecs(TransportServers<TTransport> servers)
    {
        _database = servers.Database;
        _broker = servers.Transport;
    }

    [TransportFact]
    public async Task Should_be_in_the_error_queue_and_the_table_once_and_be_consumed_when_redelivered_after_the_cause_is_gone()
    {
        var state = new FailedMessageSpecsSwitch();
        using var host = await StartAsync(state);
        var orderId = Guid.NewGuid();
        var messageId = NewId.NextGuid();
        var endpoint = await host.Services.GetRequiredService<IBus>().GetSendEndpoint(new Uri($"queue:{FailedMessageSpecsConsumerDefinition.Queue}"));

        await endpoint.Send(new FailedMessageSpecsOrder(orderId), context => context.MessageId = messageId);

        var failed = await WaitForRowAsync(host, messageId, row => row is not null);
        await WaitForErrorQueueAsync(1);
        Assert.Equal(FailedMessageSpecsConsumerDefinition.Retries + 1, state.Attempts);
        Assert.Equal(FailedMessageSpecsConsumerDefinition.Queue, failed!.Queue);
        Assert.Equal(typeof(InvalidOperationException).FullName, failed.ExceptionType);
        Assert.Contains(orderId.ToString(), failed.ExceptionMessage, StringComparison.Ordinal);
        Assert.Contains(MessageUrn.ForTypeString<FailedMessageSpecsOrder>(), failed.MessageTypes, StringComparison.Ordinal);
        Assert.Null(failed.RedeliveredAt);
        Assert.Equal(1, await CountRowsAsync(host));
        var faultHeaders = await _broker.PeekHeadersAsync(ErrorQueue);
        Assert.Equal(typeof(InvalidOperationException).FullName, faultHeaders.GetValueOrDefault("MT-Fault-ExceptionType"));
        Assert.DoesNotContain(faultHeaders, header => header.Value.Contains(_broker.Secret, StringComparison.Ordinal));
        Assert.DoesNotContain(_broker.Secret, failed.Headers + System.Text.Encoding.UTF8.GetString(failed.Body), StringComparison.Ordinal);

        // Still failing: the redelivered copy exhausts its retries again, lands in the error queue beside the first,
        // and reopens the same row rather than adding one.
        Assert.Equal(RedeliveryOutcome.Redelivered, (await RedeliverAsync(host, failed.Id)).Outcome);
        await WaitForErrorQueueAsync(2);
        var reopened = await WaitForRowAsync(host, messageId, row => row is { RedeliveredAt: null, RedeliveryCount: 1 });
        Assert.Equal(failed.Id, reopened!.Id);
        Assert.Equal(2 * (FailedMessageSpecsConsumerDefinition.Retries + 1), state.Attempts);
        Assert.Equal(1, await CountRowsAsync(host));
        Assert.Empty(state.Consumed);

        state.Failing = false;
        Assert.Equal(RedeliveryOutcome.Redelivered, (await RedeliverAsync(host, failed.Id)).Outcome);

        await WaitUntilAsync(() => Task.FromResult(!state.Consumed.IsEmpty));
        Assert.Equal([orderId], state.Consumed.ToArray());
        var done = await WaitForRowAsync(host, messageId, row => row is not null);
        Assert.NotNull(done!.RedeliveredAt);
        Assert.Equal(2, done.RedeliveryCount);
        Assert.Equal(RedeliveryOutcome.AlreadyRedelivered, (await RedeliverAsync(host, failed.Id)).Outcome);
        Assert.Equal(1, await CountRowsAsync(host));
        Assert.Equal(2, await _broker.CountAsync(ErrorQueue));
    }

    private async Task<IHost> StartAsync(FailedMessageSpecsSwitch state)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(_broker.HostSettings);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = "PostgreSql",
            ["Database:ConnectionString"] = _database.ConnectionString,
            ["Worker:Roles"] = "none",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.Services.AddSingleton(state);
        builder.AddSagas("failed-message-specs", SagasWorkflows.Catalog, bus => bus.AddConsumer<FailedMessageSpecsConsumer, FailedMessageSpecsConsumerDefinition>());
        builder.Services.Configure<MassTransitHostOptions>(options => options.WaitUntilStarted = true);
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private static async Task<RedeliveryResult> RedeliverAsync(IHost host, Guid id)
    {
        await using var scope = host.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<FailedMessageRedeliverer>().RedeliverAsync(id, CancellationToken.None);
    }

    private static async Task<T> QueryAsync<T>(IHost host, Func<SagasDbContext, Task<T>> query)
    {
        await using var scope = host.Services.CreateAsyncScope();
        return await query(scope.ServiceProvider.GetRequiredService<SagasDbContext>());
    }

    private static Task<int> CountRowsAsync(IHost host) => QueryAsync(host, db => db.Set<FailedMessage>().CountAsync());

    private static async Task<FailedMessage?> WaitForRowAsync(IHost host, Guid messageId, Func<FailedMessage?, bool> condition)
    {
        FailedMessage? row = null;
        await WaitUntilAsync(async () =>
        {
            row = await QueryAsync(host, db => db.Set<FailedMessage>().AsNoTracking().SingleOrDefaultAsync(m => m.MessageId == messageId));
            return condition(row);
        });
        return row;
    }

    private async Task WaitForErrorQueueAsync(int expected)
    {
        await WaitUntilAsync(async () => await _broker.CountAsync(ErrorQueue) >= expected);
        Assert.Equal(expected, await _broker.CountAsync(ErrorQueue));
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        using var deadline = new CancellationTokenSource(Deadline);
        while (!await condition())
            await Task.Delay(TimeSpan.FromMilliseconds(100), deadline.Token);
    }
}
