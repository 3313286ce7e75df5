using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Contracts.Diagnostics;
using Sagas.Hosting;
using Sagas.Hosting.Messaging;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Modules;
using Sagas.Workflows;

namespace Sagas.Integration.Tests.Messaging;

public sealed class When_a_worker_is_checked_over_rabbitmq(RabbitMqVirtualHost broker) : IClassFixture<RabbitMqVirtualHost>
{
    [ServerFact(postgres: false, rabbitMq: true)]
    public async Task Should_round_trip_through_the_broker_with_the_uri_form()
    {
        var answer = await CheckWorkerAsync(new Dictionary<string, string?>
        {
            ["Messaging:Transport"] = "RabbitMq",
            ["Messaging:RabbitMq:Uri"] = broker.Address.ToString(),
        });

        Assert.Equal("llm-jobs,scan-sessions,scan-files,prompt-analyses,scheduler,notifications", answer.Roles);
    }

    [ServerFact(postgres: false, rabbitMq: true)]
    public async Task Should_round_trip_through_the_broker_with_separate_settings()
    {
        var userInfo = broker.Address.UserInfo.Split(':');
        var answer = await CheckWorkerAsync(new Dictionary<string, string?>
        {
            ["Messaging:Transport"] = "rabbitmq",
            ["Messaging:RabbitMq:Host"] = broker.Address.Host,
            ["Messaging:RabbitMq:Port"] = broker.Address.Port.ToString(),
            ["Messaging:RabbitMq:VirtualHost"] = Uri.UnescapeDataString(broker.Address.AbsolutePath.TrimStart('/')) is { Length: > 0 } vhost ? vhost : "/",
            ["Messaging:RabbitMq:Username"] = Uri.UnescapeDataString(userInfo[0]),
            ["Messaging:RabbitMq:Password"] = Uri.UnescapeDataString(userInfo[1]),
        });

        Assert.Equal(Environment.MachineName, answer.MachineName);
    }

    private static readonly WorkerRoles AllRoles = WorkerRoles.Everything(SagasHostingExtensions.KnownRoles(SagasWorkflows.Catalog));

    private static async Task<WorkerChecked> CheckWorkerAsync(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton(TimeProvider.System)
            .AddSingleton(AllRoles);
        services.AddSagasMessaging(configuration, AllRoles, runsScheduler: true);

        await using var provider = services.BuildServiceProvider(validateScopes: true);
        var bus = provider.GetRequiredService<IBusControl>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await bus.StartAsync(timeout.Token);
        try
        {
            Assert.StartsWith("rabbitmq://", bus.Address.ToString(), StringComparison.Ordinal);
            await using var scope = provider.CreateAsyncScope();
            var client = scope.ServiceProvider.GetRequiredService<IRequestClient<CheckWorker>>();
            var id = NewId.NextGuid();
            var response = await client.GetResponse<WorkerChecked>(new CheckWorker(id), timeout.Token);
            Assert.Equal(id, response.Message.CorrelationId);
            return response.Message;
        }
        finally
        {
            await bus.StopAsync(CancellationToken.None);
        }
    }
}
