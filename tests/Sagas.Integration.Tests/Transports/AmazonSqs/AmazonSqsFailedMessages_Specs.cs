using Amazon.SQS.Model;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Sagas.Hosting;
using Sagas.Integration.Tests.FailedMessages;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Integration.Tests.Scheduling;
using Sagas.Messaging.FailedMessages;
using Sagas.Persistence;
using Sagas.Transports.AmazonSqs;
using Sagas.Workflows;

namespace Sagas.Integration.Tests.Transports.AmazonSqs;

/// <summary>
/// The RabbitMQ failed-message spec's story on SQS, as production hosts it (AddSagas, PostgreSQL): after its retries the
/// message is in <c>_error</c> (with the fault as transport headers) and in failed_messages once; redelivered from the
/// table it fails onto the same row while the cause persists, and is consumed once the cause is gone.
/// </summary>
public sealed class When_a_message_keeps_failing_on_amazon_sqs(PostgresDatabase database, AmazonSqsTestTransport sqs)
    : IClassFixture<PostgresDatabase>, IClassFixture<AmazonSqsTestTransport>
{
    private const string ErrorQueue = FailedMessageSpecsConsumerDefinition.Queue + SqsNames.ErrorSuffix;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [AmazonSqsFact(postgres: true)]
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
        Assert.Contains(MessageUrn.ForTypeString<FailedMessageSpecsOrder>(), failed.MessageTypes, StringComparison.Ordinal);
        var faultHeaders = await ErrorQueueFaultHeadersAsync();
        Assert.Contains("MT-Fault-ExceptionType", faultHeaders, StringComparison.Ordinal);
        Assert.DoesNotContain(AmazonSqsTestTransport.SecretKey, faultHeaders, StringComparison.Ordinal);
        Assert.DoesNotContain(AmazonSqsTestTransport.SecretKey, failed.Headers + System.Text.Encoding.UTF8.GetString(failed.Body), StringComparison.Ordinal);

        Assert.Equal(RedeliveryOutcome.Redelivered, (await RedeliverAsync(host, failed.Id)).Outcome);
        await WaitForErrorQueueAsync(2);
        var reopened = await WaitForRowAsync(host, messageId, row => row is { RedeliveredAt: null, RedeliveryCount: 1 });
        Assert.Equal(failed.Id, reopened!.Id);
        Assert.Equal(2 * (FailedMessageSpecsConsumerDefinition.Retries + 1), state.Attempts);
        Assert.Empty(state.Consumed);

        state.Failing = false;
        Assert.Equal(RedeliveryOutcome.Redelivered, (await RedeliverAsync(host, failed.Id)).Outcome);

        await Wait.UntilAsync(() => Task.FromResult(!state.Consumed.IsEmpty), Deadline, "the redelivered message was not consumed");
        Assert.Equal([orderId], state.Consumed.ToArray());
        Assert.Equal(1, await QueryAsync(host, db => db.Set<FailedMessage>().CountAsync()));
        Assert.Equal(2, await sqs.CountAsync(ErrorQueue));
    }

    private async Task<IHost> StartAsync(FailedMessageSpecsSwitch state)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(sqs.HostSettings);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = "PostgreSql",
            ["Database:ConnectionString"] = database.ConnectionString,
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

    /// <summary>The copied-header attribute of a message in the error queue, read without taking it out.</summary>
    private async Task<string> ErrorQueueFaultHeadersAsync()
    {
        using var client = sqs.CreateClient();
        var url = (await client.GetQueueUrlAsync(SqsNames.Queue(sqs.Prefix, ErrorQueue))).QueueUrl;
        var received = await client.ReceiveMessageAsync(new ReceiveMessageRequest(url) { MessageAttributeNames = ["All"], WaitTimeSeconds = 1 });
        var message = Assert.Single(received.Messages ?? []);
        await client.ChangeMessageVisibilityAsync(new ChangeMessageVisibilityRequest(url, message.ReceiptHandle, 0));
        return message.MessageAttributes[SqsMessage.HeadersAttribute].StringValue;
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

    private static async Task<FailedMessage?> WaitForRowAsync(IHost host, Guid messageId, Func<FailedMessage?, bool> condition)
    {
        FailedMessage? row = null;
        await Wait.UntilAsync(
            async () =>
            {
                row = await QueryAsync(host, db => db.Set<FailedMessage>().AsNoTracking().SingleOrDefaultAsync(m => m.MessageId == messageId));
                return condition(row);
            },
            Deadline,
            "the failed_messages row did not reach the expected state");
        return row;
    }

    private async Task WaitForErrorQueueAsync(int expected)
    {
        await Wait.UntilAsync(async () => await sqs.CountAsync(ErrorQueue) >= expected, Deadline, $"the error queue did not hold {expected}");
        Assert.Equal(expected, await sqs.CountAsync(ErrorQueue));
    }
}
