using System.Text;
using MassTransit;
using MassTransit.Scheduling;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Integration.Tests.Transports;

namespace Sagas.Integration.Tests.Scheduling;

public sealed class When_a_schedule_request_cannot_be_carried_out(PostgresDatabase database, RabbitMqTestTransport broker)
    : IClassFixture<PostgresDatabase>, IClassFixture<RabbitMqTestTransport>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(8);

    private readonly ProbeDeliveries _deliveries = new();

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_move_it_to_the_error_queue_with_the_reason_and_keep_firing_the_rest()
    {
        await using var scheduler = await SchedulingNode.StartAsync("scheduler", broker, database.ConnectionString);
        await using var client = await SchedulingNode.StartAsync("none", broker, database.ConnectionString, _deliveries);
        var endpoint = await client.InScopeAsync(provider => provider.GetRequiredService<ISendEndpointProvider>().GetSendEndpoint(new Uri("queue:scheduler")));
        var unreadable = NewId.NextGuid();
        var nowhere = NewId.NextGuid();
        var good = NewId.NextGuid();

        await endpoint.Send<ScheduleMessage>(new
        {
            CorrelationId = unreadable,
            ScheduledTime = DateTime.UtcNow.AddSeconds(1),
            PayloadType = new[] { MessageUrn.ForTypeString<SchedulingProbe>() },
            Destination = ProbeConsumer.Address,
            Payload = "not a message",
        });
        await endpoint.Send<ScheduleMessage>(new
        {
            CorrelationId = nowhere,
            ScheduledTime = DateTime.UtcNow.AddSeconds(1),
            PayloadType = new[] { MessageUrn.ForTypeString<SchedulingProbe>() },
            Destination = new Uri("bogus://nowhere/at-all"),
            Payload = new SchedulingProbe(NewId.NextGuid(), "lost"),
        });
        await client.InScopeAsync(provider => provider.GetRequiredService<IMessageScheduler>()
            .ScheduleSend(ProbeConsumer.Address, DateTime.UtcNow.AddSeconds(1.5), new SchedulingProbe(good, "good")));

        await _deliveries.WaitForAsync(good, Deadline);
        var faults = await ReadErrorQueueAsync(expected: 2);

        var all = string.Join(" | ", faults);
        Assert.True(faults.Any(reason => reason.Contains(unreadable.ToString("D"), StringComparison.Ordinal) && reason.Contains("cannot be read", StringComparison.Ordinal)), all);
        Assert.True(faults.Any(reason => reason.Contains(nowhere.ToString("D"), StringComparison.Ordinal) && reason.Contains("bogus://nowhere/at-all", StringComparison.Ordinal)), all);
    }

    // The fault reason MassTransit writes on a message it moves to <queue>_error.
    private async Task<List<string>> ReadErrorQueueAsync(int expected)
    {
        var factory = new ConnectionFactory { Uri = broker.Address };
        await using var connection = await factory.CreateConnectionAsync();
        var reasons = new List<string>();
        var deadline = DateTime.UtcNow + Deadline;
        while (reasons.Count < expected && DateTime.UtcNow < deadline)
        {
            await using var channel = await connection.CreateChannelAsync();
            try
            {
                while (await channel.BasicGetAsync("scheduler_error", autoAck: true) is { } message)
                {
                    var headers = message.BasicProperties.Headers ?? new Dictionary<string, object?>();
                    reasons.Add(headers.TryGetValue("MT-Fault-Message", out var value) && value is byte[] bytes ? Encoding.UTF8.GetString(bytes) : "(no reason)");
                }
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
            {
                // The error queue appears with the first fault.
            }

            if (reasons.Count < expected)
                await Task.Delay(50);
        }

        Assert.True(reasons.Count >= expected, $"expected {expected} faulted requests in scheduler_error, found: {string.Join(" | ", reasons)}");
        return reasons;
    }
}
